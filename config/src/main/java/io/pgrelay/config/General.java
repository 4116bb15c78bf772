package io.pgrelay.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The {@code [general]} section.
 *
 * @param adminUsername null when the admin console is disabled (then adminPassword is null too)
 * @param authType      default client authentication for users that do not set their own
 */
public record General(String host, int port, String adminUsername, String adminPassword,
                      Duration connectTimeout, Duration idleTimeout, Duration serverLifetime,
                      Duration queryWaitTimeout, int maxClientConn, AuthType authType) {

    public General {
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
                + ", maxClientConn=" + maxClientConn + ", authType=" + authType + "]";
    }
}
