package io.pgrelay.config;

import java.util.List;
import java.util.Objects;

/** The servers behind a pool and the database name to use on them. */
public record ShardConfig(String database, List<ServerConfig> servers) {

    public ShardConfig {
        Objects.requireNonNull(database, "database");
        servers = List.copyOf(servers);
    }
}
