package io.pgrelay.config;

import java.util.Map;
import java.util.Objects;

/**
 * Limits on what clients may hold (keys of {@code [general]}, with per-pool and per-user overrides; PgBouncer's names
 * where PgBouncer has the setting). Zero means no limit.
 *
 * @param maxUserClientConnections    logged-in clients one user may have, over all pools
 *                                    ({@code max_user_client_connections})
 * @param maxDbClientConnections      logged-in clients one database (pool) may have, over all users
 *                                    ({@code max_db_client_connections})
 * @param maxClientPreparedStatements named prepared statements one client may hold in transaction mode, where
 *                                    pgrelay keeps them ({@code max_client_prepared_statements})
 * @param dbOverrides                 {@code pools.<db>.max_db_client_connections}, by database
 * @param userOverrides               {@code pools.<db>.users.<n>.max_user_client_connections}, by
 *                                    {@link #userKey(String, String)}
 */
public record LimitsConfig(int maxUserClientConnections, int maxDbClientConnections, int maxClientPreparedStatements,
                           Map<String, Integer> dbOverrides, Map<String, Integer> userOverrides) {
    /** Above Rails' statement_limit (1000) and pgJDBC's cache (256): no common driver reaches it. */
    public static final int DEFAULT_MAX_CLIENT_PREPARED_STATEMENTS = 10_000;
    public static final LimitsConfig DEFAULTS = new LimitsConfig(0, 0, DEFAULT_MAX_CLIENT_PREPARED_STATEMENTS,
            Map.of(), Map.of());

    public LimitsConfig {
        if (maxUserClientConnections < 0 || maxDbClientConnections < 0 || maxClientPreparedStatements < 0) {
            throw new IllegalArgumentException("limits must not be negative");
        }
        dbOverrides = Map.copyOf(Objects.requireNonNull(dbOverrides, "dbOverrides"));
        userOverrides = Map.copyOf(Objects.requireNonNull(userOverrides, "userOverrides"));
    }

    /** The client limit of database {@code db}: its pool's override, else the general one; 0: none. */
    public int maxDbClientConnections(String db) {
        return dbOverrides.getOrDefault(db, maxDbClientConnections);
    }

    /**
     * The client limit of {@code user} when logging in to {@code db}: the user's entry in that pool, else the general
     * one; 0: none. The count it is compared with is the user's clients over all pools, as in PgBouncer.
     */
    public int maxUserClientConnections(String db, String user) {
        return userOverrides.getOrDefault(userKey(db, user), maxUserClientConnections);
    }

    public static String userKey(String db, String user) {
        return db + "\0" + user;
    }
}
