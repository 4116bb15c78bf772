package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.protocol.auth.ScramSecret;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.GssEncRequest;
import io.pgrelay.protocol.message.SslRequest;
import io.pgrelay.protocol.message.StartupMessage;
import io.pgrelay.proxy.pool.Pool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Client and server authentication methods, and every way a login can fail, against the real cluster. */
class LoginAndErrorsIT {
    private static LocalCluster cluster;
    private static TestProxy proxy;

    @BeforeAll
    static void start() throws Exception {
        cluster = SharedCluster.get();
        PgServer primary = cluster.primary();
        // Server-side roles that log in with md5 and with a cleartext password, to test pgrelay as their client.
        cluster.execute(primary, "postgres", "SET password_encryption = 'md5'; "
                + "DROP ROLE IF EXISTS md5_role; CREATE ROLE md5_role LOGIN PASSWORD 'md5pw'; "
                + "DROP ROLE IF EXISTS clear_role; CREATE ROLE clear_role LOGIN PASSWORD 'clearpw'; "
                + "GRANT CONNECT ON DATABASE app TO md5_role, clear_role");
        Path hba = primary.dataDir().resolve("pg_hba.conf");
        String rules = "host all md5_role 127.0.0.1/32 md5\nhost all clear_role 127.0.0.1/32 password\n";
        String current = Files.readString(hba);
        if (!current.startsWith(rules)) {
            Files.writeString(hba, rules + current);
        }
        cluster.execute(primary, "postgres", "SELECT pg_reload_conf()");

        String verifier = ScramSecret.fromPassword("verifier-pw", new SecureRandom()).toString();
        String users = ""
                + "[pools.app.users.1]\nusername = \"md5_client\"\npassword = \"md5client\"\nauth_type = \"md5\"\n"
                + "pool_size = 2\nserver_username = \"app\"\nserver_password = \"app\"\n"
                + "[pools.app.users.2]\nusername = \"trusted\"\nauth_type = \"trust\"\npool_size = 2\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n"
                + "[pools.app.users.3]\nusername = \"hashed\"\npassword = \"" + verifier + "\"\npool_size = 2\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n"
                + "[pools.app.users.4]\nusername = \"md5_role\"\npassword = \"md5pw\"\npool_size = 2\n"
                + "[pools.app.users.5]\nusername = \"clear_role\"\npassword = \"clearpw\"\npool_size = 2\n"
                + "[pools.app.users.6]\nusername = \"bad_server_pw\"\npassword = \"x\"\npool_size = 2\n"
                + "server_username = \"app\"\nserver_password = \"wrong\"\n"
                + "[pools.app.users.7]\nusername = \"single\"\npassword = \"single\"\npool_size = 1\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n";
        int deadPort = TestProxy.freePort();
        String deadPool = "\n[pools.nowhere]\npool_mode = \"session\"\n"
                + "[pools.nowhere.users.0]\nusername = \"app\"\npassword = \"app\"\n"
                + "[pools.nowhere.shards.0]\ndatabase = \"app\"\n"
                + "servers = [[\"127.0.0.1\", " + deadPort + ", \"primary\"]]\n";
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 5, "max_client_conn = 30\nfailover_timeout = 500", users) + deadPool);
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    private static String sqlStateOf(ThrowingLogin login) {
        try (Connection c = login.connect()) {
            throw new AssertionError("login unexpectedly succeeded");
        } catch (SQLException e) {
            return e.getSQLState() + " " + e.getMessage();
        }
    }

    interface ThrowingLogin {
        Connection connect() throws SQLException;
    }

    private static int selectOne(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void wrongPasswordIs28P01() {
        assertThat(sqlStateOf(() -> proxy.connect("app", "not-the-password")))
                .startsWith("28P01").contains("password authentication failed for user \"app\"");
    }

    @Test
    void wrongPasswordThroughPsqlSaysSo() throws Exception {
        Psql.Result r = Psql.run(proxy.psqlUrl("app", "nope", "app"), Map.of(), "select 1");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.stderr()).contains("password authentication failed for user \"app\"");
    }

    @Test
    void unknownDatabaseIs3D000() {
        assertThat(sqlStateOf(() -> proxy.connect("nodb", "app", "app", new Properties())))
                .startsWith("3D000").contains("database \"nodb\" does not exist");
    }

    @Test
    void unknownUserIs28000() {
        assertThat(sqlStateOf(() -> proxy.connect("nobody", "x")))
                .startsWith("28000").contains("no such user \"nobody\"");
    }

    @Test
    void unreachableServerIs08006() {
        assertThat(sqlStateOf(() -> proxy.connect("nowhere", "app", "app", new Properties())))
                .startsWith("08006").contains("no primary server available for database \"nowhere\" within "
                        + "failover_timeout (500 ms)").contains("could not connect to server 127.0.0.1:");
    }

    @Test
    void serverLoginFailureIsReportedWithTheServersReason() {
        assertThat(sqlStateOf(() -> proxy.connect("bad_server_pw", "x")))
                .startsWith("28P01").contains("password authentication failed for user \"app\"");
    }

    @Test
    void md5ClientAuthentication() throws SQLException {
        try (Connection c = proxy.connect("md5_client", "md5client")) {
            assertThat(selectOne(c)).isEqualTo(1);
        }
        assertThat(sqlStateOf(() -> proxy.connect("md5_client", "wrong"))).startsWith("28P01");
    }

    @Test
    void trustClientAuthentication() throws SQLException {
        try (Connection c = proxy.connect("trusted", "anything")) {
            assertThat(selectOne(c)).isEqualTo(1);
        }
    }

    @Test
    void scramVerifierInTheConfig() throws SQLException {
        try (Connection c = proxy.connect("hashed", "verifier-pw")) {
            assertThat(selectOne(c)).isEqualTo(1);
        }
        assertThat(sqlStateOf(() -> proxy.connect("hashed", "wrong"))).startsWith("28P01");
    }

    @Test
    void serverAuthenticationWithMd5AndCleartext() throws SQLException {
        try (Connection c = proxy.connect("md5_role", "md5pw"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("md5_role");
        }
        try (Connection c = proxy.connect("clear_role", "clearpw"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("clear_role");
        }
    }

    @Test
    void tooManyClientsIs53300() throws Exception {
        List<Connection> held = new ArrayList<>();
        try {
            // max_client_conn = 30: fill it with idle raw sockets, then one more login must fail.
            List<RawClient> raws = new ArrayList<>();
            try {
                await().atMost(Duration.ofSeconds(5)).until(() -> proxy.server().clientCount() == 0);
                for (int i = 0; i < 30; i++) {
                    raws.add(new RawClient(proxy.port()));
                }
                await().atMost(Duration.ofSeconds(5)).until(() -> proxy.server().clientCount() == 30);
                long before = proxy.server().admin().metrics().limits()
                        .refusals(io.pgrelay.proxy.metrics.LimitStats.Limit.MAX_CLIENT_CONN);
                assertThat(sqlStateOf(() -> proxy.connect("app", "app")))
                        .startsWith("53300").contains("too many clients");
                assertThat(proxy.server().admin().metrics().limits()
                        .refusals(io.pgrelay.proxy.metrics.LimitStats.Limit.MAX_CLIENT_CONN)).isEqualTo(before + 1);
            } finally {
                for (RawClient r : raws) {
                    r.close();
                }
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.server().clientCount() == 0);
            try (Connection c = proxy.connect("app", "app")) {
                assertThat(selectOne(c)).isEqualTo(1);
            }
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
    }

    @Test
    void clientKilledMidQueryFreesItsServerConnection() throws Exception {
        Pool pool = proxy.server().pool("app", "single");
        Process psql = Psql.start(List.of(Psql.binary().toString(), proxy.psqlUrl("single", "single", "app"), "-X",
                "-c", "select pg_sleep(60) /* killed-client */"), Map.of());
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> !cluster.query(cluster.primary(), "postgres",
                    "SELECT pid FROM pg_stat_activity WHERE query LIKE '%killed-client%' AND state = 'active' "
                            + "AND pid <> pg_backend_pid()").isEmpty());
        } finally {
            psql.destroyForcibly().waitFor();
        }
        // The backend stops running the query, and the pool (size 1) serves the next client.
        await().atMost(Duration.ofSeconds(5)).until(() -> cluster.query(cluster.primary(), "postgres",
                "SELECT pid FROM pg_stat_activity WHERE query LIKE '%killed-client%' AND state = 'active' "
                        + "AND pid <> pg_backend_pid()").isEmpty());
        try (Connection c = proxy.connect("single", "single")) {
            assertThat(selectOne(c)).isEqualTo(1);
        }
        assertThat(pool.stats().waiting()).isZero();
    }

    @Test
    void sslAndGssEncRequestsAreAnsweredNAndTheLoginGoesOn() throws Exception {
        try (RawClient raw = new RawClient(proxy.port())) {
            raw.send(GssEncRequest.INSTANCE);
            assertThat(raw.readByte()).isEqualTo('N');
            raw.send(SslRequest.INSTANCE);
            assertThat(raw.readByte()).isEqualTo('N');
            raw.send(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "app", "database", "app")));
            byte[][] body = new byte[1][];
            assertThat((char) raw.readMessage(body)).isEqualTo('R'); // AuthenticationSASL
            assertThat(body[0][3]).isEqualTo((byte) 10);
        }
    }

    @Test
    void unsupportedProtocolVersionGetsAnError() throws Exception {
        try (RawClient raw = new RawClient(proxy.port())) {
            raw.send(new StartupMessage(2 << 16, Map.of()));
            ErrorResponse e = raw.readError();
            assertThat(e.sqlState()).isEqualTo("0A000");
            assertThat(e.message()).isEqualTo("unsupported frontend protocol 2.0: server supports 3.0 to 3.0");
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void newerMinorVersionIsNegotiatedDown() throws Exception {
        try (RawClient raw = new RawClient(proxy.port())) {
            raw.send(new StartupMessage((3 << 16) | 2, Map.of("user", "app", "database", "app",
                    "_pq_.future_option", "1")));
            byte[][] body = new byte[1][];
            assertThat((char) raw.readMessage(body)).isEqualTo('v'); // NegotiateProtocolVersion
            assertThat(body[0][3]).isZero(); // newest minor version: 0
            assertThat((char) raw.readMessage(body)).isEqualTo('R');
        }
    }

    @Test
    void garbageInsteadOfAStartupPacketIsRefusedClearly() throws Exception {
        try (RawClient raw = new RawClient(proxy.port())) {
            raw.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
            ErrorResponse e = raw.readError();
            assertThat(e.sqlState()).isEqualTo("08P01");
            assertThat(e.message()).startsWith("invalid length of startup packet");
            assertThat(raw.closedByServer()).isTrue();
        }
    }

    @Test
    void unsupportedStartupOptionIsNamed() {
        Properties p = new Properties();
        p.setProperty("options", "-d 5");
        assertThat(sqlStateOf(() -> proxy.connect("app", "app", "app", p)))
                .startsWith("0A000").contains("unsupported startup option \"-d\"");
    }

    @Test
    void unknownSettingInTheStartupPacketIsTheServersError() {
        Properties p = new Properties();
        p.setProperty("options", "-c no_such_setting=1");
        assertThat(sqlStateOf(() -> proxy.connect("app", "app", "app", p)))
                .startsWith("42704").contains("unrecognized configuration parameter \"no_such_setting\"");
    }
}
