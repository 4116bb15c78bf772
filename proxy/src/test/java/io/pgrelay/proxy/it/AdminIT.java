package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The admin console through psql and JDBC: logins, every SHOW's columns, numbers that move, commands. */
class AdminIT {
    private static LocalCluster cluster;
    private static TestProxy proxy;

    /** PgBouncer 1.25's columns, in order (shared/peers.md), and pgrelay's own views. */
    static final Map<String, List<String>> COLUMNS = new HashMap<>();

    static {
        COLUMNS.put("POOLS", List.of("database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req",
                "cl_waiting_cancel_req", "sv_active", "sv_active_cancel", "sv_being_canceled", "sv_idle", "sv_used",
                "sv_tested", "sv_login", "maxwait", "maxwait_us", "pool_mode", "load_balance_hosts"));
        COLUMNS.put("STATS", List.of("database", "total_server_assignment_count", "total_xact_count",
                "total_query_count", "total_received", "total_sent", "total_xact_time", "total_query_time",
                "total_wait_time", "total_client_parse_count", "total_server_parse_count", "total_bind_count",
                "avg_server_assignment_count", "avg_xact_count", "avg_query_count", "avg_recv", "avg_sent",
                "avg_xact_time", "avg_query_time", "avg_wait_time", "avg_client_parse_count",
                "avg_server_parse_count", "avg_bind_count"));
        List<String> totals = List.of("database", "server_assignment_count", "xact_count", "query_count",
                "bytes_received", "bytes_sent", "xact_time", "query_time", "wait_time", "client_parse_count",
                "server_parse_count", "bind_count");
        COLUMNS.put("STATS_TOTALS", totals);
        COLUMNS.put("STATS_AVERAGES", totals);
        List<String> conns = List.of("type", "user", "database", "replication", "state", "addr", "port",
                "local_addr", "local_port", "connect_time", "request_time", "wait", "wait_us", "close_needed", "ptr",
                "link", "remote_pid", "tls", "application_name", "prepared_statements", "id");
        COLUMNS.put("CLIENTS", conns);
        COLUMNS.put("SERVERS", conns);
        COLUMNS.put("DATABASES", List.of("name", "host", "port", "database", "force_user", "pool_size",
                "min_pool_size", "reserve_pool_size", "server_lifetime", "pool_mode", "load_balance_hosts",
                "max_connections", "current_connections", "max_client_connections", "current_client_connections",
                "paused", "disabled"));
        COLUMNS.put("USERS", List.of("name", "pool_size", "reserve_pool_size", "pool_mode", "max_user_connections",
                "current_connections", "max_user_client_connections", "current_client_connections"));
        COLUMNS.put("CONFIG", List.of("key", "value", "default", "changeable"));
        COLUMNS.put("LISTS", List.of("list", "items"));
        COLUMNS.put("VERSION", List.of("version"));
        COLUMNS.put("STATE", List.of("key", "value"));
        COLUMNS.put("TOTALS", List.of("name", "value"));
        COLUMNS.put("HOSTS", List.of("database", "host", "port", "role", "state", "last_probe", "probe_latency_us",
                "replication_lag_bytes", "replication_lag_ms", "bans", "failovers"));
        COLUMNS.put("ROUTES", List.of("database", "role", "routed", "forced_by_hint", "read_your_writes"));
        COLUMNS.put("PREPARED", List.of("type", "id", "user", "database", "addr", "port", "statements"));
    }

    @BeforeAll
    static void start() {
        cluster = SharedCluster.get();
        proxy = TestProxy.start(config(cluster, 3, ""));
    }

