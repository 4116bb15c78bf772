package io.pgrelay.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A pool: what clients reach by connecting to database {@code name}.
 *
 * @param users  keyed by username, in file order
 * @param shards exactly one shard today; a list so sharding can come later without an API change
 */
public record PoolConfig(String name, PoolMode poolMode, Map<String, UserConfig> users, List<ShardConfig> shards,
                         Routing routing) {

    /** A pool with the default routing. */
    public PoolConfig(String name, PoolMode poolMode, Map<String, UserConfig> users, List<ShardConfig> shards) {
        this(name, poolMode, users, shards, Routing.defaults());
    }

    public PoolConfig {
        Objects.requireNonNull(routing, "routing");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(poolMode, "poolMode");
        users = Collections.unmodifiableMap(new LinkedHashMap<>(users));
        shards = List.copyOf(shards);
    }
}
