package io.pgrelay.proxy.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * pgrelay's meters, one registry per running proxy: traffic per pool ({@link TrafficStats}), routing
 * ({@link RouteStats}), servers ({@link HostStates}), connection gauges by pool and state, and the JVM's own
 * (memory, GC, threads, classes, CPU, uptime). Also keeps PgBouncer's stats period: every period the totals are
 * remembered, and the averages of SHOW STATS are the difference to the previous ones per second.
 */
public final class ProxyMetrics implements AutoCloseable {
    /** PgBouncer's stats_period default. */
    public static final long DEFAULT_STATS_PERIOD_MILLIS = 60_000;

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentHashMap<String, TrafficStats> traffic = new ConcurrentHashMap<>();
    private final Set<String> gaugedPools = ConcurrentHashMap.newKeySet();
    private final RouteStats routes = new RouteStats(registry);
    private final HostStates hosts = new HostStates(registry);
    private final LimitStats limits = new LimitStats(registry);
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private volatile Function<String, PoolCounts> poolCounts = key -> PoolCounts.ZERO;

    private final Object periodLock = new Object();
    private Map<String, TrafficStats.Snapshot> periodStart = Map.of();
    private long periodStartNanos = System.nanoTime();
    private volatile Map<String, TrafficStats.Snapshot> averages = Map.of();

    public ProxyMetrics() {
        registry.getPrometheusRegistry().register(new TrafficCollector(traffic::values));
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() {
        return registry.scrape();
    }

    /** The counters of pool (database, user), created with their meters on first use. */
    public TrafficStats traffic(String database, String user) {
        return traffic.computeIfAbsent(database + "\0" + user, k -> new TrafficStats(registry, database, user));
    }

    public RouteStats routes() {
        return routes;
    }

    public HostStates hosts() {
        return hosts;
    }

    public LimitStats limits() {
        return limits;
    }

    /** Where the connection gauges read from: counts for a pool key "database\0user". */
    public void countPoolsWith(Function<String, PoolCounts> counts) {
        this.poolCounts = counts;
    }

    /**
     * Registers a pool's meters: connection gauges by state, traffic counters at zero, routing counters. Idempotent.
     */
    public void registerPool(String database, String user) {
        traffic(database, user);
        routes.register(database);
        String key = database + "\0" + user;
        if (!gaugedPools.add(key)) {
            return;
        }
        Tags tags = Tags.of("database", database, "user", user);
        gauge("pgrelay.clients", "Client connections by pool and state", tags, "active", key,
                PoolCounts::clientsActive);
        gauge("pgrelay.clients", "Client connections by pool and state", tags, "waiting", key,
                PoolCounts::clientsWaiting);
        gauge("pgrelay.servers", "Server connections by pool and state", tags, "active", key,
                PoolCounts::serversActive);
        gauge("pgrelay.servers", "Server connections by pool and state", tags, "idle", key, PoolCounts::serversIdle);
        gauge("pgrelay.servers", "Server connections by pool and state", tags, "login", key,
                PoolCounts::serversLogin);
        Gauge.builder("pgrelay.pool.size", () -> poolCounts.apply(key).poolSize()).tags(tags)
                .description("Configured pool_size").register(registry);
        Gauge.builder("pgrelay.pool.max.wait", () -> poolCounts.apply(key).maxWaitMicros() / 1e6).tags(tags)
                .baseUnit("seconds").description("Longest current wait of a client for a server connection")
                .register(registry);
    }

    private void gauge(String name, String help, Tags tags, String state, String key,
                       java.util.function.ToIntFunction<PoolCounts> f) {
        Supplier<Number> value = () -> f.applyAsInt(poolCounts.apply(key));
        Gauge.builder(name, value).description(help).tags(tags).tag("state", state).register(registry);
    }

    /** Totals per database, summed over its pools. */
    public Map<String, TrafficStats.Snapshot> totalsByDatabase() {
        Map<String, TrafficStats.Snapshot> out = new java.util.TreeMap<>();
        for (TrafficStats t : traffic.values()) {
            out.merge(t.database(), t.snapshot(), TrafficStats.Snapshot::plus);
        }
        return out;
    }

    /** Ends a stats period: the averages become those of the period just ended. */
    public void rollPeriod() {
        synchronized (periodLock) {
            long now = System.nanoTime();
            Map<String, TrafficStats.Snapshot> totals = totalsByDatabase();
            double seconds = (now - periodStartNanos) / 1e9;
            Map<String, TrafficStats.Snapshot> avg = new LinkedHashMap<>();
            for (Map.Entry<String, TrafficStats.Snapshot> e : totals.entrySet()) {
                TrafficStats.Snapshot before = periodStart.getOrDefault(e.getKey(), TrafficStats.Snapshot.ZERO);
                avg.put(e.getKey(), e.getValue().minus(before).averages(seconds));
            }
            averages = avg;
            periodStart = totals;
            periodStartNanos = now;
        }
    }

    /** The averages of the last complete stats period (zero before the first one ends). */
    public TrafficStats.Snapshot averages(String database) {
        return averages.getOrDefault(database, TrafficStats.Snapshot.ZERO);
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }

    /** Connection counts of one pool, for the gauges. */
    public record PoolCounts(int clientsActive, int clientsWaiting, int serversActive, int serversIdle,
                             int serversLogin, int poolSize, long maxWaitMicros) {
        public static final PoolCounts ZERO = new PoolCounts(0, 0, 0, 0, 0, 0, 0);
    }
}
