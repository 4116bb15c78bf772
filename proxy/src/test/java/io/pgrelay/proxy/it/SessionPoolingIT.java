package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.proxy.pool.Pool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Session pooling against the real three-server cluster, through the JDBC driver and psql. */
class SessionPoolingIT {
    private static LocalCluster cluster;
    private static TestProxy proxy;

    @BeforeAll
    static void start() {
        cluster = SharedCluster.get();
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 10, "", ""));
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    @Test
    void jdbcRunsDdlDmlAndSelectsThroughPgrelay() throws SQLException {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS skeleton_items");
            st.execute("CREATE TABLE skeleton_items (id int PRIMARY KEY, name text NOT NULL)");
            assertThat(st.executeUpdate("INSERT INTO skeleton_items VALUES (1, 'one'), (2, 'two'), (3, 'three')"))
                    .isEqualTo(3);
            assertThat(st.executeUpdate("UPDATE skeleton_items SET name = upper(name) WHERE id >= 2")).isEqualTo(2);
            assertThat(st.executeUpdate("DELETE FROM skeleton_items WHERE id = 1")).isEqualTo(1);
            try (ResultSet rs = st.executeQuery("SELECT id, name FROM skeleton_items ORDER BY id")) {
                List<String> rows = new ArrayList<>();
                while (rs.next()) {
                    rows.add(rs.getInt(1) + ":" + rs.getString(2));
                }
                assertThat(rows).containsExactly("2:TWO", "3:THREE");
            }
            // Prepared statements and a transaction in session mode.
            c.setAutoCommit(false);
            try (var ps = c.prepareStatement("INSERT INTO skeleton_items VALUES (?, ?)")) {
                for (int i = 10; i < 20; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "n" + i);
                    ps.addBatch();
                }
                assertThat(ps.executeBatch()).hasSize(10);
            }
            c.rollback();
            c.setAutoCommit(true);
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM skeleton_items")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(2);
            }
            // It really is the primary behind the pool.
            try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery(), current_user, current_database()")) {
                rs.next();
                assertThat(rs.getBoolean(1)).isFalse();
                assertThat(rs.getString(2)).isEqualTo("app");
                assertThat(rs.getString(3)).isEqualTo("app");
            }
        }
    }

    @Test
    void psqlWithDefaultSslmodeAndGssencmodeConnects() throws Exception {
        Psql.Result r = Psql.run(proxy.psqlUrl("app", "app", "app"), Map.of(),
                "select 1", "create temp table t(x int)", "insert into t values (41)",
                "select x + 1 from t");
        assertThat(r.stderr()).isEmpty();
        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout().lines().toList()).containsExactly("1", "CREATE TABLE", "INSERT 0 1", "42");
    }

    @Test
    void psqlErrorsComeBackWithTheServersMessage() throws Exception {
        Psql.Result r = Psql.run(proxy.psqlUrl("app", "app", "app"), Map.of(), "select * from no_such_table");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.stderr()).contains("relation \"no_such_table\" does not exist");
    }

    @Test
    void clientSettingsFromTheStartupPacketApplyAndDoNotLeakToTheNextClient() throws Exception {
        Properties props = new Properties();
        props.setProperty("ApplicationName", "settings-test");
        props.setProperty("options", "-c search_path=pg_catalog,public -c statement_timeout=1234");
        try (Connection c = proxy.connect("app", "app", "app", props); Statement st = c.createStatement()) {
            assertThat(show(st, "application_name")).isEqualTo("settings-test");
            // Raw text, as PostgreSQL itself shows a search_path given in the startup packet.
            assertThat(show(st, "search_path")).isEqualTo("pg_catalog,public");
            assertThat(show(st, "statement_timeout")).isEqualTo("1234ms");
            st.execute("SET work_mem = '7MB'");
        }
        // The next client may get the same server connection: it must not see the previous client's settings.
        for (int i = 0; i < 3; i++) {
            try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
                assertThat(show(st, "statement_timeout")).isEqualTo("0");
                assertThat(show(st, "work_mem")).isEqualTo("4MB");
                assertThat(show(st, "search_path")).isEqualTo("\"$user\", public");
            }
        }
        Psql.Result r = Psql.run(proxy.psqlUrl("app", "app", "app"),
                Map.of("PGOPTIONS", "-c lock_timeout=5s", "PGAPPNAME", "psql-test"),
                "show lock_timeout", "show application_name");
        assertThat(r.stderr()).isEmpty();
        assertThat(r.stdout().lines().toList()).containsExactly("5s", "psql-test");
    }

    @Test
    void fiftyConcurrentClientsShareAPoolOfTen() throws Exception {
        int clients = 50;
        AtomicInteger maxServers = new AtomicInteger();
        java.util.Set<Integer> backends = java.util.concurrent.ConcurrentHashMap.newKeySet();
        Pool pool = proxy.server().pool("app", "app");
        ExecutorService exec = Executors.newFixedThreadPool(clients);
        try {
            List<Callable<Integer>> tasks = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int n = i;
                tasks.add(() -> {
                    int sum = 0;
                    for (int round = 0; round < 3; round++) {
                        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
                            try (ResultSet rs = st.executeQuery("SELECT " + n + " + " + round
                                    + ", pg_backend_pid(), pg_sleep(0.01)")) {
                                rs.next();
                                sum += rs.getInt(1);
                                backends.add(rs.getInt(2));
                            }
                            Pool.PoolStats s = pool.stats();
                            maxServers.accumulateAndGet(s.active() + s.idle() + s.opening(), Math::max);
                        }
                    }
                    return sum;
                });
            }
            List<Future<Integer>> results = exec.invokeAll(tasks, 120, TimeUnit.SECONDS);
            for (int i = 0; i < clients; i++) {
                assertThat(results.get(i).get()).isEqualTo(3 * i + 3);
            }
        } finally {
            exec.shutdownNow();
        }
        assertThat(maxServers.get()).isBetween(1, 10);
        // The 50 clients were served by at most pool_size server connections (backends) between them.
        assertThat(backends).hasSizeBetween(1, 10);
    }

    @Test
    void cancelOfALongQueryReturnsWithinASecond() throws Exception {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            ExecutorService exec = Executors.newSingleThreadExecutor();
            try {
                long[] cancelledAt = new long[1];
                Future<?> canceller = exec.submit(() -> {
                    Thread.sleep(500);
                    cancelledAt[0] = System.nanoTime();
                    st.cancel();
                    return null;
                });
                SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                        () -> st.execute("SELECT pg_sleep(10)"));
                long returnedAt = System.nanoTime();
                canceller.get();
                assertThat(e.getSQLState()).isEqualTo("57014");
                assertThat(Duration.ofNanos(returnedAt - cancelledAt[0])).isLessThan(Duration.ofSeconds(1));
            } finally {
                exec.shutdownNow();
            }
            // The session goes on after the cancel.
            try (ResultSet rs = st.executeQuery("SELECT 7")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(7);
            }
        }
    }

    @Test
    void idleSessionsConnectionsGoBackToThePool() throws Exception {
        Pool pool = proxy.server().pool("app", "app");
        try (Connection c = proxy.connect("app", "app")) {
            c.createStatement().execute("SELECT 1");
        }
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(pool.stats().active()).isZero());
        assertThat(pool.stats().idle()).isPositive();
    }

    @Test
    void listenNotifyWorksInSessionMode() throws Exception {
        try (Connection listener = proxy.connect("app", "app"); Connection sender = proxy.connect("app", "app");
             Statement ls = listener.createStatement(); Statement ss = sender.createStatement()) {
            ls.execute("LISTEN pgrelay_events");
            ss.execute("NOTIFY pgrelay_events, 'hello'");
            org.postgresql.PGNotification[] got = listener.unwrap(org.postgresql.PGConnection.class)
                    .getNotifications(5000);
            assertThat(got).hasSize(1);
            assertThat(got[0].getName()).isEqualTo("pgrelay_events");
            assertThat(got[0].getParameter()).isEqualTo("hello");
        }
    }

    private static String show(Statement st, String name) throws SQLException {
        try (ResultSet rs = st.executeQuery("SHOW " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
