package io.pgrelay.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The {@code [general]} section.
 *
 * @param adminUsername null when the admin console is disabled (then adminPassword is null too)
 * @param authType      default client authentication for users that do not set their own
 * @param clientLoginTimeout             time a client has from connecting to being logged in (PgBouncer's name)
 * @param idleClientInTransactionTimeout time a client may sit idle inside a transaction; zero: no limit (pgcat's)
 * @param maxPacketSize                  the largest message a client may send, in bytes (PgBouncer's name)
 * @param statsUsers                     users (of any pool, with that pool's password) who may run the admin
 *                                       console's SHOW commands (PgBouncer's name)
 * @param enablePrometheusExporter       whether /metrics is served on prometheusExporterPort (pgcat's names)
 * @param prometheusExporterPort         port of the HTTP metrics endpoint
 * @param shutdownTimeout                on SIGTERM / SHUTDOWN, time transactions in flight get to finish (pgcat's)
 */
public record General(String host, int port, String adminUsername, String adminPassword,
                      Duration connectTimeout, Duration idleTimeout, Duration serverLifetime,
                      Duration queryWaitTimeout, int maxClientConn, AuthType authType,
                      Duration clientLoginTimeout, Duration idleClientInTransactionTimeout, int maxPacketSize,
                      List<String> statsUsers, boolean enablePrometheusExporter, int prometheusExporterPort,
                      Duration shutdownTimeout) {
    /** PostgreSQL's own limit for one message (MaxAllocSize). */
    public static final int DEFAULT_MAX_PACKET_SIZE = 1 << 30;
    /** pgcat's default port for the Prometheus exporter. */
    public static final int DEFAULT_PROMETHEUS_EXPORTER_PORT = 9930;
    /** pgcat's default shutdown_timeout. */
    public static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(60);

    /** The settings without the admin, metrics and shutdown keys added later, which take their defaults. */
    public General(String host, int port, String adminUsername, String adminPassword, Duration connectTimeout,
                   Duration idleTimeout, Duration serverLifetime, Duration queryWaitTimeout, int maxClientConn,
                   AuthType authType, Duration clientLoginTimeout, Duration idleClientInTransactionTimeout,
                   int maxPacketSize) {
        this(host, port, adminUsername, adminPassword, connectTimeout, idleTimeout, serverLifetime, queryWaitTimeout,
                maxClientConn, authType, clientLoginTimeout, idleClientInTransactionTimeout, maxPacketSize,
                List.of(), false, DEFAULT_PROMETHEUS_EXPORTER_PORT, DEFAULT_SHUTDOWN_TIMEOUT);
    }

    /** The settings without the limits added later, which take their defaults. */
    public General(String host, int port, String adminUsername, String adminPassword, Duration connectTimeout,
                   Duration idleTimeout, Duration serverLifetime, Duration queryWaitTimeout, int maxClientConn,
                   AuthType authType) {
        this(host, port, adminUsername, adminPassword, connectTimeout, idleTimeout, serverLifetime, queryWaitTimeout,
                maxClientConn, authType, Duration.ofSeconds(60), Duration.ZERO, DEFAULT_MAX_PACKET_SIZE);
    }

    public General {
        Objects.requireNonNull(clientLoginTimeout, "clientLoginTimeout");
        Objects.requireNonNull(idleClientInTransactionTimeout, "idleClientInTransactionTimeout");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(idleTimeout, "idleTimeout");
        Objects.requireNonNull(serverLifetime, "serverLifetime");
        Objects.requireNonNull(queryWaitTimeout, "queryWaitTimeout");
        Objects.requireNonNull(authType, "authType");
        Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
        statsUsers = statsUsers == null ? List.of() : List.copyOf(statsUsers);
    }

    /** Keeps the admin password out of logs. */
    @Override
    public String toString() {
        return "General[host=" + host + ", port=" + port + ", adminUsername=" + adminUsername
                + ", connectTimeout=" + connectTimeout + ", idleTimeout=" + idleTimeout
                + ", serverLifetime=" + serverLifetime + ", queryWaitTimeout=" + queryWaitTimeout
                + ", maxClientConn=" + maxClientConn + ", authType=" + authType
                + ", clientLoginTimeout=" + clientLoginTimeout + ", idleClientInTransactionTimeout="
                + idleClientInTransactionTimeout + ", maxPacketSize=" + maxPacketSize + ", statsUsers=" + statsUsers
                + ", enablePrometheusExporter=" + enablePrometheusExporter + ", prometheusExporterPort="
                + prometheusExporterPort + ", shutdownTimeout=" + shutdownTimeout + "]";
    }
}
