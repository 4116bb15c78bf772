package io.pgrelay.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgrelay.protocol.FrameDecoder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * One query through pgrelay's real client and server handlers, in process: a client EmbeddedChannel with the
 * pipeline PgRelayServer installs, and a pooled ServerConnection on an EmbeddedChannel that answers with canned
 * PostgreSQL bytes (see {@link EmbeddedProxy}). Everything runs on the benchmark thread, so the time is pgrelay's
 * handler CPU per query plus the EmbeddedChannel plumbing ({@link #harnessOnly} measures that plumbing alone).
 *
 * <p>Transaction mode with pool_size 1: every query takes the server connection from the pool, syncs the client's
 * settings against it, links it, forwards, and gives it back at ReadyForQuery 'I' - the per-transaction work.
 * The client logs in once in setup, except in {@link #loginQueryTerminate}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class RoundTripBenchmark {
    private static final String SELECT = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
    private static final byte[] STARTUP = Wire.startup("app", "app");

    // Requests: what libpq sends for PQexec, PQexecParams (pgbench -M extended) and PQexecPrepared (-M prepared).
    private static final byte[] SIMPLE = Wire.query("SELECT 1");
    private static final byte[] EXTENDED = Wire.concat(Wire.parse("", SELECT, 23), Wire.bind("", "", "4242"),
            Wire.describePortal(""), Wire.execute(""), Wire.sync());
    private static final byte[] PREPARE = Wire.concat(Wire.parse("P0_1", SELECT, 23), Wire.sync());
    private static final byte[] PREPARED = Wire.concat(Wire.bind("", "P0_1", "4242"), Wire.describePortal(""),
            Wire.execute(""), Wire.sync());

    // Answers, as PostgreSQL sends them.
    private static final byte[] SIMPLE_ANSWER = Wire.concat(Wire.rowDescriptionInt4("?column?"), Wire.dataRow("1"),
            Wire.commandComplete("SELECT 1"), Wire.readyForQuery('I'));
    private static final byte[] ROW_ANSWER = Wire.concat(Wire.rowDescriptionInt4("abalance"), Wire.dataRow("-4711"),
            Wire.commandComplete("SELECT 1"), Wire.readyForQuery('I'));
    private static final byte[] EXTENDED_ANSWER = Wire.concat(Wire.parseComplete(), Wire.bindComplete(), ROW_ANSWER);
    private static final byte[] PREPARED_ANSWER = Wire.concat(Wire.bindComplete(), ROW_ANSWER);

    /**
     * pgbench's tpcb-like transaction with {@code -M simple}: seven Query messages, the literals inline. BEGIN is
     * answered by pgrelay (it goes to the server ahead of the first UPDATE); the rest go to the server one by one.
     */
    private static final String[] TPCB = {
        "BEGIN;",
        "UPDATE pgbench_accounts SET abalance = abalance + %2$d WHERE aid = %1$d;",
        "SELECT abalance FROM pgbench_accounts WHERE aid = %1$d;",
        "UPDATE pgbench_tellers SET tbalance = tbalance + %2$d WHERE tid = %3$d;",
        "UPDATE pgbench_branches SET bbalance = bbalance + %2$d WHERE bid = %4$d;",
        "INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (%3$d, %4$d, %1$d, %2$d, CURRENT_TIMESTAMP);",
        "END;",
    };
    /** What the server answers to each (to the first UPDATE: the BEGIN sent ahead of it, then the UPDATE). */
    private static final byte[][] TPCB_ANSWERS = {
        null,
        Wire.concat(Wire.commandComplete("BEGIN"), Wire.readyForQuery('T'), Wire.commandComplete("UPDATE 1"),
                Wire.readyForQuery('T')),
        Wire.concat(Wire.rowDescriptionInt4("abalance"), Wire.dataRow("-4711"), Wire.commandComplete("SELECT 1"),
                Wire.readyForQuery('T')),
        Wire.concat(Wire.commandComplete("UPDATE 1"), Wire.readyForQuery('T')),
        Wire.concat(Wire.commandComplete("UPDATE 1"), Wire.readyForQuery('T')),
        Wire.concat(Wire.commandComplete("INSERT 0 1"), Wire.readyForQuery('T')),
        Wire.concat(Wire.commandComplete("COMMIT"), Wire.readyForQuery('I')),
    };
    /**
     * Distinct transactions, their literals drawn as pgbench draws them (scale 10), cycled through: enough that a
     * text comes round again only after its classifier doorkeeper slot was taken, as with pgbench's random values.
     */
    private static final int TPCB_VARIANTS = 1 << 15;

    private EmbeddedProxy proxy;
    private ByteBuf tpcbTexts;
    private int[] tpcbAt;
    private ByteBuf[] tpcbAnswers;
    private int tpcbNext;
    private EmbeddedChannel client;
    private EmbeddedChannel server;
    private ByteBuf simple;
    private ByteBuf simpleAnswer;
    private ByteBuf extended;
    private ByteBuf extendedAnswer;
    private ByteBuf prepared;
    private ByteBuf preparedAnswer;
    private ByteBuf startup;
    private ByteBuf terminate;

    // The baseline: two channels that only split frames and pass them across.
    private EmbeddedChannel plainClient;
    private EmbeddedChannel plainServer;

    @Setup
    public void setUp() {
        proxy = new EmbeddedProxy();
        simple = Wire.direct(SIMPLE);
        simpleAnswer = Wire.direct(SIMPLE_ANSWER);
        extended = Wire.direct(EXTENDED);
        extendedAnswer = Wire.direct(EXTENDED_ANSWER);
        prepared = Wire.direct(PREPARED);
        preparedAnswer = Wire.direct(PREPARED_ANSWER);
        startup = Wire.direct(STARTUP);
        terminate = Wire.direct(Wire.terminate());

        client = login();
        expectTypes(client, "R" + "S".repeat(11) + "KZ", "login");
        server = proxy.server();
        EmbeddedProxy.drain(server, false);

        // Each scenario once, checked: what reaches the server, and what the client gets back.
        check(simple, "Q", simpleAnswer, SIMPLE_ANSWER);
        check(extended, "PBDES", extendedAnswer, EXTENDED_ANSWER);
        client.writeInbound(Wire.direct(PREPARE)); // PQprepare: answered by pgrelay, no server taken
        expectTypes(client, "1Z", "PQprepare");
        expectTypes(server, "", "PQprepare on the server");
        // First use on this server connection: pgrelay sends the Parse ahead and swallows its ParseComplete.
        check(prepared, "PBDES", extendedAnswer, PREPARED_ANSWER);
        check(prepared, "BDES", preparedAnswer, PREPARED_ANSWER);

        setUpTpcb();

        plainClient = new EmbeddedChannel(FrameDecoder.forFrontend(1 << 30), new Forward(() -> plainServer));
        plainServer = new EmbeddedChannel(FrameDecoder.forBackend(1 << 30), new Forward(() -> plainClient));
    }

    /** The tpcb-like texts in one direct buffer, and one transaction checked: what the server and the client see. */
    private void setUpTpcb() {
        java.util.Random random = new java.util.Random(20261124);
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        tpcbAt = new int[TPCB_VARIANTS * TPCB.length + 1];
        for (int v = 0; v < TPCB_VARIANTS; v++) {
            int aid = 1 + random.nextInt(1_000_000);
            int delta = random.nextInt(10_001) - 5000;
            int tid = 1 + random.nextInt(100);
            int bid = 1 + random.nextInt(10);
            for (int k = 0; k < TPCB.length; k++) {
                tpcbAt[v * TPCB.length + k] = all.size();
                all.writeBytes(Wire.query(String.format(TPCB[k], aid, delta, tid, bid)));
            }
        }
        tpcbAt[TPCB_VARIANTS * TPCB.length] = all.size();
        tpcbTexts = Wire.direct(all.toByteArray());
        tpcbAnswers = new ByteBuf[TPCB.length];
        for (int k = 1; k < TPCB.length; k++) {
            tpcbAnswers[k] = Wire.direct(TPCB_ANSWERS[k]);
        }
        String[] toServer = {"", "QQ", "Q", "Q", "Q", "Q", "Q"};
        String[] toClient = {"CZ", "CZ", "TDCZ", "CZ", "CZ", "CZ", "CZ"};
        for (int k = 0; k < TPCB.length; k++) {
            client.writeInbound(tpcbStatement(TPCB_VARIANTS - 1, k));
            expectTypes(server, toServer[k], "tpcb statement " + k + " to the server");
            if (k > 0) {
                server.writeInbound(tpcbAnswers[k].retainedDuplicate());
            }
            expectTypes(client, toClient[k], "tpcb statement " + k + " to the client");
        }
    }

    private ByteBuf tpcbStatement(int variant, int k) {
        int i = variant * TPCB.length + k;
        return tpcbTexts.retainedSlice(tpcbAt[i], tpcbAt[i + 1] - tpcbAt[i]);
    }

    /** A new client through startup and login; the ParameterStatus, BackendKeyData and ReadyForQuery it got. */
    private EmbeddedChannel login() {
        EmbeddedChannel c = proxy.newClient();
        c.writeInbound(startup.retainedDuplicate());
        return c;
    }

    private void check(ByteBuf request, String toServer, ByteBuf answer, byte[] toClient) {
        client.writeInbound(request.retainedDuplicate());
        expectTypes(server, toServer, "to the server");
        server.writeInbound(answer.retainedDuplicate());
        EmbeddedProxy.expect(client, toClient, "to the client");
    }

    private static void expectTypes(EmbeddedChannel ch, String types, String what) {
        String got = EmbeddedProxy.frameTypes(ch);
        if (!got.equals(types)) {
            throw new IllegalStateException(what + ": expected frames " + types + ", got " + got);
        }
    }

    @TearDown
    public void tearDown() {
        client.finishAndReleaseAll();
        plainClient.finishAndReleaseAll();
        plainServer.finishAndReleaseAll();
        proxy.close();
        for (ByteBuf b : new ByteBuf[] {simple, simpleAnswer, extended, extendedAnswer, prepared, preparedAnswer,
            startup, terminate, tpcbTexts}) {
            b.release();
        }
        for (int k = 1; k < TPCB.length; k++) {
            tpcbAnswers[k].release();
        }
    }

    private void roundTrip(ByteBuf request, ByteBuf answer) {
        client.writeInbound(request.retainedDuplicate());
        EmbeddedProxy.drain(server, false);
        server.writeInbound(answer.retainedDuplicate());
        EmbeddedProxy.drain(client, false);
    }

    /** Simple protocol 'SELECT 1': Q in; RowDescription, DataRow, CommandComplete, ReadyForQuery out. */
    @Benchmark
    public void simpleQuery() {
        roundTrip(simple, simpleAnswer);
    }

    /** Unnamed Parse/Bind/Describe/Execute/Sync of a one-parameter SELECT (pgbench -M extended), one row back. */
    @Benchmark
    public void extendedUnnamed() {
        roundTrip(extended, extendedAnswer);
    }

    /**
     * Bind/Describe/Execute/Sync of a named statement the client prepared (pgbench -M prepared): the Bind renamed
     * to pgrelay's server name, the statement already prepared on the connection.
     */
    @Benchmark
    public void extendedPrepared() {
        roundTrip(prepared, preparedAnswer);
    }

    /**
     * One pgbench tpcb-like transaction, seven Query messages (see {@link #TPCB}), each text new to the classifier
     * as pgbench's random literals make it: BEGIN answered by pgrelay, the first UPDATE takes the server connection
     * (the BEGIN sent ahead of it), END gives it back. Per transaction, not per statement.
     */
    @Benchmark
    public void tpcbTransaction() {
        int v = tpcbNext++ & (TPCB_VARIANTS - 1);
        client.writeInbound(tpcbStatement(v, 0));
        EmbeddedProxy.drain(client, false);
        for (int k = 1; k < TPCB.length; k++) {
            client.writeInbound(tpcbStatement(v, k));
            EmbeddedProxy.drain(server, false);
            server.writeInbound(tpcbAnswers[k].retainedDuplicate());
            EmbeddedProxy.drain(client, false);
        }
    }

    /**
     * A new client per operation: its channel and pipeline, StartupMessage, trust login (pool acquisition, the
     * server's 11 ParameterStatus, a cancel key, ReadyForQuery), one simple query, Terminate and close. The server
     * connection stays open in the pool, as it would.
     */
    @Benchmark
    public void loginQueryTerminate() {
        EmbeddedChannel c = login();
        EmbeddedProxy.drain(c, false);
        c.writeInbound(simple.retainedDuplicate());
        EmbeddedProxy.drain(server, false);
        server.writeInbound(simpleAnswer.retainedDuplicate());
        c.writeInbound(terminate.retainedDuplicate());
        c.finishAndReleaseAll();
    }

    /**
     * The plumbing alone: the simple query's bytes through the same EmbeddedChannel calls, with frame splitting
     * and a pass-through handler on each side instead of pgrelay's handlers. Subtract it from the others to get
     * pgrelay's own share.
     */
    @Benchmark
    public void harnessOnly() {
        plainClient.writeInbound(simple.retainedDuplicate());
        EmbeddedProxy.drain(plainServer, false);
        plainServer.writeInbound(simpleAnswer.retainedDuplicate());
        EmbeddedProxy.drain(plainClient, false);
    }

    /** Writes each frame to the other channel, one flush per read batch, as a minimal proxy would. */
    private static final class Forward extends ChannelInboundHandlerAdapter {
        private final java.util.function.Supplier<Channel> peer;

        Forward(java.util.function.Supplier<Channel> peer) {
            this.peer = peer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Channel p = peer.get();
            p.write(msg, p.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.get().flush();
        }
    }
}
