package io.pgrelay.protocol.sql;

import java.util.List;
import java.util.regex.Pattern;

/**
 * @param writeFunctions    functions (full match on the name as written, or on its last part) that write: PRIMARY
 * @param readOnlyFunctions functions (full match on the name as written) known read-only; they override the catalog
 *                          but not the built-in writers (nextval, advisory locks, ...) or writeFunctions
 * @param cacheSize         classifications kept, by statement text; 0 disables the cache
 */
public record ClassifierSettings(List<Pattern> writeFunctions, List<Pattern> readOnlyFunctions, int cacheSize) {
    public ClassifierSettings {
        writeFunctions = List.copyOf(writeFunctions);
        readOnlyFunctions = List.copyOf(readOnlyFunctions);
        if (cacheSize < 0) {
            throw new IllegalArgumentException("cacheSize " + cacheSize);
        }
    }

    public static ClassifierSettings defaults() {
        return new ClassifierSettings(List.of(), List.of(), 10_000);
    }
}
