package io.pgrelay.proxy.metrics;

import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;

/**
 * One thread's share of a pool's traffic counters and latency histograms. Every transaction updates about a dozen of
 * them: as LongAdders and Micrometer timers that was a dozen lock-prefixed instructions on cache lines both event loops
 * wrote. Here only the owning thread writes (plain adds, published with opaque stores) and readers sum the shards.
 */
final class TrafficShard {
    static final int ASSIGNMENTS = 0;
    static final int XACTS = 1;
    static final int QUERIES = 2;
    static final int RECEIVED = 3;
    static final int SENT = 4;
    static final int XACT_MICROS = 5;
    static final int QUERY_MICROS = 6;
    static final int WAIT_MICROS = 7;
    static final int CLIENT_PARSES = 8;
    static final int SERVER_PARSES = 9;
    static final int BINDS = 10;
    static final int PREPARED_HITS = 11;
    static final int PREPARED_MISSES = 12;
    private static final int COUNTERS = 13;

    /**
     * Upper bounds of the latency buckets in nanoseconds: Micrometer's percentile-histogram buckets from 100 µs to 60 s,
     * the same {@code le} values the series had when they were Micrometer timers, so dashboards keep working.
     */
    static final long[] BOUNDS = DistributionStatisticConfig.builder()
            .percentilesHistogram(true)
            .minimumExpectedValue((double) Duration.ofNanos(100_000).toNanos())
            .maximumExpectedValue((double) Duration.ofSeconds(60).toNanos())
            .build().merge(DistributionStatisticConfig.DEFAULT)
            .getHistogramBuckets(true).stream().mapToLong(Double::longValue).toArray();

    /** For each power of two 2^b, the first bucket whose bound is at least 2^b: a search starts there. */
    private static final int[] FIRST_AT_LEAST = new int[64];

    static {
        for (int b = 0, i = 0; b < 64; b++) {
            while (i < BOUNDS.length && BOUNDS[i] < 1L << b) {
                i++;
            }
            FIRST_AT_LEAST[b] = i;
        }
    }

    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

    /**
     * The bucket of {@code v} (a bucket counts the values up to and including its bound; BOUNDS.length: above all):
     * a table lookup by the highest bit, then a few steps (at most five bounds share a power of two), where a binary
     * search over 89 bounds took 2% of the CPU at three latencies per transaction.
     */
    static int bucket(long v) {
        int i = v <= 1 ? 0 : FIRST_AT_LEAST[63 - Long.numberOfLeadingZeros(v - 1)];
        while (i < BOUNDS.length && BOUNDS[i] < v) {
            i++;
        }
        return i;
    }

    private final long[] counters = new long[COUNTERS];
    final Latency xact = new Latency(XACTS, XACT_MICROS);
    final Latency query = new Latency(QUERIES, QUERY_MICROS);
    final Latency wait = new Latency(ASSIGNMENTS, WAIT_MICROS);

    /**
     * A transaction, query or wait for a server ({@code latency}: {@link #xact}, {@link #query}, {@link #wait}) that
     * took {@code nanos} and ended at {@code nowNanos}: its count, its total in µs (SHOW STATS) and its histogram.
     */
    void ended(Latency latency, long nanos, long nowNanos) {
        add(latency.count, 1);
        add(latency.micros, nanos / 1000);
        latency.record(nanos, nowNanos);
    }

    void add(int counter, long n) {
        add(counters, counter, n);
    }

    long get(int counter) {
        return get(counters, counter);
    }

    private static void add(long[] a, int i, long n) {
        SLOT.setOpaque(a, i, (long) SLOT.getOpaque(a, i) + n);
    }

    private static long get(long[] a, int i) {
        return (long) SLOT.getOpaque(a, i);
    }

    private static void set(long[] a, int i, long v) {
        SLOT.setOpaque(a, i, v);
    }

    /**
     * Counts per bucket (the last one for values above every bound), the sum, and the largest value of the current
     * window of 2^36 ns (about 69 s) and of the one before: the {@code _max} gauge covers the last 69 to 137 seconds.
     * A reader racing the writer may see a window's max a moment early or late; counts are exact.
     */
    static final class Latency {
        private static final int SUM = BOUNDS.length + 1;
        private static final int WINDOW = SUM + 1;
        private static final int MAX = WINDOW + 1;
        private static final int PREVIOUS_MAX = MAX + 1;
        private static final int WINDOW_SHIFT = 36;

        private final long[] slots = new long[PREVIOUS_MAX + 1];
        /** The counters (of the shard) this latency's count and total in µs go to. */
        private final int count;
        private final int micros;

        Latency(int count, int micros) {
            this.count = count;
            this.micros = micros;
        }

        /** A duration that ended at {@code nowNanos} (System.nanoTime). */
        void record(long nanos, long nowNanos) {
            long v = Math.max(0, nanos);
            add(slots, bucket(v), 1);
            add(slots, SUM, v);
            long window = nowNanos >> WINDOW_SHIFT;
            long current = get(slots, WINDOW);
            if (window != current) {
                set(slots, PREVIOUS_MAX, window == current + 1 ? get(slots, MAX) : 0);
                set(slots, MAX, 0);
                set(slots, WINDOW, window);
            }
            if (v > get(slots, MAX)) {
                set(slots, MAX, v);
            }
        }

        /** Adds this shard's counts per bucket (not cumulative) into {@code into}, one slot per bucket. */
        void addCounts(long[] into) {
            for (int i = 0; i <= BOUNDS.length; i++) {
                into[i] += get(slots, i);
            }
        }

        long sumNanos() {
            return get(slots, SUM);
        }

        long maxNanos(long nowNanos) {
            long window = nowNanos >> WINDOW_SHIFT;
            long recorded = get(slots, WINDOW);
            if (recorded == window) {
                return Math.max(get(slots, MAX), get(slots, PREVIOUS_MAX));
            }
            return recorded == window - 1 ? get(slots, MAX) : 0;
        }
    }
}
