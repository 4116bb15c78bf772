package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.protocol.message.CancelRequest;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.Query;
import io.pgrelay.protocol.message.StartupMessage;
import io.pgrelay.proxy.pool.Pool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

import java.nio.ByteBuffer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Limits, timeouts and bad input: each ends one connection with a FATAL that names the problem, nothing else. */
class LimitsIT {
    private static LocalCluster cluster;
    private static TestProxy proxy;

    @BeforeAll
    static void start() {
        cluster = SharedCluster.get();
        String users = "[pools.app.users.1]\nusername = \"trusted\"\nauth_type = \"trust\"\npool_size = 2\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n"
                + "[pools.app.users.2]\nusername = \"warm\"\npassword = \"warm\"\npool_size = 5\nmin_pool_size = 3\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n";
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 5,
                "max_packet_size = 4096\nclient_login_timeout = 1000\nidle_client_in_transaction_timeout = 700",
                users).replace("pool_mode = \"session\"", "pool_mode = \"transaction\""));
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    /** A raw client logged in as the trust user, past its first ReadyForQuery. */
    private static RawClient loggedIn() throws Exception {
        RawClient raw = new RawClient(proxy.port());
        raw.send(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "trusted", "database", "app")));
        byte[][] body = new byte[1][];
        while (raw.readMessage(body) != 'Z') {
            // AuthenticationOk, ParameterStatus..., BackendKeyData
        }
        return raw;
    }

    private static void assertOthersStillServed() throws SQLException {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT 'fine'")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("fine");
        }
    }

    private static long refusals(io.pgrelay.proxy.metrics.LimitStats.Limit limit) {
        return proxy.server().admin().metrics().limits().refusals(limit);
    }

    @Test
    void messageOverMaxPacketSizeIsRefused() throws Exception {
        long before = refusals(io.pgrelay.proxy.metrics.LimitStats.Limit.MAX_PACKET_SIZE);
        try (RawClient raw = loggedIn()) {
            raw.send(new Query("SELECT '" + "x".repeat(5000) + "'"));
            ErrorResponse e = raw.readError();
            assertThat(e.isFatal()).isTrue();
            assertThat(e.sqlState()).isEqualTo("08P01");
            assertThat(e.message()).isEqualTo("message of type 'Q' is 5015 bytes, more than the maximum of 4096");
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(refusals(io.pgrelay.proxy.metrics.LimitStats.Limit.MAX_PACKET_SIZE)).isEqualTo(before + 1);
        assertOthersStillServed();
    }

    @Test
    void unknownMessageTypeIsRefused() throws Exception {
        try (RawClient raw = loggedIn()) {
            raw.send(new byte[] {'!', 0, 0, 0, 4});
            ErrorResponse e = raw.readError();
            assertThat(e.message()).isEqualTo("invalid frontend message type '!'");
            assertThat(raw.closedByServer()).isTrue();
        }
        assertOthersStillServed();
    }

    @Test
    void startupPacketOverTenThousandBytesIsRefused() throws Exception {
        long before = refusals(io.pgrelay.proxy.metrics.LimitStats.Limit.STARTUP_PACKET_SIZE);
        try (RawClient raw = new RawClient(proxy.port())) {
            raw.send(ByteBuffer.allocate(8).putInt(20_000).putInt(StartupMessage.PROTOCOL_3_0).array());
            ErrorResponse e = raw.readError();
            assertThat(e.message()).isEqualTo("invalid length of startup packet: 20000 (must be 8 to 10000 bytes)");
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(refusals(io.pgrelay.proxy.metrics.LimitStats.Limit.STARTUP_PACKET_SIZE)).isEqualTo(before + 1);
        assertOthersStillServed();
    }

    @Test
    void aClientThatSaysNothingIsClosedAfterClientLoginTimeout() throws Exception {
        long before = refusals(io.pgrelay.proxy.metrics.LimitStats.Limit.CLIENT_LOGIN_TIMEOUT);
        long start = System.nanoTime();
        try (RawClient raw = new RawClient(proxy.port())) {
            ErrorResponse e = raw.readError();
            assertThat(e.message()).isEqualTo(
                    "authentication timeout: no login completed within client_login_timeout (1000 ms)");
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(900),
                Duration.ofSeconds(5));
        assertThat(refusals(io.pgrelay.proxy.metrics.LimitStats.Limit.CLIENT_LOGIN_TIMEOUT)).isGreaterThan(before);
        assertOthersStillServed();
    }

    @Test
    void idleInTransactionTimeoutEndsTheClientAndFreesTheConnection() throws Exception {
        Connection c = proxy.connect("app", "app");
        try {
            c.setAutoCommit(false);
            c.createStatement().execute("CREATE TEMP TABLE idle_tx(x int)");
            Thread.sleep(1500);
            assertThatThrownBy(() -> c.createStatement().execute("SELECT 1"))
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("idle-in-transaction timeout");
        } finally {
            c.close();
        }
        Pool pool = proxy.server().pool("app", "app");
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.stats().active() == 0);
        assertOthersStillServed();
    }

    @Test
    void minPoolSizeKeepsWarmConnections() {
        Pool pool = proxy.server().pool("app", "warm");
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            Pool.PoolStats s = pool.stats();
            assertThat(s.idle() + s.active()).isGreaterThanOrEqualTo(3);
        });
    }

    @Test
    void serverConnectionsThatDieAreReplaced() throws Exception {
        assertOthersStillServed();
        // Kill every backend pgrelay holds for app, as a server restart or an operator would.
        java.util.Set<Integer> killed = new java.util.HashSet<>();
        for (List<String> row : cluster.query(cluster.primary(), "postgres", "SELECT pid FROM pg_stat_activity "
                + "WHERE usename = 'app' AND datname = 'app'")) {
            killed.add(Integer.parseInt(row.get(0)));
        }
        for (int pid : killed) {
            cluster.execute(cluster.primary(), "postgres", "SELECT pg_terminate_backend(" + pid + ")");
        }
        assertThat(killed).isNotEmpty();
        // pgrelay notices each death on its own (the server's FATAL, then EOF) and drops the connection; a query
        // racing that notice may be told the server closed, as with any pooler, so wait for the notice first.
        Pool pool = proxy.server().pool("app", "app");
        await().atMost(Duration.ofSeconds(10)).until(() -> pool.connections().stream()
                .noneMatch(c -> c.backendKey() != null && killed.contains(c.backendKey().processId())));
        for (int i = 0; i < 5; i++) {
            assertOthersStillServed();
        }
    }

    /** A typed frontend message built by hand (the protocol module models only what pgrelay itself sends). */
    private static byte[] msg(char type, byte[]... parts) {
        int len = 4;
        for (byte[] p : parts) {
            len += p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(len + 1).put((byte) type).putInt(len);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }

    private static byte[] cstr(String s) {
        byte[] raw = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return java.util.Arrays.copyOf(raw, raw.length + 1);
    }

    private static byte[] shorts(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2);
        for (int v : values) {
            b.putShort((short) v);
        }
        return b.array();
    }

    /** Reads messages up to ReadyForQuery; returns their type letters, e.g. "1Z". */
    private static String typesUntilReady(RawClient raw) throws Exception {
        StringBuilder types = new StringBuilder();
        byte[][] body = new byte[1][];
        char t;
        do {
            t = (char) raw.readMessage(body);
            types.append(t);
        } while (t != 'Z');
        return types.toString();
    }

    @Test
    void deallocateOfOneClientStatementIsHonoured() throws Exception {
        try (RawClient raw = loggedIn()) {
            byte[] sync = msg('S');
            raw.send(concat(msg('P', cstr("s1"), cstr("SELECT 41 + 1"), shorts(0)),
                    msg('P', cstr("s2"), cstr("SELECT 43 - 1"), shorts(0)), sync));
            assertThat(typesUntilReady(raw)).isEqualTo("11Z");
            raw.send(new Query("DEALLOCATE s1"));
            assertThat(typesUntilReady(raw)).isEqualTo("CZ");
            // s1 is gone for this client, s2 is not.
            byte[] execute = msg('E', cstr(""), new byte[] {0, 0, 0, 0});
            raw.send(concat(msg('B', cstr(""), cstr("s1"), shorts(0, 0, 0)), execute, sync));
            assertThat(typesUntilReady(raw)).isEqualTo("EZ");
            raw.send(concat(msg('B', cstr(""), cstr("s2"), shorts(0, 0, 0)), execute, sync));
            assertThat(typesUntilReady(raw)).isEqualTo("2DCZ");
        }
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    @Test
    void aCancelWithTheWrongSecretCancelsNothing() throws Exception {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            int pid = ((PGConnection) c).getBackendPID(); // pgrelay's key for this client, not a server's
            ExecutorService exec = Executors.newSingleThreadExecutor();
            try {
                Future<String> query = exec.submit(() -> {
                    try (ResultSet rs = st.executeQuery("SELECT 'finished', pg_sleep(1)")) {
                        rs.next();
                        return rs.getString(1);
                    }
                });
                Thread.sleep(300);
                try (RawClient raw = new RawClient(proxy.port())) {
                    raw.send(new CancelRequest(pid, 12345));
                    assertThat(raw.closedByServer()).isTrue();
                }
                assertThat(query.get()).isEqualTo("finished");
            } finally {
                exec.shutdownNow();
            }
        }
    }
}
