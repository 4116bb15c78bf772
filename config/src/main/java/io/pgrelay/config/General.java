package io.pgrelay.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The {@code [general]} section.
 *
 * @param adminUsername null when the admin console is disabled (then adminPassword is null too)
 * @param authType      default client authentication for users that do not set their own
 * @param clientLoginTimeout             time a client has from connecting to being logged in (PgBouncer's name)
 * @param idleClientInTransactionTimeout time a client may sit idle inside a transaction; zero: no limit (pgcat's)
 * @param maxPacketSize                  the largest message a client may send, in bytes (PgBouncer's name)
 */
public record General(String host, int port, String adminUsername, String adminPassword,
                      Duration connectTimeout, Duration idleTimeout, Duration serverLifetime,
                      Duration queryWaitTimeout, int maxClientConn, AuthType authType,
                      Duration clientLoginTimeout, Duration idleClientInTransactionTimeout, int maxPacketSize) {
    /** PostgreSQL's own limit for one message (MaxAllocSize). */
    public static final int DEFAULT_MAX_PACKET_SIZE = 1 << 30;

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
    }

    /** Keeps the admin password out of logs. */
    @Override
    public String toString() {
        return "General[host=" + host + ", port=" + port + ", adminUsername=" + adminUsername
                + ", connectTimeout=" + connectTimeout + ", idleTimeout=" + idleTimeout
                + ", serverLifetime=" + serverLifetime + ", queryWaitTimeout=" + queryWaitTimeout
                + ", maxClientConn=" + maxClientConn + ", authType=" + authType
                + ", clientLoginTimeout=" + clientLoginTimeout + ", idleClientInTransactionTimeout="
                + idleClientInTransactionTimeout + ", maxPacketSize=" + maxPacketSize + "]";
    }
}
