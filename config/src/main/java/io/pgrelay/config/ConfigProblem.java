package io.pgrelay.config;

import java.util.Objects;

/**
 * One mistake in a configuration file.
 *
 * @param line    1-based line in the file, 0 when no line fits
 * @param keyPath dotted key such as {@code pools.app.users.0.pool_size}; empty when the problem has none
 *                (a TOML syntax error)
 */
public record ConfigProblem(String source, int line, String keyPath, String message) {

    public ConfigProblem {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(message, "message");
        keyPath = keyPath == null ? "" : keyPath;
        if (line < 0) {
            throw new IllegalArgumentException("line must not be negative: " + line);
        }
    }

    /** {@code pgrelay.toml:12: pools.app.users.0.pool_size: must be at least 1}; parts that are unknown are left out. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(source);
        if (line > 0) {
            b.append(':').append(line);
        }
        b.append(": ");
        if (!keyPath.isEmpty()) {
            b.append(keyPath).append(": ");
        }
        return b.append(message).toString();
    }
}
