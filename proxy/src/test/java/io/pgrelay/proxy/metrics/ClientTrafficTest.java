package io.pgrelay.proxy.metrics;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.ParameterStatus;
import io.pgrelay.protocol.message.Query;
import io.pgrelay.protocol.message.ReadyForQuery;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ClientTrafficTest {
    private static ByteBuf frame(io.pgrelay.protocol.message.Message m) {
        ByteBuf b = Unpooled.buffer();
        m.encode(b);
        return b;
    }

    @Test
    void countsQueriesTransactionsBytesErrorsAndApplicationName() {
        ProxyMetrics metrics = new ProxyMetrics();
        try {
            TrafficStats stats = metrics.traffic("app", "u");
            ClientTraffic t = stats.newClient();
            ByteBuf q = frame(new Query("begin"));
            int qBytes = q.readableBytes();
            t.request(q);
            t.response(frame(new ReadyForQuery(ReadyForQuery.IN_TRANSACTION)));
            t.request(frame(new Query("select 1/0")));
            t.response(frame(ErrorResponse.error("22012", "division by zero")));
            t.response(frame(new ReadyForQuery(ReadyForQuery.FAILED_TRANSACTION)));
            t.request(frame(new Query("rollback")));
            t.response(frame(new ParameterStatus("application_name", "x")));
            t.response(frame(ReadyForQuery.READY_IDLE));
            TrafficStats.Snapshot s = stats.snapshot();
            assertThat(s.queries()).isEqualTo(3);
            assertThat(s.xacts()).isEqualTo(1);
            assertThat(s.received()).isGreaterThan(qBytes);
            assertThat(t.applicationName()).isEqualTo("x");
            assertThat(metrics.scrape()).contains("pgrelay_errors_total{class=\"22\",database=\"app\",user=\"u\"} 1");
        } finally {
            metrics.close();
        }
    }

    @Test
    void latencyHistogramsSumEveryThreadsShareAtScrapeTime() throws Exception {
        ProxyMetrics metrics = new ProxyMetrics();
        try {
            TrafficStats stats = metrics.traffic("app", "u");
            Runnable twoQueries = () -> {
                ClientTraffic t = stats.newClient();
                for (int i = 0; i < 2; i++) {
                    t.waiting();
                    t.assigned();
                    t.request(frame(new Query("select 1")));
                    t.response(frame(ReadyForQuery.READY_IDLE));
                }
            };
            Thread other = new Thread(twoQueries);
            other.start();
            twoQueries.run();
            other.join();
            String scrape = metrics.scrape();
            for (String family : List.of("pgrelay_queries_seconds", "pgrelay_transactions_seconds",
                    "pgrelay_client_wait_seconds")) {
                assertThat(scrape).contains("# TYPE " + family + " histogram",
                        family + "_count{database=\"app\",user=\"u\"} 4",
                        family + "_bucket{database=\"app\",user=\"u\",le=\"60.0\"} 4",
                        family + "_bucket{database=\"app\",user=\"u\",le=\"+Inf\"} 4",
                        "# TYPE " + family + "_max gauge");
            }
            // the same le values as Micrometer's timers had: 1.0E-4 ... 60.0, 89 of them plus +Inf
            assertThat(scrape.lines().filter(l -> l.startsWith("pgrelay_queries_seconds_bucket"))).hasSize(90)
                    .first().asString().contains("le=\"1.0E-4\"");
            assertThat(scrape).contains("pgrelay_queries_seconds_bucket{database=\"app\",user=\"u\",le=\"1.09226E-4\"}");
            assertThat(stats.snapshot().queries()).isEqualTo(4);
            assertThat(stats.snapshot().serverAssignments()).isEqualTo(4);
        } finally {
            metrics.close();
        }
    }

    @Test
    void aLatencyFallsInTheFirstBucketAtOrAboveIt() {
        TrafficShard.Latency l = new TrafficShard().query;
        long now = System.nanoTime();
        l.record(100_000, now);     // exactly the first bound: le="1.0E-4"
        l.record(100_001, now);     // just above: the next bucket
        l.record(-5, now);          // a clock step backwards counts as 0
        l.record(61_000_000_000L, now); // above 60 s: only +Inf
        long[] counts = new long[TrafficShard.BOUNDS.length + 1];
        l.addCounts(counts);
        assertThat(counts[0]).isEqualTo(2);
        assertThat(counts[1]).isEqualTo(1);
        assertThat(counts[TrafficShard.BOUNDS.length]).isEqualTo(1);
        assertThat(l.sumNanos()).isEqualTo(61_000_200_001L);
        assertThat(l.maxNanos(now)).isEqualTo(61_000_000_000L);
        long nextWindow = now + (1L << 36);
        assertThat(l.maxNanos(nextWindow)).as("the window before still counts").isEqualTo(61_000_000_000L);
        l.record(7, nextWindow);
        assertThat(l.maxNanos(nextWindow)).isEqualTo(61_000_000_000L);
        assertThat(l.maxNanos(nextWindow + (1L << 36))).as("two windows on, only the newer one").isEqualTo(7);
        assertThat(l.maxNanos(nextWindow + (2L << 36))).isZero();
    }

    @Test
    void theBucketOfAValueIsTheFirstBoundAtOrAboveIt() {
        java.util.Random random = new java.util.Random(42);
        List<Long> values = new java.util.ArrayList<>(List.of(0L, 1L, 2L, 3L, Long.MAX_VALUE));
        for (long bound : TrafficShard.BOUNDS) {
            values.addAll(List.of(bound - 1, bound, bound + 1));
        }
        for (int i = 0; i < 100_000; i++) {
            values.add(random.nextLong(120_000_000_000L) >> random.nextInt(40));
        }
        for (long v : values) {
            int search = java.util.Arrays.binarySearch(TrafficShard.BOUNDS, v);
            assertThat(TrafficShard.bucket(v)).as("%d ns", v).isEqualTo(search >= 0 ? search : -search - 1);
        }
    }

    @Test
    void sqlStateClassOfAnErrorResponse() {
        assertThat(ClientTraffic.sqlStateClass(frame(ErrorResponse.fatal("57P01", "bye")))).isEqualTo("57");
        assertThat(ClientTraffic.sqlStateClass(frame(new ErrorResponse((byte) 'E', java.util.Map.of('M', "x")))))
                .isEqualTo("??");
    }

    @Test
    void averagesAreRatesPerSecondAndTimesPerEvent() {
        TrafficStats.Snapshot period = new TrafficStats.Snapshot(10, 20, 40, 6000, 12000, 2_000_000, 800_000, 5000,
                2, 4, 8);
        TrafficStats.Snapshot a = period.averages(2.0);
        assertThat(a.xacts()).isEqualTo(10);           // per second
        assertThat(a.received()).isEqualTo(3000);      // bytes per second
        assertThat(a.xactMicros()).isEqualTo(100_000); // per transaction
        assertThat(a.queryMicros()).isEqualTo(20_000); // per query
        assertThat(a.waitMicros()).isEqualTo(500);     // per server assignment
        assertThat(TrafficStats.Snapshot.ZERO.averages(60).xactMicros()).isZero();
    }

    @Test
    void routeStatsRowsPerRole() {
        ProxyMetrics metrics = new ProxyMetrics();
        try {
            metrics.routes().routed("app", RouteStats.Role.REPLICA, RouteStats.Reason.STATEMENT);
            metrics.routes().routed("app", RouteStats.Role.PRIMARY, RouteStats.Reason.HINT);
            metrics.routes().routed("app", RouteStats.Role.PRIMARY, RouteStats.Reason.READ_YOUR_WRITES);
            assertThat(metrics.routes().rows()).containsExactly(
                    new RouteStats.Row("app", "primary", 2, 1, 1), new RouteStats.Row("app", "replica", 1, 0, 0));
            assertThat(metrics.scrape()).contains("pgrelay_routing_decisions_total{database=\"app\",reason=\"hint\","
                    + "role=\"primary\"} 1");
        } finally {
            metrics.close();
        }
    }
}
