package io.pgrelay.proxy.admin;

import io.pgrelay.config.General;
import io.pgrelay.config.PgRelayConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The [general] settings as SHOW CONFIG lists them, and SET key = value for those that can change while running
 * (applied like a RELOAD of the same file with that one value changed).
 */
final class AdminSettings {
    record Setting(String key, String value, String defaultValue, boolean changeable) {
    }

    private record Spec(String key, Function<General, Object> get, Object defaultValue, boolean changeable) {
    }

    private static final General DEFAULTS = new General("0.0.0.0", 6432, null, null, Duration.ofMillis(5000),
            Duration.ofMillis(600_000), Duration.ofMillis(3_600_000), Duration.ofMillis(120_000), 1000,
            io.pgrelay.config.AuthType.SCRAM_SHA_256);

    private static final List<Spec> SPECS = List.of(
            new Spec("host", General::host, DEFAULTS.host(), false),
            new Spec("port", General::port, DEFAULTS.port(), false),
            new Spec("admin_username", General::adminUsername, null, false),
            new Spec("admin_password", g -> g.adminPassword() == null ? null : "********", null, false),
            new Spec("stats_users", g -> String.join(",", g.statsUsers()), "", false),
            new Spec("auth_type", g -> g.authType().configName(), DEFAULTS.authType().configName(), false),
            new Spec("connect_timeout", g -> g.connectTimeout().toMillis(), 5000L, true),
            new Spec("idle_timeout", g -> g.idleTimeout().toMillis(), 600_000L, true),
            new Spec("server_lifetime", g -> g.serverLifetime().toMillis(), 3_600_000L, true),
            new Spec("query_wait_timeout", g -> g.queryWaitTimeout().toMillis(), 120_000L, true),
            new Spec("max_client_conn", General::maxClientConn, 1000, true),
            new Spec("client_login_timeout", g -> g.clientLoginTimeout().toMillis(), 60_000L, true),
            new Spec("idle_client_in_transaction_timeout", g -> g.idleClientInTransactionTimeout().toMillis(), 0L,
                    true),
            new Spec("max_packet_size", General::maxPacketSize, General.DEFAULT_MAX_PACKET_SIZE, true),
            new Spec("shutdown_timeout", g -> g.shutdownTimeout().toMillis(),
                    General.DEFAULT_SHUTDOWN_TIMEOUT.toMillis(), true),
            new Spec("enable_prometheus_exporter", General::enablePrometheusExporter, false, false),
            new Spec("prometheus_exporter_port", General::prometheusExporterPort,
                    General.DEFAULT_PROMETHEUS_EXPORTER_PORT, false));

    private AdminSettings() {
    }

    static List<Setting> all(PgRelayConfig config) {
        List<Setting> out = new ArrayList<>();
        for (Spec s : SPECS) {
            Object v = s.get().apply(config.general());
            out.add(new Setting(s.key(), v == null ? "" : v.toString(),
                    s.defaultValue() == null ? "" : s.defaultValue().toString(), s.changeable()));
        }
        io.pgrelay.config.LimitsConfig limits = config.limits();
        out.add(new Setting("max_user_client_connections", Integer.toString(limits.maxUserClientConnections()), "0",
                false));
        out.add(new Setting("max_db_client_connections", Integer.toString(limits.maxDbClientConnections()), "0",
                false));
        out.add(new Setting("max_client_prepared_statements", Integer.toString(limits.maxClientPreparedStatements()),
                Integer.toString(io.pgrelay.config.LimitsConfig.DEFAULT_MAX_CLIENT_PREPARED_STATEMENTS), false));
        out.add(new Setting("worker_threads", Integer.toString(config.ioThreads()), "0", false));
        out.add(new Setting("tls_mode", config.security().tlsMode().configName(), "disable", false));
        out.add(new Setting("server_tls_mode", config.security().serverTlsMode().configName(), "disable", false));
        // Health checks: changed by RELOAD (not SET), listed so operators see what runs.
        io.pgrelay.config.HealthConfig h = config.health();
        io.pgrelay.config.HealthConfig d = io.pgrelay.config.HealthConfig.DEFAULTS;
        out.add(ms("healthcheck_interval", h.healthcheckInterval(), d.healthcheckInterval()));
        out.add(ms("healthcheck_timeout", h.healthcheckTimeout(), d.healthcheckTimeout()));
        out.add(new Setting("ban_after_failures", Integer.toString(h.banAfterFailures()),
                Integer.toString(d.banAfterFailures()), false));
        out.add(new Setting("ban_time", Long.toString(h.banTime().toSeconds()), Long.toString(d.banTime().toSeconds()),
                false));
        out.add(ms("failover_timeout", h.failoverTimeout(), d.failoverTimeout()));
        out.add(new Setting("auto_promote", Boolean.toString(h.autoPromote()), Boolean.toString(d.autoPromote()),
                false));
        out.add(ms("promote_after", h.promoteAfter(), d.promoteAfter()));
        return out;
    }

