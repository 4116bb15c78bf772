package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.proxy.LeakTracker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Properties;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Routing with a standby that lags by seconds (recovery_min_apply_delay on standby2): lag limits keep reads off it,
 * and read-your-writes by LSN lets a client read what it just wrote whatever the lag. Its own cluster, since the
 * delay would disturb the shared one.
 */
class LagRoutingIT {
    private static LocalCluster cluster;
    private static TestProxy proxy;
    private static PgServer slow;
    private static PgServer fast;

    @BeforeAll
    static void start() throws Exception {
        cluster = LocalCluster.builder().start();
        fast = cluster.standbys().get(0);
        slow = cluster.standbys().get(1);
        cluster.execute(slow, "postgres", "ALTER SYSTEM SET recovery_min_apply_delay = '3s'");
        cluster.execute(slow, "postgres", "SELECT pg_reload_conf()");
        try (Connection c = cluster.connect(cluster.primary(), "app", "app", "app");
             Statement st = c.createStatement()) {
            st.execute("CREATE TABLE lag_notes (id serial PRIMARY KEY, note text)");
        }
        String pools = "\n[pools.lag]\npool_mode = \"transaction\"\nprimary_reads_enabled = false\n"
                + "load_balancing_mode = \"round_robin\"\nmax_replica_lag_bytes = 65536\n"
                + "[pools.lag.users.0]\nusername = \"app\"\npassword = \"app\"\npool_size = 3\n"
                + "[pools.lag.shards.0]\ndatabase = \"app\"\nservers = " + TestProxy.servers(cluster) + "\n"
                + "\n[pools.lsn]\npool_mode = \"transaction\"\nprimary_reads_enabled = false\n"
                + "read_your_writes = \"lsn\"\n"
                + "[pools.lsn.users.0]\nusername = \"app\"\npassword = \"app\"\npool_size = 3\n"
                + "[pools.lsn.shards.0]\ndatabase = \"app\"\nservers = " + TestProxy.servers(cluster) + "\n";
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 3, "healthcheck_interval = 300", "") + pools);
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        LeakTracker.assertNoLeaks();
    }

    private static int port(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT pg_catalog.inet_server_port()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void aLaggingStandbyGetsNoReadsUntilItCatchesUp() throws Exception {
        try (Connection c = proxy.connect("lag", "app", "app", new Properties()); Statement st = c.createStatement()) {
            // About 10 MB of WAL the slow standby will not apply for 3 s.
            cluster.execute(cluster.primary(), "app", "INSERT INTO lag_notes (note) "
                    + "SELECT repeat('x', 100) FROM generate_series(1, 50000)");
            Thread.sleep(1200); // the next probes see the lag
            Set<Integer> ports = new HashSet<>();
            for (int i = 0; i < 10; i++) {
                ports.add(port(st));
            }
            assertThat(ports).containsExactly(fast.port());
            // Caught up, it takes reads again.
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                Set<Integer> later = new HashSet<>();
                for (int i = 0; i < 6; i++) {
                    later.add(port(st));
                }
                assertThat(later).contains(slow.port());
            });
        }
    }

    @Test
    void readYourWritesByLsnSeesEveryWriteWhileAStandbyLags() throws Exception {
        try (Connection c = proxy.connect("lsn", "app", "app", new Properties()); Statement st = c.createStatement()) {
            for (int i = 0; i < 10; i++) {
                int id;
                try (ResultSet rs = st.executeQuery("INSERT INTO lag_notes (note) VALUES ('mine " + i
                        + "') RETURNING id")) {
                    rs.next();
                    id = rs.getInt(1);
                }
                try (ResultSet rs = st.executeQuery("SELECT note FROM lag_notes WHERE id = " + id)) {
                    assertThat(rs.next()).as("the client reads its own write " + i).isTrue();
                    assertThat(rs.getString(1)).isEqualTo("mine " + i);
                }
            }
            // Once every standby has replayed the writes, reads go to standbys again.
            await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
                    assertThat(Set.of(fast.port(), slow.port())).contains(port(st)));
        }
    }
}
