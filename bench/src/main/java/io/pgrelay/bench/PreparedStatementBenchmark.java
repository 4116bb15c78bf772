package io.pgrelay.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.proxy.prepared.Rewrites;
import io.pgrelay.proxy.prepared.ServerStatements;
import io.pgrelay.proxy.prepared.StatementRegistry;
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

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The prepared statement map of transaction pooling, per message: the steps Relay runs for a client's named Parse
 * and Bind (Relay.send/sendParse/ensurePrepared/record), repeated here call for call because they are private to
 * Relay. The building blocks are pgrelay's own: {@link Rewrites}, {@link StatementRegistry} (statement text to the
 * shared server name) and {@link ServerStatements} (the per-connection LRU, 200 like the proxy's). Not included:
 * routing (classifying the statement), the response tracker, metrics and the socket write; the round trip benchmark
 * has those. Each output frame is released where the socket write would release it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class PreparedStatementBenchmark {
    /** The proxy's per-connection statement cache size (Reloader.STATEMENT_CACHE_SIZE). */
    private static final int LRU_CAPACITY = 200;
    /** Twice the LRU: cycling through them in order, every statement was evicted 200 Parses ago. */
    private static final int CYCLED = 2 * LRU_CAPACITY;

    /** As Relay's private record: the shared server name and the Parse body after the client's name. */
    private record ClientStatement(String serverName, byte[] definition) {
    }

    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT; // what ctx.alloc() gives pgrelay's channels
    private StatementRegistry registry;
    private Map<String, ClientStatement> statements; // the client's names (Relay.statements)
    private ServerStatements onServer;
    private ServerStatements fullServer;

    private ByteBuf parseFrame;
    private ByteBuf bindFrame;
    private ByteBuf[] cycledParses;
    private int next;

    @Setup
    public void setUp() {
        registry = new StatementRegistry();
        statements = new HashMap<>();
        onServer = new ServerStatements(LRU_CAPACITY);
        // pgbench -M prepared's statement, as libpq sends it (named, one int4 parameter).
        parseFrame = Wire.direct(Wire.parse("P0_1",
                "SELECT abalance FROM pgbench_accounts WHERE aid = $1", 23));
        bindFrame = Wire.direct(Wire.bind("", "P0_1", "4242"));
        // Prepared by the client and on this server connection already: the steady state.
        ClientStatement s = record(parseFrame.retainedDuplicate());
        onServer.add(s.serverName());

        // ORM-sized statements, all known to the registry (other clients use them) but cycling through a full LRU.
        fullServer = new ServerStatements(LRU_CAPACITY);
        cycledParses = new ByteBuf[CYCLED];
        for (int i = 0; i < CYCLED; i++) {
            String sql = "SELECT t0.id, t0.tenant_id, t0.email, t0.display_name, t0.created_at, t0.updated_at "
                    + "FROM app_user t0 WHERE t0.tenant_id = $1 AND t0.id = $2 AND t0.shard = " + i;
            cycledParses[i] = Wire.direct(Wire.parse("S_" + (i + 1), sql, 20, 20));
        }
        for (int i = 0; i < CYCLED; i++) {
            parseEvicting(); // fills the LRU; the measured calls all miss and evict
        }
        if (fullServer.size() != LRU_CAPACITY) {
            throw new IllegalStateException("LRU not full: " + fullServer.size());
        }
    }

    @TearDown
    public void tearDown() {
        parseFrame.release();
        bindFrame.release();
        for (ByteBuf b : cycledParses) {
            b.release();
        }
    }

    /** Relay.record: the client's name now means this definition; its server name comes from the registry. */
    private ClientStatement record(ByteBuf frame) {
        String name = Rewrites.parseName(frame);
        byte[] definition = Rewrites.parseDefinition(frame);
        frame.release();
        ClientStatement s = new ClientStatement(registry.nameFor(definition), definition);
        statements.put(name, s);
        return s;
    }

    /**
     * A Bind naming a statement the client prepared and the server connection has: client name lookup, LRU check
     * (twice, as Relay counts the hit first) and the renamed Bind (a new head plus a retained slice of the
     * parameters).
     */
    @Benchmark
    public int bindKnown() {
        ByteBuf frame = bindFrame.retainedDuplicate();
        String name = Rewrites.bindStatement(frame);
        ClientStatement s = name.isEmpty() ? null : statements.get(name);
        boolean hit = onServer.contains(s.serverName());
        if (!onServer.contains(s.serverName())) {
            throw new IllegalStateException("statement not prepared on the server");
        }
        ByteBuf out = Rewrites.renameBind(alloc, frame, s.serverName());
        int size = out.readableBytes();
        out.release();
        return hit ? size : -size;
    }

    /**
     * A named Parse of a statement this server connection has prepared already (a client re-preparing, JDBC after
     * prepareThreshold): the definition is copied out and looked up in the registry, the client's name recorded,
     * and ParseComplete answered by pgrelay instead of the server.
     */
    @Benchmark
    public int parseAlreadyPrepared() {
        ByteBuf frame = parseFrame.retainedDuplicate();
        if (Rewrites.parseName(frame).isEmpty()) {
            throw new IllegalStateException("unnamed");
        }
        ClientStatement s = record(frame);
        boolean hit = onServer.contains(s.serverName());
        if (!onServer.contains(s.serverName())) {
            throw new IllegalStateException("statement not prepared on the server");
        }
        ByteBuf reply = Rewrites.emptyReply(alloc, MessageType.PARSE_COMPLETE);
        reply.release();
        return hit ? 1 : 0;
    }

    /**
     * A named Parse of a statement the registry knows but this server connection does not, its LRU full: the least
     * recently used statement is evicted and closed (a Close frame), and the Parse rebuilt under the server name.
     */
    @Benchmark
    public int parseEvicting() {
        ByteBuf frame = cycledParses[next].retainedDuplicate();
        next = next + 1 == CYCLED ? 0 : next + 1;
        if (Rewrites.parseName(frame).isEmpty()) {
            throw new IllegalStateException("unnamed");
        }
        ClientStatement s = record(frame);
        boolean hit = fullServer.contains(s.serverName());
        int size = 0;
        if (!fullServer.contains(s.serverName())) {
            String evicted = fullServer.add(s.serverName());
            if (evicted != null) {
                ByteBuf close = Rewrites.statementMessage(alloc, MessageType.CLOSE, evicted);
                size += close.readableBytes();
                close.release();
            }
            ByteBuf parse = Rewrites.parse(alloc, s.serverName(), s.definition());
            size += parse.readableBytes();
            parse.release();
        }
        return hit ? -size : size;
    }
}
