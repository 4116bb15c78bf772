package io.pgrelay.config;

import java.util.Objects;

/**
 * A user allowed to connect to one pool. All fields are effective values: per-user overrides already merged with
 * the pool's and the general section's settings.
 *
 * @param password       plaintext, {@code md5<32 hex>} or a {@code SCRAM-SHA-256$...} verifier; null only with
 *                       {@link AuthType#TRUST}
 * @param serverPassword plaintext password for PostgreSQL; null when none is known (trust without password)
 */
public record UserConfig(String username, String password, AuthType authType, int poolSize, int minPoolSize,
                         PoolMode poolMode, String serverUsername, String serverPassword) {

    public UserConfig {
        Objects.requireNonNull(username, "username");
        Objects.requireNonNull(authType, "authType");
        Objects.requireNonNull(poolMode, "poolMode");
        Objects.requireNonNull(serverUsername, "serverUsername");
    }

    /** Keeps secrets out of logs: records print every field by default. */
    @Override
    public String toString() {
        return "UserConfig[username=" + username + ", authType=" + authType + ", poolSize=" + poolSize
                + ", minPoolSize=" + minPoolSize + ", poolMode=" + poolMode + ", serverUsername=" + serverUsername
                + "]";
    }
}
