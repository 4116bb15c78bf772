package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.ProtocolException;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.ParameterStatus;
import io.pgrelay.protocol.message.ReadyForQuery;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.route.PoolGroup;
import io.pgrelay.proxy.route.Router;
import io.pgrelay.proxy.health.HealthMonitor;
import io.pgrelay.config.Routing;
import io.pgrelay.proxy.metrics.RouteStats;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.pgrelay.proxy.prepared.Rewrites;
import io.pgrelay.proxy.prepared.StatementRegistry;
import io.pgrelay.proxy.server.ServerConnection;
import io.pgrelay.proxy.server.ServerLink;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A logged-in client's traffic: takes a server connection when the client sends work, forwards frames both ways,
 * and in transaction mode gives the connection back as soon as the server owes nothing and the transaction status
 * is idle. In transaction mode the client's named prepared statements are mapped to pgrelay's per-text server
 * statements, prepared on each connection on demand.
 *
 * <p>The relay keeps the state both directions share (the linked server, what it owes, the held frames, the
 * transaction status) and the flow between them. Its parts, one each: taking a server ({@link ServerAcquirer}),
 * where a unit goes or what pgrelay answers itself ({@link UnitRouting}), the prepared-statement mapping
 * ({@link PreparedStatements}), the replay of standby reads ({@link StandbyReplay}), the writes to the client
 * ({@link ClientReplies}) and the hops to a server on another event loop ({@link LoopHops}).
 *
 * <p>Runs on the client's event loop; server callbacks hop onto it when the connection lives on another loop.
 */
final class Relay implements ServerLink, ResponseTracker.Sink {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /** What the client session does for the relay. */
    interface Owner {
        /** The first server connection is linked and synced: finish the login with these parameters. */
        void loginReady(Map<String, String> serverParameters);

        /** Sends a FATAL error and closes the client. */
        void fail(ErrorResponse error);
    }

    private final ChannelHandlerContext ctx;
    private final Owner owner;
    private final PoolGroup group;
    private final boolean transactionMode;
    /** Transaction mode only: where each unit of work goes. */
    private final Router router;
    /** The linked connection serves a unit of work routed to the primary: read-your-writes counts it as a write. */
    private boolean routedToPrimary;
    private final SettingsSync settings;
    private final ResponseTracker tracker = new ResponseTracker();
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>(4);
    private final ServerAcquirer acquirer;
    private final PreparedStatements prepared;
    private final UnitRouting units;
    private final StandbyReplay replay = new StandbyReplay(this);
    private final ClientReplies replies;

    private volatile ServerConnection server; // volatile: a CancelRequest reads it from another loop
    /** Frames, or one frame's bytes, held while waiting for a server before the client is no longer read. */
    private static final int HELD_WHILE_WAITING = 16;
    private static final int HELD_BYTES_WHILE_WAITING = 64 * 1024;
    /** Frames to and from a server connection on another loop. */
    private final LoopHops hops;
    /** How long writes wait for a primary to appear (failover_timeout); set by the session. */
    java.time.Duration failoverTimeout = java.time.Duration.ofSeconds(30);
    /** Frames written to the client since the current unit was sent; a replay needs none. */
    private int repliesThisUnit;
    /** The server's FATAL went to the client as an ERROR; its close then only needs ReadyForQuery. */
    private boolean serverErrorSent;
    private boolean loggedIn;
    /** Servers' WAL positions and lag for choosing standbys; set by the session, may stay null. */
    HealthMonitor monitor;
    /** Where routing decisions are counted (SHOW ROUTES, metrics); set by the session. */
    RouteStats routes = RouteStats.NONE;
    /** Runs while the client sits idle inside a transaction (idle_client_in_transaction_timeout). */
    private ScheduledFuture<?> idleInTransaction;
    private boolean closed;
    private byte status = ReadyForQuery.IDLE;
    /** max_client_prepared_statements (0: none) and where refusals are counted; set by the session. */
    int maxPreparedStatements;
    io.pgrelay.proxy.metrics.LimitStats limitStats = io.pgrelay.proxy.metrics.LimitStats.NONE;

