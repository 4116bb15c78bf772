package io.pgrelay.proxy.metrics;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.ParameterStatus;
import io.pgrelay.protocol.message.Query;
import io.pgrelay.protocol.message.ReadyForQuery;
import org.junit.jupiter.api.Test;

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
