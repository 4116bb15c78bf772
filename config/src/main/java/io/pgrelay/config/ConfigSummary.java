package io.pgrelay.config;

import java.time.Duration;

/** A human summary of a configuration for {@code pgrelay check}. Never shows passwords. */
public final class ConfigSummary {

    private ConfigSummary() {
    }

    /** Several lines, each ending in a newline. */
    public static String describe(PgRelayConfig config) {
        General g = config.general();
        StringBuilder b = new StringBuilder();
        b.append("configuration ").append(config.source()).append('\n');
        b.append("listen ").append(new ServerConfig(g.host(), g.port(), Role.PRIMARY).address())
                .append(", max_client_conn ").append(g.maxClientConn())
                .append(", default auth ").append(g.authType().configName()).append('\n');
        b.append("timeouts: connect ").append(millis(g.connectTimeout()))
                .append(", idle ").append(millis(g.idleTimeout()))
                .append(", server_lifetime ").append(millis(g.serverLifetime()))
                .append(", query_wait ").append(millis(g.queryWaitTimeout())).append('\n');
        b.append("admin console: ")
                .append(g.adminUsername() == null ? "disabled" : "user \"" + g.adminUsername() + "\"").append('\n');
        SecurityConfig sec = config.security();
        if (sec.clientTls()) {
            b.append("client TLS: ").append(sec.tlsMode().configName()).append(", certificate ")
                    .append(sec.tlsCertificate())
                    .append(sec.tlsCaFile() == null ? "" : ", client certificates checked against " + sec.tlsCaFile())
                    .append('\n');
        }
        if (sec.serverTlsMode() != SecurityConfig.ServerTlsMode.DISABLE) {
            b.append("server TLS: ").append(sec.serverTlsMode().configName())
                    .append(sec.serverTlsCaFile() == null ? "" : ", CA " + sec.serverTlsCaFile()).append('\n');
        }
        if (sec.gss()) {
            b.append("GSSAPI: principal ").append(sec.gssPrincipal()).append(", keytab ").append(sec.gssKeytab())
                    .append(sec.gssIncludeRealm() ? ", realm kept" : ", realm stripped").append('\n');
        }
        for (PoolConfig pool : config.pools().values()) {
            b.append("pool \"").append(pool.name()).append("\": ").append(pool.poolMode().configName())
                    .append(" mode\n");
            for (UserConfig u : pool.users().values()) {
                b.append("  user \"").append(u.username()).append("\": pool_size ").append(u.poolSize())
                        .append(", min_pool_size ").append(u.minPoolSize())
                        .append(", auth ").append(u.authType().configName())
                        .append(", ").append(u.poolMode().configName()).append(" mode");
                if (!u.serverUsername().equals(u.username())) {
                    b.append(", server user \"").append(u.serverUsername()).append('"');
                }
                b.append('\n');
            }
            for (ShardConfig shard : pool.shards()) {
                b.append("  database \"").append(shard.database()).append("\" on:\n");
                for (ServerConfig s : shard.servers()) {
                    b.append("    ").append(s.address()).append(' ').append(s.role().configName()).append('\n');
                }
            }
        }
        if (!config.warnings().isEmpty()) {
            b.append("warnings:\n");
            for (String w : config.warnings()) {
                b.append("  ").append(w).append('\n');
            }
        }
        return b.toString();
    }

    private static String millis(Duration d) {
        long ms = d.toMillis();
        if (ms == 0) {
            return "none";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "min";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