    Relay(ChannelHandlerContext ctx, Owner owner, PoolGroup group, StatementRegistry registry,
          SettingsSync settings) {
        this.ctx = ctx;
        this.replies = new ClientReplies(ctx);
        this.hops = new LoopHops(ctx, this::onServerFrame);
        this.owner = owner;
        this.group = group;
        this.transactionMode = group.configuredPrimary().settings().transactionMode();
        this.router = transactionMode ? new Router(group.routing()) : null;
        this.settings = settings;
        this.acquirer = new ServerAcquirer(this, ctx, owner, group, router, settings);
        this.prepared = new PreparedStatements(this, ctx, tracker, registry, group);
        this.units = new UnitRouting(this, ctx, group, router, acquirer, prepared, held);
    }

    /** The server connection serving the client right now, or null between transactions. */
    ServerConnection server() {
        return server;
    }

    boolean closed() {
        return closed;
    }

    /** Whether the first server connection was linked and the client told it is logged in. */
    boolean loggedIn() {
        return loggedIn;
    }

    /** The client's transaction status, as the last ReadyForQuery said (or pgrelay's own answer to a BEGIN). */
    byte status() {
        return status;
    }

    void status(byte status) {
        this.status = status;
    }

    /** Whether the unit being routed counts for read-your-writes when its connection goes back. */
    void routedToPrimary(boolean routedToPrimary) {
        this.routedToPrimary = routedToPrimary;
    }

    // ---- taking a server --------------------------------------------------------------------------------

    /** Login: take a connection, apply the client's settings, learn the parameters to report. */
    void login() {
        acquirer.acquire(Router.Target.PRIMARY);
    }

    /** The acquirer linked {@code conn} and applied the client's settings on it: it serves the client now. */
    void linked(ServerConnection conn) {
        server = conn;
        if (!ctx.channel().isWritable()) {
            conn.channel().config().setAutoRead(false); // the client is still behind: wait until it drains
        }
        traffic.assigned();
        // A read on a standby may run again elsewhere if its server dies before answering anything: keep it.
        // Replies pgrelay owed for frames it answered itself go out now and are not part of what is replayed.
        boolean keep = transactionMode && acquirer.target() == Router.Target.STANDBY && status == ReadyForQuery.IDLE
                && units.deferredBegin() == null && replay.mayKeep();
        prepared.localRepliesFirst();
        String begin = units.deferredBegin();
        if (begin != null && transactionMode) {
            write(new io.pgrelay.protocol.message.Query(begin).encode(ctx.alloc()));
            tracker.injectedQuery(); // the client was answered already
            units.forgetDeferredBegin();
        }
        if (!loggedIn) {
            loggedIn = true;
            Map<String, String> params = conn.parameters(); // a copy, once per client
            settings.reportedAll(params);
            owner.loginReady(params);
        }
        repliesThisUnit = 0;
        while (!held.isEmpty()) {
            ByteBuf frame = held.pollFirst();
            if (keep) {
                replay.keep(frame);
            }
            send(frame);
        }
        replay.sent(tracker.size());
        hops.flushServer(conn.channel());
        if (transactionMode && tracker.isEmpty() && status == ReadyForQuery.IDLE) {
            giveBack(); // login only, or nothing that needed the server after all
        }
        ctx.channel().config().setAutoRead(true);
    }

    // ---- client -> server -------------------------------------------------------------------------------

    /** A frame from the client (after login). */
    void clientFrame(ByteBuf frame) {
        traffic.request(frame);
        if (idleInTransaction != null) {
            idleInTransaction.cancel(false);
            idleInTransaction = null;
        }
        byte type = Frames.type(frame);
        if (type == MessageType.TERMINATE) {
            frame.release();
            ctx.close();
            return;
        }
        if (type == MessageType.PASSWORD) {
            // Only part of a login: on a server it would end that connection with a FATAL, perhaps once the
            // connection is back in the pool.
            frame.release();
            throw new ProtocolException("invalid frontend message type 'p' after the login");
        }
        if (prepared.discarded(frame)) {
            return; // skipped unread up to the Sync, as PostgreSQL skips after an error
        }
        if (transactionMode) {
            try {
                Rewrites.checkFields(frame); // what pgrelay reads from Parse, Bind, Describe and Close is there
            } catch (ProtocolException e) {
                frame.release();
                throw e;
            }
        }
        if (server == null) {
            if (transactionMode && !acquirer.waiting() && held.isEmpty() && (type == MessageType.COPY_DATA
                    || type == MessageType.COPY_DONE || type == MessageType.COPY_FAIL)) {
                // The rest of a COPY whose server is gone: PostgreSQL, too, drops these after failing the COPY.
                frame.release();
                return;
            }
            // Only with nothing held: a local answer must not overtake replies owed for held frames.
            if (transactionMode && !acquirer.waiting() && held.isEmpty() && prepared.answeredLocally(frame)) {
                return;
            }
            held.add(frame);
            if (!acquirer.waiting()) {
                if (transactionMode) {
                    units.routeHeld();
                } else {
                    acquirer.acquire(Router.Target.PRIMARY); // session mode always uses the primary
                }
            } else if (held.size() >= HELD_WHILE_WAITING || frame.readableBytes() >= HELD_BYTES_WHILE_WAITING) {
                ctx.channel().config().setAutoRead(false); // until a server takes what is held (linked)
            }
            return;
        }
        if (transactionMode && tracker.isEmpty() && units.answeredByRouter(frame)) {
            return;
        }
        send(frame);
    }

