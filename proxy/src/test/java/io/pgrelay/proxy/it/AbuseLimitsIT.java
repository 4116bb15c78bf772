package io.pgrelay.proxy.it;

import io.netty.channel.ChannelOutboundBuffer;
import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.protocol.message.CancelRequest;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.StartupMessage;
import io.pgrelay.proxy.PgRelayServer;
import io.pgrelay.proxy.client.ClientSession;
import io.pgrelay.proxy.metrics.LimitStats;
import io.pgrelay.proxy.metrics.LimitStats.Limit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.pgrelay.proxy.it.Frontend.bindExecute;
import static io.pgrelay.proxy.it.Frontend.concat;
import static io.pgrelay.proxy.it.Frontend.parse;
import static io.pgrelay.proxy.it.Frontend.query;
import static io.pgrelay.proxy.it.Frontend.sync;
import static io.pgrelay.proxy.it.Frontend.untilReady;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The abuse limits: clients per user and per database, prepared statements per client, bytes held for a client that
 * does not read, and cancel keys. Each refusal is an error naming the limit, a counter and a log line; the client
 * (or, for logins, everyone else) carries on.
 */
class AbuseLimitsIT {
    private static TestProxy proxy;

    @BeforeAll
    static void start() {
        LocalCluster cluster = SharedCluster.get();
        String trust = "auth_type = \"trust\"\npool_size = 2\nserver_username = \"app\"\nserver_password = \"app\"\n";
        String users = "[pools.app.users.1]\nusername = \"trusted\"\n" + trust
                + "[pools.app.users.2]\nusername = \"few\"\nmax_user_client_connections = 1\n" + trust
                + "[pools.app.users.3]\nusername = \"prep\"\n" + trust
                + "[pools.app.users.4]\nusername = \"bp\"\n" + trust;
        String small = "[pools.small]\npool_mode = \"transaction\"\nmax_db_client_connections = 2\n"
                + "[pools.small.users.0]\nusername = \"dbuser\"\n" + trust
                + "[pools.small.shards.0]\ndatabase = \"app\"\nservers = " + TestProxy.servers(cluster) + "\n";
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 5,
                "max_user_client_connections = 3\nmax_client_prepared_statements = 5", users)
                .replace("pool_mode = \"session\"", "pool_mode = \"transaction\"") + small);
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    private static LimitStats stats() {
        return proxy.server().admin().metrics().limits();
    }

    private static RawClient startup(String user, String database) throws Exception {
        RawClient raw = new RawClient(proxy.port());
        raw.send(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", user, "database", database)));
        return raw;
    }

    /** A raw client of a trust user, past its first ReadyForQuery. */
    private static RawClient loggedIn(String user, String database) throws Exception {
        RawClient raw = startup(user, database);
        assertThat(untilReady(raw).types()).endsWith("KZ");
        return raw;
    }

    private static void closeAll(List<RawClient> clients) throws Exception {
        for (RawClient c : clients) {
            c.close();
        }
    }

    @Test
    void aUserOverItsClientLimitIsRefusedWith53300() throws Exception {
        List<RawClient> held = new ArrayList<>();
        long before = stats().refusals(Limit.MAX_USER_CLIENT_CONNECTIONS);
        try (LogCapture log = LogCapture.open()) {
            for (int i = 0; i < 3; i++) {
                held.add(loggedIn("trusted", "app"));
            }
            try (RawClient fourth = startup("trusted", "app")) {
                ErrorResponse e = fourth.readError();
                assertThat(e.isFatal()).isTrue();
                assertThat(e.sqlState()).isEqualTo("53300");
                assertThat(e.message()).isEqualTo(
                        "too many client connections for user \"trusted\" (max_user_client_connections = 3)");
                assertThat(fourth.closedByServer()).isTrue();
            }
            assertThat(stats().refusals(Limit.MAX_USER_CLIENT_CONNECTIONS)).isEqualTo(before + 1);
            assertThat(log.containing("refused, user \"trusted\" has 3 clients already")).hasSize(1);
            // The per-user override of the pool's entry.
            held.add(loggedIn("few", "app"));
            try (RawClient second = startup("few", "app")) {
                assertThat(second.readError().message()).isEqualTo(
                        "too many client connections for user \"few\" (max_user_client_connections = 1)");
            }
            // A place freed is a place again.
            held.remove(0).close();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> proxy.server().clientLimits().userClients("trusted") == 2);
            held.add(loggedIn("trusted", "app"));
        } finally {
            closeAll(held);
        }
    }

    @Test
    void clientsThatHaveNotLoggedInTakeNoPlaceOfTheirUser() throws Exception {
        List<RawClient> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) { // more than max_user_client_connections, all stuck in SCRAM
                stalled.add(startup("app", "app"));
            }
            try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT 'served'")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("served");
            }
        } finally {
            closeAll(stalled);
        }
    }

    @Test
    void aDatabaseOverItsClientLimitIsRefusedWith53300() throws Exception {
        List<RawClient> held = new ArrayList<>();
        long before = stats().refusals(Limit.MAX_DB_CLIENT_CONNECTIONS);
        try (LogCapture log = LogCapture.open()) {
            held.add(loggedIn("dbuser", "small"));
            held.add(loggedIn("dbuser", "small"));
            try (RawClient third = startup("dbuser", "small")) {
                ErrorResponse e = third.readError();
                assertThat(e.sqlState()).isEqualTo("53300");
                assertThat(e.message()).isEqualTo(
                        "too many client connections for database \"small\" (max_db_client_connections = 2)");
                assertThat(third.closedByServer()).isTrue();
            }
            assertThat(stats().refusals(Limit.MAX_DB_CLIENT_CONNECTIONS)).isEqualTo(before + 1);
            assertThat(log.containing("refused, database \"small\" has 2 clients already")).hasSize(1);
        } finally {
            closeAll(held);
        }
    }

    @Test
    void namedStatementsOverTheLimitGetAnErrorAndTheClientGoesOn() throws Exception {
        long before = stats().refusals(Limit.MAX_CLIENT_PREPARED_STATEMENTS);
        try (RawClient raw = loggedIn("prep", "app"); LogCapture log = LogCapture.open()) {
            raw.send(concat(parse("s0", "SELECT 0"), parse("s1", "SELECT 1"), parse("s2", "SELECT 2"),
                    parse("s3", "SELECT 3"), parse("s4", "SELECT 4"), sync()));
            assertThat(untilReady(raw).types()).isEqualTo("11111Z");
            // Between transactions (answered without a server): the sixth name is refused, its batch skipped
            // unread up to the Sync, a malformed Describe included, as PostgreSQL skips after an error.
            raw.send(concat(parse("s5", "SELECT 5"), bindExecute("s5"), Frontend.msg('D'), sync()));
            Frontend.Answer refused = untilReady(raw);
            assertThat(refused.types()).isEqualTo("EZ");
            assertThat(refused.error().sqlState()).isEqualTo("53400");
            assertThat(refused.error().isFatal()).isFalse();
            assertThat(refused.error().message()).isEqualTo(
                    "too many prepared statements: this client has 5 (max_client_prepared_statements = 5)");
            // Its statements still work; a name it has may be prepared again.
            raw.send(concat(bindExecute("s4"), parse("s4", "SELECT 44"), bindExecute("s4"), sync()));
            assertThat(untilReady(raw).types()).isEqualTo("2DC12DCZ");
            // Inside a transaction (on a server): refused in order, after the answers owed before it.
            raw.send(query("BEGIN"));
            assertThat(untilReady(raw).status()).isEqualTo('T');
            raw.send(concat(bindExecute("s1"), parse("s6", "SELECT 6"), bindExecute("s6"), sync()));
            Frontend.Answer inTx = untilReady(raw);
            assertThat(inTx.types()).isEqualTo("2DCEZ");
            assertThat(inTx.error().sqlState()).isEqualTo("53400");
            raw.send(query("ROLLBACK"));
            assertThat(untilReady(raw).status()).isEqualTo('I');
            // Closing one makes room for another.
            raw.send(concat(Frontend.msg('C', new byte[] {'S'}, Frontend.cstr("s0")), parse("s7", "SELECT 7"),
                    bindExecute("s7"), sync()));
            assertThat(untilReady(raw).types()).isEqualTo("312DCZ");
            assertThat(stats().refusals(Limit.MAX_CLIENT_PREPARED_STATEMENTS)).isEqualTo(before + 2);
            assertThat(log.containing("reached max_client_prepared_statements (5)")).hasSize(1);
        }
    }

    /** Bytes pgrelay holds for the client of user "bp": what its channel has queued and not yet written. */
    private static long pendingForBp() {
        long pending = 0;
        for (ClientSession s : proxy.server().cancelKeys().sessions()) {
            if ("bp".equals(s.userName())) {
                ChannelOutboundBuffer out = s.channel().unsafe().outboundBuffer();
                pending += out == null ? 0 : out.totalPendingWriteBytes();
            }
        }
        return pending;
    }

    @Test
    void aClientThatDoesNotReadABigResultHoldsABoundedAmountInPgrelay() throws Exception {
        long pausesBefore = stats().pauses();
        try (RawClient raw = new RawClient(proxy.port(), 16 * 1024)) {
            raw.send(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "bp", "database", "app")));
            assertThat(untilReady(raw).types()).endsWith("KZ");
            // About 200 MB of rows; the client reads none of it for a while.
            raw.send(query("SELECT repeat('x', 1000) FROM generate_series(1, 200000)"));
            long most = 0;
            for (int i = 0; i < 20; i++) {
                Thread.sleep(100);
                most = Math.max(most, pendingForBp());
            }
            System.out.printf("slow client: at most %d bytes queued in pgrelay while it did not read (high water "
                    + "mark %d)%n", most, PgRelayServer.CLIENT_WRITE_HIGH_WATER_MARK);
            assertThat(most).as("bytes queued for a client that does not read")
                    .isGreaterThan(0).isLessThan(4L * 1024 * 1024);
            assertThat(stats().pauses()).isGreaterThan(pausesBefore);
            // Reading resumes the server: every row arrives, then ReadyForQuery.
            byte[][] body = new byte[1][];
            int rows = 0;
            String tag = null;
            char t;
            while ((t = (char) raw.readMessage(body)) != 'Z') {
                if (t == 'D') {
                    rows++;
                } else if (t == 'C') {
                    tag = new String(body[0], 0, body[0].length - 1, java.nio.charset.StandardCharsets.UTF_8);
                }
            }
            assertThat(rows).isEqualTo(200_000);
            assertThat(tag).isEqualTo("SELECT 200000");
            raw.send(query("SELECT 1"));
            assertThat(untilReady(raw).types()).isEqualTo("TDCZ");
        }
    }

    @Test
    void aQueryWithoutEvenItsNulGetsPostgresqlsOwnErrorAndTheClientGoesOn() throws Exception {
        // pgrelay reads the text of every Query in place; an empty body once ended the session with an internal error.
        try (RawClient raw = loggedIn("trusted", "app")) {
            raw.send(Frontend.msg('Q'));
            Frontend.Answer bare = untilReady(raw);
            assertThat(bare.types()).isEqualTo("EZ");
            assertThat(bare.error().sqlState()).isEqualTo("08P01");
            assertThat(bare.error().message()).isEqualTo("invalid string in message"); // PostgreSQL's words
            assertThat(untilReady(send(raw, query("SELECT 1"))).types()).isEqualTo("TDCZ");

            // Inside a transaction pgrelay only asks whether a statement is its own SET or SHOW: the same answer.
            assertThat(untilReady(send(raw, query("BEGIN"))).status()).isEqualTo('T');
            raw.send(Frontend.msg('Q'));
            Frontend.Answer inTransaction = untilReady(raw);
            assertThat(inTransaction.error().sqlState()).isEqualTo("08P01");
            assertThat(inTransaction.status()).isEqualTo('E');
            assertThat(untilReady(send(raw, query("ROLLBACK"))).status()).isEqualTo('I');
        }
    }

    @Test
    void truncatedExtendedMessagesGetAnErrorNamingTheMessage() throws Exception {
        byte[] nameOnly = {'n', 0};
        byte[] textButNoTypes = concat(nameOnly, "SELECT 1".getBytes(java.nio.charset.StandardCharsets.UTF_8),
                new byte[] {0});
        byte[] oneTypeMissing = concat(textButNoTypes, new byte[] {0, 1}); // one parameter type announced, none sent
        Map<byte[], String> cases = new java.util.LinkedHashMap<>();
        // A password message belongs to a login: on a server it would end that connection with a FATAL.
        cases.put(Frontend.msg('p', Frontend.cstr("secret")), "invalid frontend message type 'p' after the login");
        cases.put(Frontend.msg('D'), "invalid 'D' message: no 'S' or 'P' for a statement or a portal");
        cases.put(Frontend.msg('C'), "invalid 'C' message: no 'S' or 'P' for a statement or a portal");
        cases.put(Frontend.msg('P', nameOnly), "invalid 'P' message: missing string terminator");
        cases.put(Frontend.msg('P', textButNoTypes),
                "invalid 'P' message: the parameter types do not match their count");
        cases.put(Frontend.msg('P', oneTypeMissing),
                "invalid 'P' message: the parameter types do not match their count");
        for (Map.Entry<byte[], String> c : cases.entrySet()) {
            try (RawClient raw = loggedIn("trusted", "app")) {
                raw.send(concat(c.getKey(), sync()));
                ErrorResponse e = raw.readError();
                assertThat(e.sqlState()).as(c.getValue()).isEqualTo("08P01");
                assertThat(e.message()).isEqualTo(c.getValue());
                assertThat(raw.closedByServer()).isTrue();
            }
        }
        // A well-formed named Parse is still answered (ParseComplete, then ReadyForQuery at the Sync).
        try (RawClient raw = loggedIn("trusted", "app")) {
            raw.send(concat(Frontend.msg('P', concat(textButNoTypes, new byte[] {0, 0})), sync()));
            assertThat(untilReady(raw).types()).isEqualTo("1Z");
        }
    }

    private static RawClient send(RawClient raw, byte[] bytes) throws Exception {
        raw.send(bytes);
        return raw;
    }

    @Test
    void wrongCancelKeysCancelNothingAndLearnNothing() throws Exception {
        try (RawClient victim = loggedInWithKey("trusted")) {
            long unmatched = stats().cancels(false);
            victim.send(query("SELECT 'finished' FROM pg_sleep(1)"));
            Thread.sleep(200);
            // Right process id with a wrong secret, and an unknown process id: the same silence and close.
            for (CancelRequest wrong : List.of(new CancelRequest(victimPid, victimSecret ^ 1),
                    new CancelRequest(victimPid ^ 0x40000000, victimSecret))) {
                try (RawClient attacker = new RawClient(proxy.port())) {
                    attacker.send(wrong);
                    assertThat(attacker.readByte()).as("no answer to a CancelRequest").isEqualTo(-1);
                }
            }
            Frontend.Answer a = untilReady(victim);
            assertThat(a.types()).isEqualTo("TDCZ");
            assertThat(stats().cancels(false)).isEqualTo(unmatched + 2);
            // The right key cancels, with the same silence towards the sender.
            victim.send(query("SELECT pg_sleep(5)"));
            Thread.sleep(200);
            try (RawClient owner = new RawClient(proxy.port())) {
                owner.send(new CancelRequest(victimPid, victimSecret));
                assertThat(owner.readByte()).isEqualTo(-1);
            }
            Frontend.Answer cancelled = untilReady(victim);
            assertThat(cancelled.error().sqlState()).isEqualTo("57014");
        }
    }

    private int victimPid;
    private int victimSecret;

    /** Logs in and keeps the BackendKeyData pgrelay gave. */
    private RawClient loggedInWithKey(String user) throws Exception {
        RawClient raw = startup(user, "app");
        byte[][] body = new byte[1][];
        char t;
        while ((t = (char) raw.readMessage(body)) != 'Z') {
            if (t == 'K') {
                java.nio.ByteBuffer k = java.nio.ByteBuffer.wrap(body[0]);
                victimPid = k.getInt();
                victimSecret = k.getInt();
            }
        }
        return raw;
    }
}
