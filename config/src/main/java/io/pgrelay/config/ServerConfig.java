package io.pgrelay.config;

import java.util.Objects;

/** One PostgreSQL server of a shard: an entry {@code [host, port, role]} of {@code servers}. */
public record ServerConfig(String host, int port, Role role) {

    public ServerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(role, "role");
    }

    /** {@code host:port}; an IPv6 literal is bracketed so the port stays unambiguous. */
    public String address() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }
}
