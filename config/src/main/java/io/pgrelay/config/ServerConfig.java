package io.pgrelay.config;

import java.util.Objects;

/**
 * One PostgreSQL server of a shard: an entry {@code [host, port, role]} or {@code [host, port, role, weight]} of
 * {@code servers}. The weight (default 1, 0 for none) is its share of the reads balanced over a pool's servers.
 */
public record ServerConfig(String host, int port, Role role, int weight) {

    public ServerConfig(String host, int port, Role role) {
        this(host, port, role, 1);
    }

    public ServerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(role, "role");
    }

    /** {@code host:port}; an IPv6 literal is bracketed so the port stays unambiguous. */
    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
