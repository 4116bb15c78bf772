package io.pgrelay.config;

import java.util.List;
import java.util.Objects;

/**
 * A user allowed to connect to one pool. All fields are effective values: per-user overrides already merged with
 * the pool's and the general section's settings.
 *
 * @param password       plaintext, {@code md5<32 hex>} or a {@code SCRAM-SHA-256$...} verifier; null only with
 *                       {@link AuthType#TRUST}
 * @param serverPassword plaintext password for PostgreSQL; null when none is known (trust without password)
 * @param clientIdentities certificate CNs / Kerberos principals that may log in as this user besides the user name
 *                       itself (auth types cert and gss); empty by default
 */
public record UserConfig(String username, String password, AuthType authType, int poolSize, int minPoolSize,
                         PoolMode poolMode, String serverUsername, String serverPassword,
                         List<String> clientIdentities) {

    public UserConfig {
        Objects.requireNonNull(username, "username");
        Objects.requireNonNull(authType, "authType");
        Objects.requireNonNull(poolMode, "poolMode");
        Objects.requireNonNull(serverUsername, "serverUsername");
        clientIdentities = clientIdentities == null ? List.of() : List.copyOf(clientIdentities);
    }

    public UserConfig(String username, String password, AuthType authType, int poolSize, int minPoolSize,
                      PoolMode poolMode, String serverUsername, String serverPassword) {
        this(username, password, authType, poolSize, minPoolSize, poolMode, serverUsername, serverPassword, List.of());
    }

    /** Whether a certificate CN or Kerberos principal (as configured to compare) may log in as this user. */
    public boolean acceptsIdentity(String identity) {
        return identity != null && (identity.equals(username) || clientIdentities.contains(identity));
    }

    /** Keeps secrets out of logs: records print every field by default. */
    @Override
    public String toString() {
        return "UserConfig[username=" + username + ", authType=" + authType + ", poolSize=" + poolSize
                + ", minPoolSize=" + minPoolSize + ", poolMode=" + poolMode + ", serverUsername=" + serverUsername
                + "]";
    }
}
