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
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Passwords stay secret: logins with right and wrong passwords (SCRAM and md5), a server that refuses pgrelay's
 * password, the admin console (wrong password, a user who is not an admin, SHOW CONFIG) and RELOAD (good and broken
 * files) leave no configured or attempted password in anything pgrelay logs, down to DEBUG, nor in SHOW CONFIG.
 */
class SecretsInLogsIT {
    private static final String CLIENT_PW = "Client-Pw-9x3K";
    private static final String SERVER_PW = "Srv-Pw-4hT2xQ";
    private static final String ADMIN_PW = "Adm1n-Pw-Q7v";
    private static final String MD5_PW = "Md5-Pw-6tY";
    private static final String WRONG_PW = "Wrong-Pw-5zQ1";
    private static final String BAD_SERVER_PW = "Bad-Srv-Pw-8rW";
    private static final String RELOADED_PW = "Reload-Pw-3mN";
    private static final String BROKEN_VERIFIER = "SCRAM-SHA-256$broken-Secret-Zz";
    private static final List<String> SECRETS = List.of(CLIENT_PW, SERVER_PW, ADMIN_PW, MD5_PW, WRONG_PW,
            BAD_SERVER_PW, RELOADED_PW, "broken-Secret-Zz");

    @TempDir
    static Path dir;
    private static Path file;
    private static PgRelayServer server;
    private static LocalCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = SharedCluster.get();
        cluster.execute(cluster.primary(), "postgres", "DROP ROLE IF EXISTS secret_role; "
                + "CREATE ROLE secret_role LOGIN PASSWORD '" + SERVER_PW + "'; "
                + "GRANT CONNECT ON DATABASE app TO secret_role");
        file = dir.resolve("pgrelay.toml");
        Files.writeString(file, config(CLIENT_PW, ""));
        server = PgRelayServer.start(ConfigLoader.load(file), 2);
    }

    private static String config(String clientPassword, String extraUsers) {
        return "[general]\nhost = \"127.0.0.1\"\nport = " + port() + "\nconnect_timeout = 3000\n"
                + "admin_username = \"admin\"\nadmin_password = \"" + ADMIN_PW + "\"\n"
                + "[pools.app]\npool_mode = \"transaction\"\n"
                + "[pools.app.users.0]\nusername = \"sekrit\"\npassword = \"" + clientPassword + "\"\n"
                + "server_username = \"secret_role\"\nserver_password = \"" + SERVER_PW + "\"\n"
                + "[pools.app.users.1]\nusername = \"md5user\"\nauth_type = \"md5\"\npassword = \"" + MD5_PW + "\"\n"
                + "server_username = \"secret_role\"\nserver_password = \"" + SERVER_PW + "\"\n"
                + "[pools.app.users.2]\nusername = \"badserver\"\npassword = \"" + CLIENT_PW + "\"\n"
                + "server_username = \"secret_role\"\nserver_password = \"" + BAD_SERVER_PW + "\"\n"
                + extraUsers
                + "[pools.app.shards.0]\ndatabase = \"app\"\nservers = " + TestProxy.servers(cluster) + "\n";
    }

    private static int port;

    private static int port() {
        if (port == 0) {
            port = TestProxy.freePort();
        }
        return port;
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
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port() + "/" + database, p);
    }

    private static String selectUser(String user, String password) throws SQLException {
        try (Connection c = connect("app", user, password); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void assertNoSecretIn(List<String> texts) {
        assertThat(texts).as("something was logged").isNotEmpty();
        for (String secret : SECRETS) {
            assertThat(texts).as("lines containing %s", secret).noneMatch(t -> t.contains(secret));
        }
    }

    @Test
    void loginsRightAndWrongLogNoPassword() throws Exception {
        List<String> errors = new ArrayList<>();
        try (LogCapture log = LogCapture.open()) {
            assertThat(selectUser("sekrit", CLIENT_PW)).isEqualTo("secret_role");
            assertThat(selectUser("md5user", MD5_PW)).isEqualTo("secret_role");
            for (String user : List.of("sekrit", "md5user")) {
                SQLException e = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                        () -> selectUser(user, WRONG_PW));
                assertThat(e.getSQLState()).isEqualTo("28P01");
                errors.add(e.getMessage());
            }
            // pgrelay's own login on the server fails: the client hears it, the log says so, without the password.
            SQLException serverSide = org.junit.jupiter.api.Assertions.assertThrows(SQLException.class,
                    () -> selectUser("badserver", CLIENT_PW));
            errors.add(serverSide.getMessage());
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                    .until(() -> !log.containing("login as \"secret_role\" failed").isEmpty());
            assertNoSecretIn(log.lines());
        }
        assertNoSecretIn(errors);
    }

    @Test
    void adminConsoleRefusesOthersAndShowConfigHidesThePassword() throws Exception {
        List<String> shown = new ArrayList<>();
        try (LogCapture log = LogCapture.open()) {
            assertThatThrownBy(() -> connect("pgbouncer", "admin", WRONG_PW).close())
                    .isInstanceOf(SQLException.class).hasMessageContaining("password authentication failed");
            // A pool user with its right password is still not an admin.
            assertThatThrownBy(() -> connect("pgbouncer", "sekrit", CLIENT_PW).close())
                    .isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("28000"));
            try (Connection c = connect("pgbouncer", "admin", ADMIN_PW); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SHOW CONFIG")) {
                while (rs.next()) {
                    shown.add(rs.getString("key") + "=" + rs.getString("value") + "/" + rs.getString("default"));
                }
            }
            assertNoSecretIn(log.lines());
        }
        assertThat(shown).contains("admin_password=********/");
        assertNoSecretIn(shown);
    }

    @Test
    void reloadLogsNoPassword() throws Exception {
        try (LogCapture log = LogCapture.open();
             Connection admin = connect("pgbouncer", "admin", ADMIN_PW); Statement st = admin.createStatement()) {
            // A good file with a new password, then a broken one whose problem is a password.
            Files.writeString(file, config(RELOADED_PW, ""));
            st.execute("RELOAD");
            assertThat(selectUser("sekrit", RELOADED_PW)).isEqualTo("secret_role");
            Files.writeString(file, config(RELOADED_PW, "[pools.app.users.3]\nusername = \"broken\"\n"
                    + "password = \"" + BROKEN_VERIFIER + "\"\nserver_username = \"secret_role\"\n"
                    + "server_password = \"" + SERVER_PW + "\"\n"));
            assertThatThrownBy(() -> st.execute("RELOAD")).isInstanceOf(SQLException.class)
                    .hasMessageContaining("malformed SCRAM verifier")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("broken-Secret-Zz"));
            assertThat(log.containing("malformed SCRAM verifier")).isNotEmpty();
            assertNoSecretIn(log.lines());
        } finally {
            Files.writeString(file, config(CLIENT_PW, ""));
            try (Connection admin = connect("pgbouncer", "admin", ADMIN_PW); Statement st = admin.createStatement()) {
                st.execute("RELOAD");
            }
        }
    }
}
