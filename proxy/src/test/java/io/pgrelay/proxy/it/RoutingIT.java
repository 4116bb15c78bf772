package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Properties;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Read/write routing over the real primary and two standbys: where each statement ran, by its server's port. */
class RoutingIT {
    private static LocalCluster cluster;
    private static TestProxy proxy;
    private static int primaryPort;
    private static Set<Integer> standbyPorts;

    @BeforeAll
    static void start() throws Exception {
        cluster = SharedCluster.get();
        primaryPort = cluster.primary().port();
        standbyPorts = new HashSet<>();
        for (PgServer s : cluster.standbys()) {
            standbyPorts.add(s.port());
        }
        String config = TestProxy.sessionConfig(cluster, 5, "", "")
                .replace("pool_mode = \"session\"", "pool_mode = \"transaction\"\nprimary_reads_enabled = false\n"
                        + "load_balancing_mode = \"round_robin\"")
                + "\n[pools.ryw]\npool_mode = \"transaction\"\nprimary_reads_enabled = false\n"
                + "read_your_writes = \"window\"\nread_your_writes_window_ms = 60000\n"
                + "[pools.ryw.users.0]\nusername = \"app\"\npassword = \"app\"\npool_size = 3\n"
                + "[pools.ryw.shards.0]\ndatabase = \"app\"\nservers = " + TestProxy.servers(cluster) + "\n"
                + "\n[pools.fn]\npool_mode = \"transaction\"\nprimary_reads_enabled = false\n"
                + "write_functions = [\"^app_double$\"]\nread_only_functions = [\"^app_touch$\"]\n"
                + "[pools.fn.users.0]\nusername = \"app\"\npassword = \"app\"\npool_size = 3\n"
                + "[pools.fn.shards.0]\ndatabase = \"app\"\nservers = " + TestProxy.servers(cluster) + "\n"
                + weightedPool("weighted", 3, 1) + weightedPool("noreads", 1, 0);
        proxy = TestProxy.start(config);
        try (Connection c = cluster.connect(cluster.primary(), "app", "app", "app");
             Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS routed");
            st.execute("CREATE TABLE routed (id serial PRIMARY KEY, note text)");
            st.execute("CREATE OR REPLACE FUNCTION app_double(int) RETURNS int IMMUTABLE LANGUAGE sql "
                    + "AS 'SELECT $1 * 2'");
            st.execute("CREATE OR REPLACE FUNCTION app_touch(int) RETURNS int VOLATILE LANGUAGE sql "
                    + "AS 'SELECT $1'");
        }
        cluster.awaitReplay(Duration.ofSeconds(10));
    }

    /** A round-robin pool whose two standbys have the given read weights. */
    private static String weightedPool(String name, int w1, int w2) {
        return "\n[pools." + name + "]\npool_mode = \"transaction\"\nprimary_reads_enabled = false\n"
                + "load_balancing_mode = \"round_robin\"\n"
                + "[pools." + name + ".users.0]\nusername = \"app\"\npassword = \"app\"\npool_size = 3\n"
                + "[pools." + name + ".shards.0]\ndatabase = \"app\"\nservers = [[\"127.0.0.1\", "
                + cluster.primary().port() + ", \"primary\"], [\"127.0.0.1\", " + cluster.standbys().get(0).port()
                + ", \"replica\", " + w1 + "], [\"127.0.0.1\", " + cluster.standbys().get(1).port()
                + ", \"replica\", " + w2 + "]]\n";
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    private static int port(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static final String WHERE = "SELECT pg_catalog.inet_server_port()";

    @Test
    void readsSpreadOverBothStandbys() throws SQLException {
        Set<Integer> seen = new HashSet<>();
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            for (int i = 0; i < 20; i++) {
                seen.add(port(st, WHERE));
            }
        }
        assertThat(seen).isEqualTo(standbyPorts);
    }

    @Test
    void decisionsAreCountedForShowRoutes() throws SQLException {
        io.pgrelay.proxy.metrics.RouteStats routes = proxy.server().admin().metrics().routes();
        long replicaBefore = routed(routes, "replica", false);
        long hintedBefore = routed(routes, "primary", true);
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            for (int i = 0; i < 3; i++) {
                port(st, WHERE);
            }
            port(st, "/* pgrelay: primary */ " + WHERE);
        }
        assertThat(routed(routes, "replica", false) - replicaBefore).isGreaterThanOrEqualTo(3);
        assertThat(routed(routes, "primary", true) - hintedBefore).isEqualTo(1);
    }

