package io.pgrelay.config;

import java.util.Collection;
import java.util.Locale;
import java.util.Set;

/**
 * The keys each table accepts. pgrelay's own keys are read; keys that only pgcat knows are accepted and ignored
 * with a warning, so a pgcat user's file loads unchanged.
 */
final class ConfigKeys {

    static final Set<String> TOP = Set.of("general", "pools");
    /** Older pgcat releases had a top-level [plugins] table. */
    static final Set<String> TOP_PGCAT = Set.of("plugins");

    static final Set<String> GENERAL = Set.of(
            "host", "port", "admin_username", "admin_password", "connect_timeout", "idle_timeout",
            "server_lifetime", "query_wait_timeout", "max_client_conn", "auth_type",
            "client_login_timeout", "idle_client_in_transaction_timeout", "max_packet_size",
            "tls_mode", "tls_certificate", "tls_private_key", "tls_ca_file", "server_tls_mode", "server_tls_ca_file",
            "server_tls", "verify_server_certificate", "gss_keytab", "gss_principal", "gss_include_realm",
            "stats_users", "enable_prometheus_exporter", "prometheus_exporter_port", "shutdown_timeout",
            "healthcheck_interval", "healthcheck_timeout", "ban_after_failures", "ban_time", "failover_timeout",
            "auto_promote", "promote_after", "max_user_client_connections", "max_db_client_connections",
            "max_client_prepared_statements", "worker_threads");
    static final Set<String> GENERAL_PGCAT = Set.of(
            "healthcheck_delay", "tcp_keepalives_idle",
            "tcp_keepalives_count", "tcp_keepalives_interval",
            "auth_query", "auth_query_user", "auth_query_password", "autoreload",
            "log_client_connections", "log_client_disconnections", "default_role",
            // also found in pgcat 1.x releases
            "dns_cache_enabled", "dns_max_ttl", "server_round_robin", "prepared_statements",
            "prepared_statements_cache_size", "tcp_user_timeout", "validate_config");

    static final Set<String> POOL = Set.of("pool_mode", "users", "shards",
            "query_parser_enabled", "query_parser_read_write_splitting", "primary_reads_enabled",
            "load_balancing_mode", "default_role", "read_your_writes", "read_your_writes_window_ms",
            "max_replica_lag_bytes", "max_replica_lag_ms", "write_functions", "read_only_functions",
            "max_db_client_connections");
    static final Set<String> POOL_PGCAT = Set.of(
            "prepared_statements_cache_size", "idle_timeout",
            "server_lifetime", "sharding_function", "automatic_sharding_key", "sharding_key_regex",
            "shard_id_regex", "regex_search_limit", "cleanup_server_connections",
            "log_client_parameter_status_changes", "connect_timeout", "plugins",
            // also found in pgcat 1.x releases
            "auth_query", "auth_query_user", "auth_query_password", "query_parser_max_length");

    static final Set<String> USER = Set.of(
            "username", "password", "pool_size", "min_pool_size", "pool_mode", "auth_type", "server_username",
            "server_password", "client_identities", "max_user_client_connections");
    static final Set<String> USER_PGCAT = Set.of(
            "statement_timeout", "connect_timeout", "idle_timeout", "server_lifetime");

    static final Set<String> SHARD = Set.of("database", "servers");
    static final Set<String> SHARD_PGCAT = Set.of("mirrors");

    private ConfigKeys() {
    }

    /** The candidate nearest to key, or null when none is close enough to be a plausible typo. */
    static String suggest(String key, Collection<String> candidates) {
        String k = key.toLowerCase(Locale.ROOT);
        int limit = k.length() <= 3 ? 1 : k.length() <= 6 ? 2 : 3;
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates.stream().sorted().toList()) {
            int d = distance(k, candidate);
            if (d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        return bestDistance <= limit ? best : null;
    }

    /** Edit distance counting a swap of two neighbours as one edit ("prot" is one edit from "port"). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