    static String config(LocalCluster cluster, int poolSize, String extraGeneral) {
        return "[general]\n"
                + "host = \"127.0.0.1\"\n"
                + "port = %PORT%\n"
                + "connect_timeout = 3000\n"
                + "admin_username = \"admin\"\n"
                + "admin_password = \"adminpw\"\n"
                + "stats_users = [\"watcher\"]\n"
                + extraGeneral + "\n"
                + "[pools.app]\n"
                + "pool_mode = \"transaction\"\n"
                + "[pools.app.users.0]\n"
                + "username = \"app\"\n"
                + "password = \"app\"\n"
                + "pool_size = " + poolSize + "\n"
                + "[pools.app.users.1]\n"
                + "username = \"watcher\"\n"
                + "password = \"watchpw\"\n"
                + "server_username = \"app\"\n"
                + "server_password = \"app\"\n"
                + "pool_size = 1\n"
                + "[pools.app.shards.0]\n"
                + "database = \"app\"\n"
                + "servers = " + TestProxy.servers(cluster) + "\n";
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    static Connection admin(TestProxy proxy, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("preferQueryMode", "simple");
        return proxy.connect("pgbouncer", user, password, p);
    }

    /** Rows as column name -> text value. */
    static List<Map<String, String>> query(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            List<Map<String, String>> rows = new ArrayList<>();
            while (rs.next()) {
                Map<String, String> row = new java.util.LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    row.put(md.getColumnName(i), rs.getString(i));
                }
                rows.add(row);
            }
            return rows;
        }
    }

    static List<String> columns(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            List<String> names = new ArrayList<>();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                names.add(md.getColumnName(i));
            }
            return names;
        }
    }

    static Map<String, String> row(List<Map<String, String>> rows, String column, String value) {
        return rows.stream().filter(r -> value.equals(r.get(column))).findFirst()
                .orElseThrow(() -> new AssertionError("no row with " + column + " = " + value + " in " + rows));
    }

    static void execute(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    @Test
    void everyShowHasPgBouncersColumnsInOrder() throws Exception {
        try (Connection app = proxy.connect("app", "app"); Connection c = admin(proxy, "admin", "adminpw")) {
            execute(app, "select 1"); // a client and a server connection to list
            for (Map.Entry<String, List<String>> e : COLUMNS.entrySet()) {
                List<String> got = columns(c, "SHOW " + e.getKey());
                assertThat(got.subList(0, Math.min(got.size(), e.getValue().size())))
                        .as("SHOW %s", e.getKey()).containsExactlyElementsOf(e.getValue());
            }
            assertThat(row(query(c, "SHOW POOLS"), "user", "app")).containsEntry("database", "app")
                    .containsEntry("pool_mode", "transaction").containsEntry("cl_active", "1");
            assertThat(row(query(c, "SHOW CLIENTS"), "user", "app")).containsEntry("database", "app")
                    .containsEntry("state", "active");
            assertThat(row(query(c, "SHOW SERVERS"), "user", "app")).containsEntry("state", "idle");
            assertThat(row(query(c, "SHOW DATABASES"), "name", "app")).containsEntry("pool_size", "3");
            assertThat(row(query(c, "SHOW CONFIG"), "key", "admin_password")).containsEntry("value", "********");
            assertThat(query(c, "SHOW VERSION").get(0).get("version")).startsWith("PgBouncer 1.25");
            assertThat(row(query(c, "SHOW HOSTS"), "port", Integer.toString(cluster.primary().port())))
                    .containsEntry("role", "primary").containsEntry("state", "up").containsEntry("failovers", "0");
            assertThat(query(c, "SHOW ROUTES")).extracting(r -> r.get("role")).contains("primary", "replica");
        }
    }

    @Test
    void showStatsCountsWhatWasSent() throws Exception {
        try (Connection app = proxy.connect("app", "app"); Connection c = admin(proxy, "admin", "adminpw")) {
            Map<String, String> before = row(query(c, "SHOW STATS"), "database", "app");
            for (int i = 0; i < 7; i++) {
                execute(app, "select " + i);
            }
            app.setAutoCommit(false);
            execute(app, "select 1");
            execute(app, "select 2");
            app.commit();
            Map<String, String> after = row(query(c, "SHOW STATS"), "database", "app");
            assertThat(delta(before, after, "total_xact_count")).isEqualTo(8);
            assertThat(delta(before, after, "total_query_count")).isGreaterThanOrEqualTo(10);
            assertThat(delta(before, after, "total_received")).isPositive();
            assertThat(delta(before, after, "total_sent")).isPositive();
            assertThat(delta(before, after, "total_xact_time")).isPositive();
            assertThat(delta(before, after, "total_server_assignment_count")).isGreaterThanOrEqualTo(8);
            Map<String, String> totals = row(query(c, "SHOW STATS_TOTALS"), "database", "app");
            assertThat(Long.parseLong(totals.get("xact_count")))
                    .isGreaterThanOrEqualTo(Long.parseLong(after.get("total_xact_count")));
        }
    }

    private static long delta(Map<String, String> before, Map<String, String> after, String column) {
        return Long.parseLong(after.get(column)) - Long.parseLong(before.get(column));
    }

    @Test
    void psqlShowsPools() throws Exception {
        Psql.Result r = Psql.run(proxy.psqlUrl("admin", "adminpw", "pgbouncer"), Map.of(), "SHOW POOLS");
        assertThat(r.stderr()).isEmpty();
        assertThat(r.stdout()).contains("app|app|");
        r = Psql.run(proxy.psqlUrl("admin", "adminpw", "pgrelay"), Map.of(), "SHOW STATE; SHOW LISTS");
        assertThat(r.stdout()).contains("active|yes").contains("databases|1");
        r = Psql.run(proxy.psqlUrl("admin", "adminpw", "pgbouncer"), Map.of(), "SHOW NONSENSE");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.stderr()).contains("invalid admin console command").contains("SHOW POOLS|STATS");
    }

    @Test
    void onlyAdminAndStatsUsersGetIn() throws Exception {
        assertThatThrownBy(() -> admin(proxy, "app", "app")).isInstanceOf(SQLException.class)
                .hasFieldOrPropertyWithValue("SQLState", "28000");
        assertThatThrownBy(() -> admin(proxy, "admin", "wrong")).isInstanceOf(SQLException.class)
                .hasFieldOrPropertyWithValue("SQLState", "28P01");
        try (Connection c = admin(proxy, "watcher", "watchpw")) {
            assertThat(query(c, "SHOW POOLS")).isNotEmpty();
            assertThatThrownBy(() -> execute(c, "PAUSE")).isInstanceOf(SQLException.class)
                    .hasFieldOrPropertyWithValue("SQLState", "42501");
            assertThatThrownBy(() -> execute(c, "RELOAD")).isInstanceOf(SQLException.class)
                    .hasFieldOrPropertyWithValue("SQLState", "42501");
        }
    }

    @Test
    void pauseHoldsNewQueriesAndResumeLetsThemThrough() throws Exception {
        try (Connection app = proxy.connect("app", "app"); Connection c = admin(proxy, "admin", "adminpw")) {
            execute(app, "select 1");
            execute(c, "PAUSE app");
            assertThat(row(query(c, "SHOW DATABASES"), "name", "app")).containsEntry("paused", "1");
            CompletableFuture<Integer> q = CompletableFuture.supplyAsync(() -> {
                try (Statement st = app.createStatement(); ResultSet rs = st.executeQuery("select 42")) {
                    rs.next();
                    return rs.getInt(1);
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(500);
            assertThat(q).isNotDone();
            assertThat(row(query(c, "SHOW POOLS"), "user", "app")).containsEntry("cl_waiting", "1");
            execute(c, "RESUME app");
            assertThat(q.get(10, TimeUnit.SECONDS)).isEqualTo(42);
            assertThat(row(query(c, "SHOW DATABASES"), "name", "app")).containsEntry("paused", "0");
        }
    }

    @Test
    void aClientThatLeavesWhileWaitingLeavesThePoolsQueue() throws Exception {
        io.pgrelay.proxy.pool.Pool pool = proxy.server().pool("app", "app");
        try (Connection c = admin(proxy, "admin", "adminpw")) {
            Connection app = proxy.connect("app", "app");
            execute(app, "select 1");
            execute(c, "PAUSE app");
            try {
                CompletableFuture<Void> q = CompletableFuture.runAsync(() -> {
                    try (Statement st = app.createStatement()) {
                        st.execute("/* pgrelay: primary */ select 42");
                    } catch (SQLException e) {
                        // the connection is closed under it
                    }
                });
                await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 1);
                app.abort(Runnable::run); // the driver closes its socket: no Terminate, the client just goes
                await().atMost(Duration.ofSeconds(5)).until(q::isDone);
                await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().waiting() == 0);
            } finally {
                execute(c, "RESUME app");
            }
        }
    }

    @Test
    void killClientEndsThatClientOnly() throws Exception {
        Properties a = new Properties();
        a.setProperty("ApplicationName", "victim");
        Properties b = new Properties();
        b.setProperty("ApplicationName", "bystander");
        try (Connection victim = proxy.connect("app", "app", "app", a);
             Connection bystander = proxy.connect("app", "app", "app", b);
             Connection c = admin(proxy, "admin", "adminpw")) {
            String id = row(query(c, "SHOW CLIENTS"), "application_name", "victim").get("id");
            execute(c, "KILL_CLIENT " + id);
            assertThatThrownBy(() -> {
                for (int i = 0; i < 50; i++) {
                    execute(victim, "select 1");
                    Thread.sleep(20);
                }
            }).isInstanceOf(SQLException.class);
            execute(bystander, "select 1");
            assertThat(query(c, "SHOW CLIENTS")).extracting(r -> r.get("application_name"))
                    .contains("bystander").doesNotContain("victim");
            assertThatThrownBy(() -> execute(c, "KILL_CLIENT 1")).isInstanceOf(SQLException.class);
        }
    }

    @Test
    void disableRefusesNewLoginsAndBanShowsInHosts() throws Exception {
        try (Connection c = admin(proxy, "admin", "adminpw")) {
            execute(c, "DISABLE app");
            try {
                assertThatThrownBy(() -> proxy.connect("app", "app").close()).isInstanceOf(SQLException.class)
                        .hasMessageContaining("disabled");
            } finally {
                execute(c, "ENABLE app");
            }
            proxy.connect("app", "app").close();
            String standby = "127.0.0.1:" + cluster.standbys().get(0).port();
            execute(c, "BAN " + standby);
            assertThat(row(query(c, "SHOW HOSTS"), "port", Integer.toString(cluster.standbys().get(0).port())))
                    .containsEntry("state", "banned");
            execute(c, "UNBAN " + standby);
            assertThat(row(query(c, "SHOW HOSTS"), "port", Integer.toString(cluster.standbys().get(0).port())))
                    .containsEntry("state", "up");
            assertThatThrownBy(() -> execute(c, "FROBNICATE")).isInstanceOf(SQLException.class)
                    .hasMessageContaining("invalid admin console command");
        }
    }

    @Test
    void setChangesALiveSetting() throws Exception {
        try (Connection c = admin(proxy, "admin", "adminpw")) {
            execute(c, "SET query_wait_timeout = 7000");
            assertThat(row(query(c, "SHOW CONFIG"), "key", "query_wait_timeout")).containsEntry("value", "7000")
                    .containsEntry("changeable", "yes");
            assertThat(proxy.server().group("app", "app").primary().settings().queryWaitTimeout().toMillis())
                    .isEqualTo(7000);
            assertThatThrownBy(() -> execute(c, "SET port = 1")).isInstanceOf(SQLException.class)
                    .hasMessageContaining("cannot be changed while running");
        }
    }
}
