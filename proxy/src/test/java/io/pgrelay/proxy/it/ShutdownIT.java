package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.proxy.LeakTracker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** pgrelay run as a process: SIGTERM lets a transaction in flight commit and exits 0; SIGHUP reloads. */
class ShutdownIT {
    private static final Path JAR = Path.of(System.getProperty("user.dir")).getParent()
            .resolve("proxy/target/pgrelay.jar");
    private static LocalCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = SharedCluster.get();
        cluster.execute(cluster.primary(), "app", "CREATE TABLE IF NOT EXISTS shutdown_it (v text); GRANT ALL ON shutdown_it TO app");
    }

    @AfterAll
    static void stop() {
        LeakTracker.assertNoLeaks();
    }

    private static final class Proc implements AutoCloseable {
        final Process process;
        final StringBuffer output = new StringBuffer();

        Proc(Path config) throws IOException {
            ProcessBuilder pb = new ProcessBuilder(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", JAR.toString(), "run",
                    "--config", config.toString())).redirectErrorStream(true);
            process = pb.start();
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null) {
                        output.append(line).append('\n');
                    }
                } catch (IOException ignored) {
                    // gone
                }
            });
            reader.setDaemon(true);
            reader.start();
        }

        void waitFor(String text) {
            await().atMost(30, TimeUnit.SECONDS).until(() -> output.toString().contains(text) || !process.isAlive());
            assertThat(output.toString()).contains(text);
        }

        void signal(String name) throws Exception {
            new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor();
        }

        @Override
        public void close() {
            process.destroyForcibly();
        }
    }

    private static Connection connect(int port, String db, String user, String pw) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", pw);
        if (db.equals("pgbouncer")) {
            p.setProperty("preferQueryMode", "simple");
        }
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + db, p);
    }

    @Test
    void sigtermLetsTheTransactionInFlightCommitAndExitsZero(@TempDir Path dir) throws Exception {
        int port = TestProxy.freePort();
        Path config = dir.resolve("pgrelay.toml");
        Files.writeString(config, AdminIT.config(cluster, 3, "shutdown_timeout = 20000")
                .replace("%PORT%", Integer.toString(port)));
        try (Proc p = new Proc(config)) {
            p.waitFor("pgrelay listening on 127.0.0.1:" + port);
            try (Connection c = connect(port, "app", "app", "app")) {
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("INSERT INTO shutdown_it VALUES ('in flight')");
                    p.signal("TERM");
                    p.waitFor("shutdown: no longer accepting connections");
                    assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(IOException.class);
                    Thread.sleep(300);
                    st.execute("INSERT INTO shutdown_it VALUES ('still in flight')");
                    c.commit();
                }
            }
            assertThat(p.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.process.exitValue()).as(p.output.toString()).isZero();
            assertThat(p.output.toString()).contains("pgrelay stopped");
        }
        try (Connection direct = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + cluster.primary().port()
                + "/app", "app", "app"); Statement st = direct.createStatement();
             ResultSet rs = st.executeQuery("select count(*) from shutdown_it where v like '%in flight'")) {
            rs.next();
            assertThat(rs.getInt(1)).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void sighupReloadsAndShutdownCommandStops(@TempDir Path dir) throws Exception {
        int port = TestProxy.freePort();
        Path config = dir.resolve("pgrelay.toml");
        String text = AdminIT.config(cluster, 3, "").replace("%PORT%", Integer.toString(port));
        Files.writeString(config, text);
        try (Proc p = new Proc(config)) {
            p.waitFor("pgrelay listening on 127.0.0.1:" + port);
            Files.writeString(config, text.replace("pool_size = 3", "pool_size = 4"));
            p.signal("HUP");
            p.waitFor("reload: config");
            try (Connection admin = connect(port, "pgbouncer", "admin", "adminpw");
                 Statement st = admin.createStatement();
                 ResultSet rs = st.executeQuery("SHOW DATABASES")) {
                boolean found = false;
                while (rs.next()) {
                    if (rs.getString("name").equals("app")) {
                        assertThat(rs.getInt("pool_size")).isEqualTo(4);
                        found = true;
                    }
                }
                assertThat(found).isTrue();
                st.execute("SHUTDOWN");
            } catch (SQLException e) {
                // the console may be closed before it answers SHUTDOWN
            }
            assertThat(p.process.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.process.exitValue()).isZero();
        }
    }
}