    private static long routed(io.pgrelay.proxy.metrics.RouteStats routes, String role, boolean byHint) {
        return routes.rows().stream().filter(r -> r.database().equals("app") && r.role().equals(role))
                .mapToLong(r -> byHint ? r.forcedByHint() : r.routed()).sum();
    }

    @Test
    void userFunctionsAreRoutedByTheirVolatilityInPgProc() throws Exception {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            // Unknown at first: the primary, while pg_proc is asked; then IMMUTABLE reaches the standbys.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(standbyPorts).contains(port(st, "SELECT pg_catalog.inet_server_port() "
                            + "WHERE app_double(1) = 2")));
            Thread.sleep(300); // time enough for a lookup of app_touch too
            for (int i = 0; i < 5; i++) {
                assertThat(port(st, "SELECT pg_catalog.inet_server_port() WHERE app_touch(1) = 1"))
                        .as("a VOLATILE function may write").isEqualTo(primaryPort);
            }
        }
        // The pool's lists win over pg_proc.
        try (Connection c = proxy.connect("fn", "app", "app", new Properties()); Statement st = c.createStatement()) {
            for (int i = 0; i < 3; i++) {
                assertThat(port(st, "SELECT pg_catalog.inet_server_port() WHERE app_double(1) = 2"))
                        .as("listed in write_functions").isEqualTo(primaryPort);
                assertThat(standbyPorts).as("listed in read_only_functions")
                        .contains(port(st, "SELECT pg_catalog.inet_server_port() WHERE app_touch(1) = 1"));
            }
        }
    }

    /**
     * A named statement is classified once, not at every Bind, so this checks that the kept verdict neither freezes
     * "unknown function, primary" before pg_proc has answered nor outlives what the pool forgets at a RELOAD.
     */
    @Test
    void preparedStatementsFollowWhatThePoolLearnsAndForgetsOfTheirFunctions() throws Exception {
        try (Connection c = cluster.connect(cluster.primary(), "app", "app", "app");
             Statement st = c.createStatement()) {
            st.execute("CREATE OR REPLACE FUNCTION app_triple(int) RETURNS int IMMUTABLE LANGUAGE sql "
                    + "AS 'SELECT $1 * 3'");
        }
        cluster.awaitReplay(Duration.ofSeconds(10));
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "1"); // a named statement from the first execution on
        try (Connection c = proxy.connect("app", "app", "app", p);
             PreparedStatement ps = c.prepareStatement(WHERE + " WHERE app_triple(?) = 3")) {
            ps.setInt(1, 1);
            assertThat(port(ps)).as("unknown until pg_proc answers").isEqualTo(primaryPort);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThat(standbyPorts).as("IMMUTABLE, once learnt").contains(port(ps)));

            try (Connection direct = cluster.connect(cluster.primary(), "app", "app", "app");
                 Statement st = direct.createStatement()) {
                st.execute("ALTER FUNCTION app_triple(int) VOLATILE");
            }
            // What a RELOAD with unchanged pools does: pg_proc is asked anew, verdicts given so far are dropped.
            io.pgrelay.proxy.route.PoolGroup group = proxy.server().group("app", "app");
            group.catalog().clear();
            group.classifier().clearCache();
            for (int i = 0; i < 5; i++) {
                assertThat(port(ps)).as("VOLATILE now: execution %d", i).isEqualTo(primaryPort);
            }
        }
    }

    private static int port(PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void readsFollowTheServersWeights() throws SQLException {
        int s1 = cluster.standbys().get(0).port();
        int s2 = cluster.standbys().get(1).port();
        java.util.Map<Integer, Integer> counts = new java.util.HashMap<>();
        try (Connection c = proxy.connect("weighted", "app", "app", new Properties());
             Statement st = c.createStatement()) {
            for (int i = 0; i < 40; i++) {
                counts.merge(port(st, WHERE), 1, Integer::sum);
            }
        }
        assertThat(counts).containsOnlyKeys(s1, s2);
        assertThat(counts.get(s1)).isEqualTo(30); // weights 3 : 1, round robin
        assertThat(counts.get(s2)).isEqualTo(10);
        try (Connection c = proxy.connect("noreads", "app", "app", new Properties());
             Statement st = c.createStatement()) {
            for (int i = 0; i < 10; i++) {
                assertThat(port(st, WHERE)).as("weight 0: no reads").isEqualTo(s1);
            }
        }
    }

    @Test
    void preparedReadsGoToStandbysToo() throws SQLException {
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "1");
        Set<Integer> seen = new HashSet<>();
        try (Connection c = proxy.connect("app", "app", "app", p); PreparedStatement ps = c.prepareStatement(WHERE
                + " WHERE ?::int > 0")) {
            for (int i = 1; i <= 20; i++) {
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    seen.add(rs.getInt(1));
                }
            }
        }
        assertThat(seen).isEqualTo(standbyPorts);
    }

    @Test
    void writesLandOnThePrimary() throws SQLException {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            assertThat(port(st, "INSERT INTO routed (note) VALUES ('w') RETURNING pg_catalog.inet_server_port()"))
                    .isEqualTo(primaryPort);
            assertThat(port(st, "WITH w AS (INSERT INTO routed (note) VALUES ('cte') RETURNING id) "
                    + "SELECT pg_catalog.inet_server_port() FROM w")).isEqualTo(primaryPort);
            assertThat(port(st, "SELECT pg_catalog.inet_server_port() FROM (SELECT nextval('routed_id_seq')) s"))
                    .isEqualTo(primaryPort);
            assertThat(port(st, WHERE + " FROM routed LIMIT 1 FOR UPDATE")).isEqualTo(primaryPort);
        }
    }

    @Test
    void transactionsStayOnOneServer() throws SQLException {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            int first = port(st, WHERE);
            assertThat(first).isEqualTo(primaryPort);
            for (int i = 0; i < 5; i++) {
                assertThat(port(st, WHERE)).isEqualTo(first);
            }
            st.execute("COMMIT");
            st.execute("BEGIN READ ONLY");
            int readOnly = port(st, WHERE);
            assertThat(standbyPorts).contains(readOnly);
            assertThat(port(st, "SELECT count(*) * 0 + pg_catalog.inet_server_port() FROM routed"))
                    .isEqualTo(readOnly);
            st.execute("COMMIT");
        }
    }

    @Test
    void beginThenSetTransactionReadOnlyRunsOnAStandby() throws Exception {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            st.execute("BEGIN");
            st.execute("SET TRANSACTION READ ONLY");
            int where = port(st, WHERE);
            assertThat(standbyPorts).contains(where);
            try (ResultSet rs = st.executeQuery("SHOW transaction_read_only")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("on");
            }
            assertThat(port(st, WHERE)).isEqualTo(where); // the transaction stays there
            st.execute("COMMIT");
            st.execute("BEGIN");
            st.execute("COMMIT"); // an empty transaction is fine too
        }
        // A session whose transactions are read-only by default: a plain BEGIN may go to a standby too.
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            st.execute("SET default_transaction_read_only = on");
            st.execute("BEGIN");
            assertThat(standbyPorts).contains(port(st, WHERE));
            st.execute("COMMIT");
            st.execute("SET default_transaction_read_only = off");
            st.execute("BEGIN");
            assertThat(port(st, WHERE)).isEqualTo(primaryPort);
            st.execute("COMMIT");
        }
        // The same with psql's simple protocol, one statement per message.
        Psql.Result r = Psql.run(proxy.psqlUrl("app", "app", "app"), java.util.Map.of(), "BEGIN",
                "SET TRANSACTION READ ONLY", "SELECT pg_catalog.inet_server_port()", "COMMIT");
        assertThat(r.stderr()).isEmpty();
        assertThat(r.stdout().lines().toList()).hasSize(4);
        assertThat(standbyPorts).contains(Integer.parseInt(r.stdout().lines().toList().get(2)));
    }

    @Test
    void hintsForceTheRole() throws SQLException {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            assertThat(port(st, "/* pgrelay: primary */ " + WHERE)).isEqualTo(primaryPort);
            st.execute("SET pgrelay.role = primary");
            try (ResultSet rs = st.executeQuery("SHOW pgrelay.role")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("primary");
            }
            for (int i = 0; i < 5; i++) {
                assertThat(port(st, WHERE)).isEqualTo(primaryPort);
            }
            st.execute("SET pgrelay.role = auto");
            assertThat(standbyPorts).contains(port(st, WHERE));
            st.execute("SET SERVER ROLE TO 'primary'"); // pgcat's form
            assertThat(port(st, WHERE)).isEqualTo(primaryPort);
            st.execute("SET SERVER ROLE TO 'auto'");
            assertThat(standbyPorts).contains(port(st, WHERE));
        }
    }

    /**
     * Inside a transaction pgrelay looks at a statement only to catch its own commands (the rest it does not
     * classify): a hint set there is pgrelay's, not the server's, and steers the reads after COMMIT.
     */
    @Test
    void hintsSetInsideATransactionAreAnsweredByPgrelay() throws Exception {
        Psql.Result r = Psql.run(proxy.psqlUrl("app", "app", "app"), java.util.Map.of(),
                "BEGIN", "UPDATE routed SET note = note WHERE id < 0", "SET pgrelay.role = primary",
                "SHOW pgrelay.role", "SELECT 1", "COMMIT", WHERE, WHERE,
                "BEGIN", "INSERT INTO routed (note) SELECT 'x' WHERE false", " ;  RESET pgrelay.role", "COMMIT",
                WHERE, WHERE);
        assertThat(r.stderr()).isEmpty();
        java.util.List<String> out = r.stdout().lines().toList();
        String primary = String.valueOf(primaryPort);
        assertThat(out).hasSize(14);
        assertThat(out.subList(0, 12)).as("psql's output, the tags PostgreSQL gives included").containsExactly(
                "BEGIN", "UPDATE 0", "SET", "primary", "1", "COMMIT", primary, primary,
                "BEGIN", "INSERT 0 0", "RESET", "COMMIT");
        assertThat(out.subList(12, 14)).as("reads after RESET pgrelay.role")
                .allSatisfy(p -> assertThat(standbyPorts).contains(Integer.parseInt(p)));
    }

    @Test
    void readYourWritesWindowSendsReadsAfterAWriteToThePrimary() throws Exception {
        try (Connection c = proxy.connect("ryw", "app", "app", new Properties()); Statement st = c.createStatement()) {
            assertThat(standbyPorts).contains(port(st, WHERE)); // no write yet
            int id = port(st, "INSERT INTO routed (note) VALUES ('ryw') RETURNING id");
            try (ResultSet rs = st.executeQuery("SELECT note, pg_catalog.inet_server_port() FROM routed WHERE id = "
                    + id)) {
                assertThat(rs.next()).isTrue(); // read right after the write sees it
                assertThat(rs.getString(1)).isEqualTo("ryw");
                assertThat(rs.getInt(2)).isEqualTo(primaryPort);
            }
        }
        // Another client has no window of its own: its reads go to the standbys, which catch up.
        try (Connection c = proxy.connect("ryw", "app", "app", new Properties()); Statement st = c.createStatement()) {
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThat(standbyPorts).contains(port(st, WHERE)));
        }
    }

    @Test
    void aSetAloneStartsNoReadYourWritesWindowButAWriteBehindASetInTheSameQueryDoes() throws Exception {
        // psql sends each -c as one Query message: the third is two statements in one.
        Psql.Result r = Psql.run(proxy.psqlUrl("app", "app", "ryw"), java.util.Map.of(),
                "SET application_name = 'ryw-set'", WHERE,
                "SET application_name = 'ryw-batch'; INSERT INTO routed (note) VALUES ('behind a set')", WHERE);
        assertThat(r.stderr()).isEmpty();
        java.util.List<String> out = r.stdout().lines().toList();
        assertThat(out.get(0)).isEqualTo("SET");
        assertThat(standbyPorts).as("the read after a SET alone").contains(Integer.parseInt(out.get(1)));
        assertThat(out).contains("INSERT 0 1");
        assertThat(out.get(out.size() - 1)).as("the read after the INSERT behind a SET")
                .isEqualTo(String.valueOf(primaryPort));
    }
}