    /** End of a read batch from the client: one flush towards the server. */
    void clientReadComplete() {
        ServerConnection s = server;
        if (s != null) {
            hops.flushServer(s.channel());
        }
    }

    private void send(ByteBuf frame) {
        if (prepared.discarded(frame)) {
            return;
        }
        if (!transactionMode) {
            write(frame); // session mode: the client owns the connection, names and all
            return;
        }
        byte type = Frames.type(frame);
        switch (type) {
            case MessageType.PARSE -> prepared.sendParse(frame);
            case MessageType.BIND -> prepared.sendBind(frame);
            case MessageType.DESCRIBE -> prepared.sendDescribe(frame);
            case MessageType.CLOSE -> prepared.sendClose(frame);
            default -> forward(frame);
        }
    }

    void forward(ByteBuf frame) {
        tracker.forwarded(Frames.type(frame));
        write(frame);
    }

    void write(ByteBuf frame) {
        if (Frames.type(frame) == MessageType.PARSE) {
            traffic.serverParse();
        }
        hops.write(server.channel(), frame);
    }

    // ---- server -> client (ServerLink: called on the server's loop) ---------------------------------------

    @Override
    public void serverFrame(ServerConnection conn, ByteBuf frame) {
        if (ctx.executor().inEventLoop()) {
            onServerFrame(conn, frame);
            return;
        }
        hops.cross(frame);
    }

    /**
     * A frame in place in the server's read: passed on without a buffer of its own when all it takes is its type,
     * a ReadyForQuery's status or a CommandComplete's tag length; otherwise as a slice through {@link #onServerFrame}.
     */
    @Override
    public void serverFrame(ServerConnection conn, ByteBuf run, int at, int length) {
        if (!ctx.executor().inEventLoop()) {
            serverFrame(conn, run.retainedSlice(at, length)); // crosses loops with the batch
            return;
        }
        if (conn != server || closed) {
            return; // from a connection already given back
        }
        byte type = run.getByte(at);
        if (type == MessageType.ERROR_RESPONSE || type == MessageType.PARAMETER_STATUS
                || type == MessageType.NOTICE_RESPONSE && replay.kept()
                || type == MessageType.COMMAND_COMPLETE && transactionMode && OutlivingCommands.mayMatter(run, at)) {
            replies.end();
            onServerFrame(conn, run.retainedSlice(at, length)); // decoded, held back or replaced
            return;
        }
        if (replay.kept()) {
            replay.answered();
        }
        if (type == MessageType.READY_FOR_QUERY) {
            status = ReadyForQuery.statusAt(run, at);
        }
        if (!transactionMode) {
            pass(run, at, length);
            if (type == MessageType.READY_FOR_QUERY && status != ReadyForQuery.IDLE) {
                watchIdleInTransaction();
            }
            return;
        }
        int verdict = tracker.judge(type, this);
        if (verdict == ResponseTracker.PASS || verdict == ResponseTracker.FORWARD_THEN_DUE) {
            pass(run, at, length);
        }
        if (verdict == ResponseTracker.FORWARD_THEN_DUE || verdict == ResponseTracker.DROP_THEN_DUE) {
            tracker.emitSynthetics(this);
        }
        if (type == MessageType.READY_FOR_QUERY && tracker.isEmpty() && held.isEmpty()) {
            if (status == ReadyForQuery.IDLE) {
                giveBack();
            } else {
                watchIdleInTransaction();
            }
        }
    }

    @Override
    public void serverFramesGiven(ServerConnection conn) {
        if (ctx.executor().inEventLoop()) {
            replies.end();
        }
    }

    private void pass(ByteBuf run, int at, int length) {
        repliesThisUnit++;
        traffic.response(run, at, length);
        replies.pass(run, at, length);
    }

