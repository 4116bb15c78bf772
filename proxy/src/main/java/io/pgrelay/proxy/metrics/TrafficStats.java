package io.pgrelay.proxy.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What PgBouncer counts per database (SHOW STATS), kept per pool (database, user) and summed per database by the
 * admin console: server assignments, transactions, queries, bytes, times in microseconds, Parse and Bind counts.
 * The same numbers are Prometheus series ({@code pgrelay_*}); latencies are also histograms, so p50/p99 come from
 * {@code histogram_quantile()} over their {@code _bucket} series ({@link TrafficCollector}).
 * Updated from the clients' event loops through {@link ClientTraffic}, each thread in its own {@link TrafficShard};
 * safe to read from any thread.
 */
public final class TrafficStats {
    /** Counts nothing anywhere (sessions that have no metrics, unit tests). */
    public static final TrafficStats NONE = new TrafficStats(null, "", "");

    private final String database;
    private final String user;
    private final MeterRegistry registry;
    private final CopyOnWriteArrayList<TrafficShard> shards = new CopyOnWriteArrayList<>();
    private final ThreadLocal<TrafficShard> shard = ThreadLocal.withInitial(() -> {
        TrafficShard s = new TrafficShard();
        shards.add(s); // kept when its thread ends: the counts stay in the totals
        return s;
    });
    private final ConcurrentHashMap<String, io.micrometer.core.instrument.Counter> errors = new ConcurrentHashMap<>();

    TrafficStats(MeterRegistry registry, String database, String user) {
        this.registry = registry;
        this.database = database;
        this.user = user;
        if (registry == null) {
            return;
        }
        Tags tags = Tags.of("database", database, "user", user);
        counter(registry, "pgrelay.server.assignments", "Times a server connection was given to a client", tags,
                TrafficShard.ASSIGNMENTS, null);
        counter(registry, "pgrelay.client.received", "Bytes received from clients", tags, TrafficShard.RECEIVED,
                "bytes");
        counter(registry, "pgrelay.client.sent", "Bytes sent to clients", tags, TrafficShard.SENT, "bytes");
        counter(registry, "pgrelay.parse.client", "Parse messages from clients", tags, TrafficShard.CLIENT_PARSES,
                null);
        counter(registry, "pgrelay.parse.server", "Parse messages sent to servers", tags, TrafficShard.SERVER_PARSES,
                null);
        counter(registry, "pgrelay.bind", "Bind messages from clients", tags, TrafficShard.BINDS, null);
        counter(registry, "pgrelay.prepared.cache.hits",
                "Bind/Describe of a prepared statement the server connection already had", tags,
                TrafficShard.PREPARED_HITS, null);
        counter(registry, "pgrelay.prepared.cache.misses",
                "Bind/Describe that needed the statement prepared on the server connection first", tags,
                TrafficShard.PREPARED_MISSES, null);
    }

    private void counter(MeterRegistry registry, String name, String help, Tags tags, int counter, String unit) {
        FunctionCounter.builder(name, this, t -> t.sum(counter)).description(help).tags(tags).baseUnit(unit)
                .register(registry);
    }

    public String database() {
        return database;
    }

    public String user() {
        return user;
    }

    /** A new client of this pool: its own query and transaction clocks. */
    public ClientTraffic newClient() {
        return new ClientTraffic(this);
    }

    /** The calling thread's shard, which only that thread may write. */
    TrafficShard shard() {
        return shard.get();
    }

    /** A counter ({@link TrafficShard#ASSIGNMENTS}...) summed over the threads. */
    long sum(int counter) {
        long total = 0;
        for (TrafficShard s : shards) {
            total += s.get(counter);
        }
        return total;
    }

    java.util.List<TrafficShard> shards() {
        return shards;
    }

    /** An ErrorResponse went to a client: counted by SQLSTATE class (the first two characters). */
    void error(String sqlStateClass) {
        if (registry == null) {
            return;
        }
        errors.computeIfAbsent(sqlStateClass, c -> io.micrometer.core.instrument.Counter.builder("pgrelay.errors")
                .description("ErrorResponses sent to clients, by SQLSTATE class")
                .tags("database", database, "user", user, "class", c)
                .register(registry)).increment();
    }

    /** A point-in-time copy, for SHOW STATS and its averages. */
    public Snapshot snapshot() {
        return new Snapshot(sum(TrafficShard.ASSIGNMENTS), sum(TrafficShard.XACTS), sum(TrafficShard.QUERIES),
                sum(TrafficShard.RECEIVED), sum(TrafficShard.SENT), sum(TrafficShard.XACT_MICROS),
                sum(TrafficShard.QUERY_MICROS), sum(TrafficShard.WAIT_MICROS), sum(TrafficShard.CLIENT_PARSES),
                sum(TrafficShard.SERVER_PARSES), sum(TrafficShard.BINDS));
    }

    /** PgBouncer's totals, in SHOW STATS order. */
    public record Snapshot(long serverAssignments, long xacts, long queries, long received, long sent,
                           long xactMicros, long queryMicros, long waitMicros, long clientParses,
                           long serverParses, long binds) {
        public static final Snapshot ZERO = new Snapshot(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        public Snapshot plus(Snapshot o) {
            return new Snapshot(serverAssignments + o.serverAssignments, xacts + o.xacts, queries + o.queries,
                    received + o.received, sent + o.sent, xactMicros + o.xactMicros, queryMicros + o.queryMicros,
                    waitMicros + o.waitMicros, clientParses + o.clientParses, serverParses + o.serverParses,
                    binds + o.binds);
        }

        public Snapshot minus(Snapshot o) {
            return new Snapshot(serverAssignments - o.serverAssignments, xacts - o.xacts, queries - o.queries,
                    received - o.received, sent - o.sent, xactMicros - o.xactMicros, queryMicros - o.queryMicros,
                    waitMicros - o.waitMicros, clientParses - o.clientParses, serverParses - o.serverParses,
                    binds - o.binds);
        }

        /**
         * PgBouncer's averages over a period of {@code seconds}: counts and bytes per second; xact_time and
         * query_time per transaction / query, wait_time per server assignment (microseconds).
         */
        public Snapshot averages(double seconds) {
            double s = seconds <= 0 ? 1 : seconds;
            return new Snapshot(perSecond(serverAssignments, s), perSecond(xacts, s), perSecond(queries, s),
                    perSecond(received, s), perSecond(sent, s), per(xactMicros, xacts), per(queryMicros, queries),
                    per(waitMicros, serverAssignments), perSecond(clientParses, s), perSecond(serverParses, s),
                    perSecond(binds, s));
        }

        private static long perSecond(long v, double seconds) {
            return Math.round(v / seconds);
        }

        private static long per(long total, long count) {
            return count <= 0 ? 0 : total / count;
        }
    }
}
