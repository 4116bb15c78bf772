package io.pgrelay.proxy.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What pgrelay knows about each configured server: its role, whether it is up, banned (BAN host:port, or health
 * checks once they exist) or fenced, and the last probe's time, latency and replication lag. Health checks write
 * here with {@link Host#probed}; SHOW HOSTS and the {@code pgrelay_server_*} gauges read it. Thread-safe.
 */
public final class HostStates {
    /** DOWN: failing health checks, not banned (yet). */
    public enum State { UP, DOWN, BANNED, FENCED }

    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, Host> hosts = new ConcurrentHashMap<>();
    private final LongAdder bans = new LongAdder();
    private final LongAdder failovers = new LongAdder();
    private final LongAdder fences = new LongAdder();
    private final LongAdder promotions = new LongAdder();

    HostStates(MeterRegistry registry) {
        this.registry = registry;
        if (registry != null) {
            FunctionCounter.builder("pgrelay.bans", bans, LongAdder::doubleValue)
                    .description("Servers banned (admin BAN or failed health checks)").register(registry);
            FunctionCounter.builder("pgrelay.failovers", failovers, LongAdder::doubleValue)
                    .description("Primary changes (a standby promoted)").register(registry);
            FunctionCounter.builder("pgrelay.fences", fences, LongAdder::doubleValue)
                    .description("Servers fenced: claiming to be a primary while another one is").register(registry);
            FunctionCounter.builder("pgrelay.promotions", promotions, LongAdder::doubleValue)
                    .description("Standbys promoted by pgrelay (auto_promote)").register(registry);
        }
    }

    /** The state of {@code host:port} as a server of {@code database}, created "up" on first sight. */
    public Host host(String database, String host, int port, String role) {
        return hosts.computeIfAbsent(database + "\0" + host + ":" + port, k -> {
            Host h = new Host(database, host, port, role);
            if (registry != null) {
                Tags tags = Tags.of("database", database, "host", host, "port", Integer.toString(port));
                Gauge.builder("pgrelay.server.up", h, x -> x.state == State.UP ? 1 : 0).tags(tags)
                        .tag("role", role).description("1 when the server is up, 0 when down, banned or fenced")
                        .register(registry);
                Gauge.builder("pgrelay.server.primary", h, x -> "primary".equals(x.role) ? 1 : 0).tags(tags)
                        .description("1 while the health checks find this server is the primary").register(registry);
                FunctionCounter.builder("pgrelay.server.bans", h, x -> x.bans.doubleValue()).tags(tags)
                        .description("Times this server was banned").register(registry);
                FunctionCounter.builder("pgrelay.server.failovers", h, x -> x.failovers.doubleValue()).tags(tags)
                        .description("Times this server became the primary by a failover").register(registry);
                Gauge.builder("pgrelay.server.probe.latency", h, x -> x.probeLatencyMicros / 1e6).tags(tags)
                        .baseUnit("seconds").description("Latency of the last health probe").register(registry);
                Gauge.builder("pgrelay.replication.lag", h, x -> x.lagBytes).tags(tags).baseUnit("bytes")
                        .description("Replication lag behind the primary").register(registry);
                Gauge.builder("pgrelay.replication.lag.time", h, x -> x.lagMillis / 1e3).tags(tags)
                        .baseUnit("seconds").description("Replication lag behind the primary").register(registry);
            }
            return h;
        });
    }

    /** Every server of {@code host:port}, across pools. */
    public List<Host> byAddress(String host, int port) {
        List<Host> out = new ArrayList<>();
        for (Host h : hosts.values()) {
            if (h.host.equalsIgnoreCase(host) && h.port == port) {
                out.add(h);
            }
        }
        return out;
    }

    public List<Host> all() {
        List<Host> out = new ArrayList<>(hosts.values());
        out.sort(java.util.Comparator.comparing((Host h) -> h.database).thenComparing(h -> h.host)
                .thenComparingInt(h -> h.port));
        return out;
    }

    /** A failover made {@code host:port} the primary. */
    public void countFailover(String host, int port) {
        failovers.increment();
        for (Host h : byAddress(host, port)) {
            h.failovers.increment();
        }
    }

    public long failovers() {
        return failovers.sum();
    }

    /** Failed health checks banned {@code host:port}. */
    public void countBan(String host, int port) {
        bans.increment();
        for (Host h : byAddress(host, port)) {
            h.bans.increment();
        }
    }

    public void countFence() {
        fences.increment();
    }

    public void countPromotion() {
        promotions.increment();
    }

    /** BAN from the console: every pool's server at this address; false when none is configured there. */
    public boolean ban(String host, int port) {
        List<Host> found = byAddress(host, port);
        for (Host h : found) {
            if (!h.adminBanned) {
                h.adminBanned = true;
                h.state = State.BANNED;
                h.bans.increment();
                bans.increment();
            }
        }
        return !found.isEmpty();
    }

    /** UNBAN: lifts a console ban (a ban by failed health checks lifts on its own). */
    public boolean unban(String host, int port) {
        List<Host> found = byAddress(host, port);
        for (Host h : found) {
            h.adminBanned = false;
            h.state = h.observedState;
        }
        return !found.isEmpty();
    }

    /** Whether BAN from the console holds for this server. */
    public boolean isAdminBanned(String host, int port) {
        for (Host h : byAddress(host, port)) {
            if (h.adminBanned) {
                return true;
            }
        }
        return false;
    }

    /** One server of one pool. Fields are written by health checks / admin commands and read by anyone. */
    public static final class Host {
        public final String database;
        public final String host;
        public final int port;
        public volatile String role;
        public volatile State state = State.UP;
        volatile boolean adminBanned;
        /** What the health checks last said, whatever the console's ban. */
        volatile State observedState = State.UP;
        /** Times this server was banned (health checks or console), and became the primary by a failover. */
        public final LongAdder bans = new LongAdder();
        public final LongAdder failovers = new LongAdder();
        /** Wall-clock millis of the last probe; 0: never probed (no health checks yet). */
        public volatile long lastProbeMillis;
        public volatile long probeLatencyMicros;
        public volatile long lagBytes;
        public volatile long lagMillis;

        Host(String database, String host, int port, String role) {
            this.database = database;
            this.host = host;
            this.port = port;
            this.role = role;
        }

        /** A health probe's result. */
        public void probed(long latencyMicros, long lagBytes, long lagMillis) {
            this.lastProbeMillis = System.currentTimeMillis();
            this.probeLatencyMicros = latencyMicros;
            this.lagBytes = lagBytes;
            this.lagMillis = lagMillis;
        }

        /** What the health checks decided: the role it plays (as configured names it) and its state. */
        public void observed(String role, State state) {
            this.role = role;
            this.observedState = state;
            this.state = adminBanned ? State.BANNED : state;
        }

        public String stateName() {
            return state.name().toLowerCase(Locale.ROOT);
        }
    }
}