    private static Setting ms(String key, Duration value, Duration defaultValue) {
        return new Setting(key, Long.toString(value.toMillis()), Long.toString(defaultValue.toMillis()), false);
    }

    /** The config with one setting changed; IllegalArgumentException says why not. */
    static PgRelayConfig set(PgRelayConfig config, String key, String value) {
        String k = key.toLowerCase(Locale.ROOT);
        Spec spec = SPECS.stream().filter(s -> s.key().equals(k)).findFirst().orElseThrow(() ->
                new IllegalArgumentException("unknown setting \"" + key + "\"; SHOW CONFIG lists them"));
        if (!spec.changeable()) {
            throw new IllegalArgumentException("setting \"" + k + "\" cannot be changed while running; edit the "
                    + "config file (restart needed for host and port, RELOAD for the rest)");
        }
        General g = config.general();
        long n;
        try {
            n = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("setting \"" + k + "\" takes an integer, got \"" + value + "\"");
        }
        if (n < 0) {
            throw new IllegalArgumentException("setting \"" + k + "\" must not be negative");
        }
        Duration ms = Duration.ofMillis(n);
        Duration connect = g.connectTimeout();
        Duration idle = g.idleTimeout();
        Duration lifetime = g.serverLifetime();
        Duration queryWait = g.queryWaitTimeout();
        int maxClients = g.maxClientConn();
        Duration login = g.clientLoginTimeout();
        Duration idleInTx = g.idleClientInTransactionTimeout();
        int maxPacket = g.maxPacketSize();
        Duration shutdown = g.shutdownTimeout();
        switch (k) {
            case "connect_timeout" -> connect = ms;
            case "idle_timeout" -> idle = ms;
            case "server_lifetime" -> lifetime = ms;
            case "query_wait_timeout" -> queryWait = ms;
            case "max_client_conn" -> maxClients = intIn(k, n, 1, Integer.MAX_VALUE);
            case "client_login_timeout" -> login = ms;
            case "idle_client_in_transaction_timeout" -> idleInTx = ms;
            case "max_packet_size" -> maxPacket = intIn(k, n, 64, General.DEFAULT_MAX_PACKET_SIZE);
            case "shutdown_timeout" -> shutdown = ms;
            default -> throw new IllegalArgumentException("setting \"" + k + "\" cannot be changed while running");
        }
        General changed = new General(g.host(), g.port(), g.adminUsername(), g.adminPassword(), connect, idle, lifetime,
                queryWait, maxClients, g.authType(), login, idleInTx, maxPacket, g.statsUsers(),
                g.enablePrometheusExporter(), g.prometheusExporterPort(), shutdown);
        return new PgRelayConfig(config.source(), changed, config.pools(), config.warnings(), config.security(),
                config.health(), config.limits(), config.workerThreads());
    }

    private static int intIn(String key, long n, long min, long max) {
        if (n < min || n > max) {
            throw new IllegalArgumentException("setting \"" + key + "\" must be between " + min + " and " + max);
        }
        return (int) n;
    }
}