    @Override
    public void serverReadComplete(ServerConnection conn) {
        if (ctx.executor().inEventLoop()) {
            replies.flush();
        } else {
            hops.handOver(conn, true);
        }
    }

    @Override
    public void serverClosed(ServerConnection conn, String reason) {
        if (!ctx.executor().inEventLoop()) {
            hops.handOver(conn, false); // frames read before the close come first
        }
        ctx.executor().execute(() -> {
            if (conn != server) {
                return;
            }
            server = null;
            hops.dropOutbox(); // written since the last flush, to a server that is gone (flushes come first, so rare)
            if (replay.mayRerun(tracker.size()) && repliesThisUnit == 0 && !closed) {
                tracker.clear();
                log.info("pool {}: standby {} closed the connection before answering; the read runs elsewhere",
                        acquirer.pool().key(), conn.target().address());
                replay.rerun(held, ctx.alloc());
                acquirer.acquire(Router.Target.STANDBY);
                return;
            }
            replay.drop();
            boolean survivable = survivesServerLoss();
            tracker.clear();
            routedToPrimary = false;
            if (!survivable || closed) {
                owner.fail(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, reason));
                return;
            }
            // Transaction mode, one unit in flight that opened no transaction before it: the unit failed, the
            // client did not. It hears why (unless the server's own error said so already) and goes on; its next
            // unit takes a connection wherever the health checks send it.
            if (!serverErrorSent) {
                toClient(ErrorResponse.error(SqlState.CONNECTION_FAILURE, reason + " while the statement was running;"
                        + " it may or may not have taken effect").encode(ctx.alloc()));
            }
            serverErrorSent = false;
            toClient(new ReadyForQuery(ReadyForQuery.IDLE).encode(ctx.alloc()));
            status = ReadyForQuery.IDLE;
            ctx.flush();
            ctx.channel().config().setAutoRead(true);
            log.info("pool {}: server {} closed the connection with a statement in flight; the client was told and "
                    + "stays connected", acquirer.pool().key(), conn.target().address());
        });
    }

    /**
     * Whether losing the server now costs only the unit in flight: transaction mode, no transaction open before the
     * unit (so nothing earlier is lost), and exactly one ReadyForQuery owed (one Query, or one batch up to Sync).
     */
    private boolean survivesServerLoss() {
        return transactionMode && status == ReadyForQuery.IDLE && tracker.pendingReady() == 1 && held.isEmpty()
                && prepared.noLocalReplies();
    }

    /**
     * A FATAL from the server (terminated backend, shutdown) would make the client's driver drop its connection
     * to pgrelay too. When the unit is all that is lost, it goes to the client as an ERROR with the same code and
     * message; the connection's close then ends the unit with ReadyForQuery ({@link #serverClosed}).
     */
    private ByteBuf softenFatal(ByteBuf frame) {
        ErrorResponse e = ErrorResponse.decode(frame);
        if (!e.isFatal() || !survivesServerLoss()) {
            return frame;
        }
        frame.release();
        serverErrorSent = true;
        return ErrorResponse.error(e.sqlState(), e.message()).encode(ctx.alloc());
    }

    @Override
    public void serverWritabilityChanged(ServerConnection conn, boolean writable) {
        // Backpressure: a server that cannot take more stops the reads from its client.
        ctx.channel().config().setAutoRead(writable);
    }

    /** The client's socket filled up or drained: stop or resume reading from its server. */
    void clientWritabilityChanged(boolean writable) {
        ServerConnection s = server;
        if (s != null) {
            if (!writable) {
                limitStats.paused();
            }
            s.channel().config().setAutoRead(writable);
        }
    }

    private void onServerFrame(ServerConnection conn, ByteBuf frame) {
        if (conn != server || closed) {
            frame.release(); // from a connection already given back
            return;
        }
        if (replay.heldBack(frame)) {
            return; // a notice before the answer of a read that may run again elsewhere
        }
        byte type = Frames.type(frame);
        if (type == MessageType.READY_FOR_QUERY) {
            status = ReadyForQuery.statusOf(frame);
        } else if (type == MessageType.PARAMETER_STATUS) {
            ParameterStatus ps = ParameterStatus.decode(frame);
            settings.reported(ps.name(), ps.value());
        } else if (type == MessageType.COMMAND_COMPLETE && transactionMode) {
            frame = OutlivingCommands.onCommandComplete(frame, prepared, server, ctx.alloc());
        } else if (type == MessageType.ERROR_RESPONSE && transactionMode) {
            frame = softenFatal(frame);
        }
        if (!transactionMode) {
            toClient(frame);
            if (type == MessageType.READY_FOR_QUERY && status != ReadyForQuery.IDLE) {
                watchIdleInTransaction();
            }
            return;
        }
        if (tracker.onServerFrame(frame, this)) {
            toClient(frame);
        }
        if (type == MessageType.READY_FOR_QUERY && tracker.isEmpty() && held.isEmpty()) {
            if (status == ReadyForQuery.IDLE) {
                giveBack();
            } else {
                watchIdleInTransaction();
            }
        }
    }

    /** A client inside a transaction holds a server connection; idle there too long, it loses both. */
    private void watchIdleInTransaction() {
        long ms = group.configuredPrimary().settings().idleInTransactionTimeout().toMillis();
        if (ms <= 0 || idleInTransaction != null) {
            return;
        }
        idleInTransaction = ctx.executor().schedule(() -> {
            idleInTransaction = null;
            if (!closed && server != null && status != ReadyForQuery.IDLE) {
                owner.fail(ErrorResponse.fatal("25P03", "terminating connection due to idle-in-transaction timeout"
                        + " (idle_client_in_transaction_timeout = " + ms + " ms)"));
            }
        }, ms, TimeUnit.MILLISECONDS);
    }

    @Override
    public void toClient(ByteBuf frame) {
        repliesThisUnit++;
        traffic.response(frame);
        replies.write(frame);
    }

    @Override
    public void notPrepared(String statement) {
        if (server != null) {
            server.statements().remove(statement);
        }
    }

    @Override
    public void notClosed(String statement) {
        if (server != null) {
            server.statements().add(statement);
        }
    }

    /** Transaction mode: the server owes nothing and no transaction is open, so another client may have it. */
    private void giveBack() {
        ServerConnection conn = server;
        Pool pool = acquirer.pool();
        replies.end();
        hops.sendOutbox(conn.channel());
        server = null;
        replies.flush();
        boolean wrote = routedToPrimary && router != null;
        routedToPrimary = false;
        if (wrote && group.routing().readYourWrites() == Routing.ReadYourWrites.LSN) {
            // Ask the same server where its WAL is now (at or past this client's commit) before giving it back.
            router.lsnPending();
            conn.channel().eventLoop().execute(() -> {
                conn.unlink();
                conn.queryInternal(CURRENT_LSN).addListener(f -> {
                    long lsn = Long.MAX_VALUE; // unknown: reads stay on the primary, the safe side
                    if (f.isSuccess()) {
                        @SuppressWarnings("unchecked")
                        List<List<String>> rows = (List<List<String>>) f.getNow();
                        lsn = Long.parseLong(rows.get(0).get(0));
                    }
                    long at = lsn;
                    ctx.executor().execute(() -> router.wroteAt(at));
                    pool.release(conn);
                });
            });
            return;
        }
        if (wrote) {
            router.wrote(System.nanoTime()); // read-your-writes window: anything routed to the primary may write
        }
        pool.release(conn);
    }

    private static final String CURRENT_LSN = "SELECT (pg_catalog.pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint";

    // ---- the end ----------------------------------------------------------------------------------------

    /** The client is gone: give back or drop the connection, release what was held. */
    void close() {
        closed = true;
        traffic.flushBytes();
        units.forgetDeferredBegin();
        if (idleInTransaction != null) {
            idleInTransaction.cancel(false);
        }
        while (!held.isEmpty()) {
            held.pollFirst().release();
        }
        prepared.close();
        replay.drop();
        acquirer.cancel();
        tracker.clear();
        ServerConnection conn = server;
        if (conn != null) {
            hops.sendOutbox(conn.channel()); // what the client sent last goes first, as if it had been written at once
            server = null;
            acquirer.pool().release(conn);
        }
    }

    /** SHOW STATS / metrics counters of this client (set by the session before login). */
    io.pgrelay.proxy.metrics.ClientTraffic traffic = io.pgrelay.proxy.metrics.ClientTraffic.NONE;

    /** The client's named prepared statements (SHOW CLIENTS, SHOW PREPARED). */
    int preparedCount() {
        return prepared.count();
    }

    /** A CancelRequest named this client: cancel on the server only if a query is running there. */
    ServerConnection busyServer() {
        ServerConnection s = server;
        return s != null && s.isBusy() ? s : null;
    }
}
