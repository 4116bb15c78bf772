package io.pgrelay.proxy.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * What PgBouncer counts per database (SHOW STATS), kept per pool (database, user) and summed per database by the
 * admin console: server assignments, transactions, queries, bytes, times in microseconds, Parse and Bind counts.
 * The same numbers are Micrometer meters ({@code pgrelay_*}); latencies are also histograms, so p50/p99 come from
 * {@code histogram_quantile()} over their {@code _bucket} series.
 * Updated from the clients' event loops through {@link ClientTraffic}; every field is safe to read from any thread.
 */
public final class TrafficStats {
    /** Counts nothing anywhere (sessions that have no metrics, unit tests). */
    public static final TrafficStats NONE = new TrafficStats(null, "", "");

    public final LongAdder serverAssignments = new LongAdder();
    public final LongAdder xacts = new LongAdder();
    public final LongAdder queries = new LongAdder();
    public final LongAdder received = new LongAdder();
    public final LongAdder sent = new LongAdder();
    public final LongAdder xactMicros = new LongAdder();
    public final LongAdder queryMicros = new LongAdder();
    public final LongAdder waitMicros = new LongAdder();
    public final LongAdder clientParses = new LongAdder();
    public final LongAdder serverParses = new LongAdder();
    public final LongAdder binds = new LongAdder();
    public final LongAdder preparedHits = new LongAdder();
    public final LongAdder preparedMisses = new LongAdder();

    private final String database;
    private final String user;
    private final MeterRegistry registry;
    private final Timer xactTimer;
    private final Timer queryTimer;
    private final Timer waitTimer;
    private final ConcurrentHashMap<String, io.micrometer.core.instrument.Counter> errors = new ConcurrentHashMap<>();

    TrafficStats(MeterRegistry registry, String database, String user) {
        this.registry = registry;
        this.database = database;
        this.user = user;
        if (registry == null) {
            xactTimer = null;
            queryTimer = null;
            waitTimer = null;
            return;
        }
        Tags tags = Tags.of("database", database, "user", user);
        xactTimer = latency(registry, "pgrelay.transactions", "Transactions ended (client-visible duration)", tags);
        queryTimer = latency(registry, "pgrelay.queries", "Queries answered (to ReadyForQuery)", tags);
        waitTimer = latency(registry, "pgrelay.client.wait",
                "Time clients waited for a server connection, per assignment", tags);
        counter(registry, "pgrelay.server.assignments", "Times a server connection was given to a client", tags,
                serverAssignments, null);
        counter(registry, "pgrelay.client.received", "Bytes received from clients", tags, received, "bytes");
        counter(registry, "pgrelay.client.sent", "Bytes sent to clients", tags, sent, "bytes");
        counter(registry, "pgrelay.parse.client", "Parse messages from clients", tags, clientParses, null);
        counter(registry, "pgrelay.parse.server", "Parse messages sent to servers", tags, serverParses, null);
        counter(registry, "pgrelay.bind", "Bind messages from clients", tags, binds, null);
        counter(registry, "pgrelay.prepared.cache.hits",
                "Bind/Describe of a prepared statement the server connection already had", tags, preparedHits, null);
        counter(registry, "pgrelay.prepared.cache.misses",
                "Bind/Describe that needed the statement prepared on the server connection first", tags,
                preparedMisses, null);
    }

    private static Timer latency(MeterRegistry registry, String name, String help, Tags tags) {
        return Timer.builder(name).description(help).tags(tags)
                .publishPercentileHistogram() // p50/p99: histogram_quantile() over the _bucket series
                .minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(60))
                // one histogram per timer, not a ring of three: every query records here (the _bucket series are
                // cumulative either way; only the summary's window is coarser)
                .distributionStatisticBufferLength(1)
                .register(registry);
    }

    private static void counter(MeterRegistry registry, String name, String help, Tags tags, LongAdder adder,
                                String unit) {
        FunctionCounter.builder(name, adder, LongAdder::doubleValue).description(help).tags(tags).baseUnit(unit)
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

    void assigned(long waitNanos) {
        serverAssignments.increment();
        waitMicros.add(waitNanos / 1000);
        if (waitTimer != null) {
            waitTimer.record(waitNanos, TimeUnit.NANOSECONDS);
        }
    }

    void queryDone(long nanos) {
        queries.increment();
        queryMicros.add(nanos / 1000);
        if (queryTimer != null) {
            queryTimer.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    void xactDone(long nanos) {
        xacts.increment();
        xactMicros.add(nanos / 1000);
        if (xactTimer != null) {
            xactTimer.record(nanos, TimeUnit.NANOSECONDS);
        }
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
        return new Snapshot(serverAssignments.sum(), xacts.sum(), queries.sum(), received.sum(), sent.sum(),
                xactMicros.sum(), queryMicros.sum(), waitMicros.sum(), clientParses.sum(), serverParses.sum(),
                binds.sum());
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
