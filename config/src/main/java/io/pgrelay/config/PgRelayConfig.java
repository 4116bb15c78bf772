package io.pgrelay.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A whole, validated configuration.
 *
 * @param source   where it was read from (file path or the name given to {@link ConfigLoader#parse})
 * @param pools    keyed by the database name clients connect to, in file order
 * @param warnings things accepted but ignored (pgcat keys pgrelay does not implement yet), in line order
 * @param health   health checks, bans and failover
 * @param limits   client connection and prepared statement limits
 */
public record PgRelayConfig(String source, General general, Map<String, PoolConfig> pools, List<String> warnings,
                            SecurityConfig security, HealthConfig health, LimitsConfig limits, int workerThreads) {

    public PgRelayConfig {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(general, "general");
        pools = Collections.unmodifiableMap(new LinkedHashMap<>(pools));
        warnings = List.copyOf(warnings);
        security = security == null ? SecurityConfig.NONE : security;
        health = health == null ? HealthConfig.DEFAULTS : health;
        limits = limits == null ? LimitsConfig.DEFAULTS : limits;
        if (workerThreads < 0) {
            throw new IllegalArgumentException("workerThreads must not be negative");
        }
    }

    /** With worker_threads unset: half the CPUs ({@link #defaultIoThreads}). */
    public PgRelayConfig(String source, General general, Map<String, PoolConfig> pools, List<String> warnings,
                         SecurityConfig security, HealthConfig health, LimitsConfig limits) {
        this(source, general, pools, warnings, security, health, limits, 0);
    }

    /** worker_threads (pgcat's name): the event-loop threads serving clients and servers; 0: half the CPUs. */
    public int ioThreads() {
        return workerThreads > 0 ? workerThreads : defaultIoThreads(Runtime.getRuntime().availableProcessors());
    }

    /**
     * Half the CPUs, at least one. A pooler usually shares its machine (with PostgreSQL, the application, its
     * clients): on 2 CPUs shared with PostgreSQL and pgbench, one event loop gave the same throughput as two with
     * p99 latency 3.6-4.7 ms instead of 5.8-6.9 and 10% less CPU per transaction (bench/README.md).
     */
    static int defaultIoThreads(int cpus) {
        return Math.max(1, cpus / 2);
    }

    /** With the default limits. */
    public PgRelayConfig(String source, General general, Map<String, PoolConfig> pools, List<String> warnings,
                         SecurityConfig security, HealthConfig health) {
        this(source, general, pools, warnings, security, health, LimitsConfig.DEFAULTS);
    }

    /** With the default health checks. */
    public PgRelayConfig(String source, General general, Map<String, PoolConfig> pools, List<String> warnings,
                         SecurityConfig security) {
        this(source, general, pools, warnings, security, HealthConfig.DEFAULTS);
    }

    /** Without TLS or GSSAPI. */
    public PgRelayConfig(String source, General general, Map<String, PoolConfig> pools, List<String> warnings) {
        this(source, general, pools, warnings, SecurityConfig.NONE, HealthConfig.DEFAULTS);
    }
}
