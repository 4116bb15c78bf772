package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.proxy.LeakTracker;
import io.pgrelay.proxy.PgRelayServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** RELOAD re-reads the config file: pool_size, new users and pools live; a broken file changes nothing. */
class ReloadIT {
    @TempDir
    static Path dir;
    private static LocalCluster cluster;
    private static Path file;
    private static PgRelayServer server;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        cluster = SharedCluster.get();
        port = TestProxy.freePort();
        file = dir.resolve("pgrelay.toml");
        Files.writeString(file, config(2, ""));
        server = PgRelayServer.start(ConfigLoader.load(file), 2);
    }

    private static String config(int poolSize, String extra) {
        return AdminIT.config(cluster, poolSize, "").replace("%PORT%", Integer.toString(port)) + extra;
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        LeakTracker.assertNoLeaks();
    }

    private static Connection connect(String database, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        if (database.equals("pgbouncer")) {
            p.setProperty("preferQueryMode", "simple");
        }
        return java.sql.DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, p);
    }

    /** How many transactions can hold a server connection at once: BEGIN on {@code n} clients. */
    private static int concurrentTransactions(int n) throws Exception {
        List<Connection> conns = new ArrayList<>();
        List<CompletableFuture<Void>> begun = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) { // logins first: each takes a server connection briefly
                conns.add(connect("app", "app", "app"));
            }
            for (Connection c : conns) {
                c.setAutoCommit(false);
                begun.add(CompletableFuture.runAsync(() -> {
                    try (Statement st = c.createStatement()) {
                        st.execute("select pg_backend_pid()");
                    } catch (SQLException e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            Thread.sleep(700);
            int done = 0;
            for (CompletableFuture<Void> f : begun) {
                done += f.isDone() && !f.isCompletedExceptionally() ? 1 : 0;
            }
            return done;
        } finally {
            // The clients holding a server first: a waiting client's rollback blocks (the driver waits for its
            // statement) until a server frees up for it, which must not depend on the order the tasks ran in.
            List<Connection> holdersFirst = new ArrayList<>();
            for (int i = 0; i < conns.size(); i++) {
                boolean holds = i < begun.size() && begun.get(i).isDone();
                holdersFirst.add(holds ? 0 : holdersFirst.size(), conns.get(i));
            }
            for (Connection c : holdersFirst) {
                try {
                    c.rollback();
                } catch (SQLException ignored) {
                    // a waiting client
                }
                c.close();
            }
        }
    }

    @Test
    void reloadAppliesPoolSizeUsersAndRejectsABrokenFile() throws Exception {
        assertThat(concurrentTransactions(3)).isEqualTo(2);

        Files.writeString(file, config(3, "\n[pools.app.users.2]\nusername = \"late\"\npassword = \"latepw\"\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n"));
        try (Connection admin = connect("pgbouncer", "admin", "adminpw"); Statement st = admin.createStatement()) {
            st.execute("RELOAD");
            assertThat(server.group("app", "app").primary().settings().poolSize()).isEqualTo(3);
            assertThat(concurrentTransactions(4)).isEqualTo(3);
            connect("app", "late", "latepw").close();

            // A file that does not validate: an error for the admin, the running config unchanged.
            Files.writeString(file, config(5, "").replace("pool_size = 5", "pool_size = \"five\""));
            assertThatThrownBy(() -> st.execute("RELOAD")).isInstanceOf(SQLException.class)
                    .hasMessageContaining("is not valid; nothing changed").hasMessageContaining("pool_size");
            assertThat(server.group("app", "app").primary().settings().poolSize()).isEqualTo(3);
            connect("app", "late", "latepw").close();

            // Settings that need a restart are reported, not applied; a removed user can no longer log in.
            Files.writeString(file, config(3, "").replace("port = " + port, "port = " + (port + 1)));
            st.execute("RELOAD");
            SQLWarning w = st.getWarnings();
            List<String> notes = new ArrayList<>();
            for (; w != null; w = w.getNextWarning()) {
                notes.add(w.getMessage());
            }
            assertThat(notes).anyMatch(n -> n.contains("needs a restart") && n.contains("listen address"));
            assertThat(server.port()).isEqualTo(port);
            assertThatThrownBy(() -> connect("app", "late", "latepw")).isInstanceOf(SQLException.class)
                    .hasFieldOrPropertyWithValue("SQLState", "28000");
        }
        assertThat(concurrentTransactions(1)).isEqualTo(1);
        TimeUnit.MILLISECONDS.sleep(10);
    }
}
