package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.ParameterStatus;
import io.pgrelay.protocol.message.ReadyForQuery;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.prepared.Rewrites;
import io.pgrelay.proxy.prepared.ServerStatements;
import io.pgrelay.proxy.prepared.StatementRegistry;
import io.pgrelay.proxy.server.ServerConnection;
import io.pgrelay.proxy.server.ServerLink;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A logged-in client's traffic: takes a server connection when the client sends work, forwards frames both ways,
 * and in transaction mode gives the connection back as soon as the server owes nothing and the transaction status
 * is idle. In transaction mode the client's named prepared statements are mapped to pgrelay's per-text server
 * statements, prepared on each connection on demand.
 *
 * <p>Runs on the client's event loop; server callbacks hop onto it when the connection lives on another loop.
 */
final class Relay implements ServerLink, ResponseTracker.Sink {
    /** What the client session does for the relay. */
    interface Owner {
        /** The first server connection is linked and synced: finish the login with these parameters. */
        void loginReady(Map<String, String> serverParameters);

        /** Sends a FATAL error and closes the client. */
        void fail(ErrorResponse error);
    }

    private record ClientStatement(String serverName, byte[] definition) {
    }

    private final ChannelHandlerContext ctx;
    private final Owner owner;
    private final Pool pool;
    private final boolean transactionMode;
    private final StatementRegistry registry;
    private final SettingsSync settings;
    private final ResponseTracker tracker = new ResponseTracker();
    private final Map<String, ClientStatement> statements = new HashMap<>();
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    /** Replies owed for messages answered without a server (a Parse or Close while the client holds none). */
    private final ArrayDeque<ByteBuf> localReplies = new ArrayDeque<>();

    private volatile ServerConnection server; // volatile: a CancelRequest reads it from another loop
    private Future<ServerConnection> acquiring;
    /** From asking the pool until the connection is synced and linked (the pool may answer at once). */
    private boolean waitingForServer;
    private boolean loggedIn;
    /** Runs while the client sits idle inside a transaction (idle_client_in_transaction_timeout). */
    private ScheduledFuture<?> idleInTransaction;
    private boolean closed;
    private byte status = ReadyForQuery.IDLE;

    Relay(ChannelHandlerContext ctx, Owner owner, Pool pool, StatementRegistry registry, SettingsSync settings) {
        this.ctx = ctx;
        this.owner = owner;
        this.pool = pool;
        this.transactionMode = pool.settings().transactionMode();
        this.registry = registry;
        this.settings = settings;
    }

    /** The server connection serving the client right now, or null between transactions. */
    ServerConnection server() {
        return server;
    }

    // ---- taking a server --------------------------------------------------------------------------------

    /** Login: take a connection, apply the client's settings, learn the parameters to report. */
    void login() {
        acquire();
    }

    private void acquire() {
        waitingForServer = true;
        ctx.channel().config().setAutoRead(false); // hold the client until a server is there
        acquiring = pool.acquire(ctx.channel().eventLoop());
        acquiring.addListener(f -> {
            acquiring = null;
            if (f.isCancelled()) {
                return;
            }
            if (!f.isSuccess()) {
                waitingForServer = false;
                if (!closed) {
                    owner.fail(ClientSession.fatalFor(f.cause()));
                }
                return;
            }
            ServerConnection conn = (ServerConnection) f.getNow();
            if (closed) {
                pool.release(conn);
                return;
            }
            sync(conn);
        });
    }

    /** Applies the client's settings on the connection's loop, links it there, then continues on this loop. */
    private void sync(ServerConnection conn) {
        String sql = settings.sql(conn.parameters(), conn.appliedSettings());
        EventLoop serverLoop = conn.channel().eventLoop();
        serverLoop.execute(() -> {
            Future<Map<String, String>> setup = sql.isEmpty()
                    ? serverLoop.newSucceededFuture(conn.parameters())
                    : conn.runInternal(sql);
            setup.addListener(s -> {
                if (s.isSuccess()) {
                    conn.link(this);
                }
                ctx.executor().execute(() -> synced(conn, setup));
            });
        });
    }

    private void synced(ServerConnection conn, Future<Map<String, String>> setup) {
        waitingForServer = false;
        if (closed) {
            pool.release(conn);
            return;
        }
        if (!setup.isSuccess()) {
            pool.release(conn);
            owner.fail(ClientSession.fatalFor(setup.cause()));
            return;
        }
        Map<String, String> params = setup.getNow();
        settings.recordApplied(params, conn.appliedSettings());
        server = conn;
        while (!localReplies.isEmpty()) {
            tracker.synthetic(localReplies.pollFirst(), this); // owed before anything the server will answer
        }
        if (!loggedIn) {
            loggedIn = true;
            settings.reportedAll(params);
            owner.loginReady(params);
        }
        while (!held.isEmpty()) {
            send(held.pollFirst());
        }
        conn.channel().flush();
        if (transactionMode && tracker.isEmpty() && status == ReadyForQuery.IDLE) {
            giveBack(); // login only, or nothing that needed the server after all
        }
        ctx.channel().config().setAutoRead(true);
    }

    // ---- client -> server -------------------------------------------------------------------------------

    /** A frame from the client (after login). */
    void clientFrame(ByteBuf frame) {
        if (idleInTransaction != null) {
            idleInTransaction.cancel(false);
            idleInTransaction = null;
        }
        if (Frames.type(frame) == MessageType.TERMINATE) {
            frame.release();
            ctx.close();
            return;
        }
        if (server == null) {
            if (transactionMode && !waitingForServer && answeredLocally(frame)) {
                return;
            }
            held.add(frame);
            if (!waitingForServer) {
                acquire();
            }
            return;
        }
        send(frame);
    }

    /**
     * Between transactions, a named Parse or a statement Close needs no server: the statement is recorded (and
     * prepared on a server at its first Bind), the reply given at the next Sync or Flush. This keeps a client that
     * prepares synchronously (libpq's PQprepare, as pgbench -M prepared does) from waiting for a server connection
     * while the clients holding them wait for it.
     */
    private boolean answeredLocally(ByteBuf frame) {
        switch (Frames.type(frame)) {
            case MessageType.PARSE:
                if (Rewrites.parseName(frame).isEmpty()) {
                    return false;
                }
                record(frame);
                localReplies.add(Rewrites.emptyReply(ctx.alloc(), MessageType.PARSE_COMPLETE));
                return true;
            case MessageType.CLOSE:
                if (Rewrites.target(frame) != 'S' || Rewrites.targetName(frame).isEmpty()) {
                    return false;
                }
                statements.remove(Rewrites.targetName(frame));
                frame.release();
                localReplies.add(Rewrites.emptyReply(ctx.alloc(), MessageType.CLOSE_COMPLETE));
                return true;
            case MessageType.SYNC:
            case MessageType.FLUSH:
                if (localReplies.isEmpty()) {
                    return false; // a Sync on its own still gets its ReadyForQuery from a server
                }
                boolean sync = Frames.type(frame) == MessageType.SYNC;
                frame.release();
                while (!localReplies.isEmpty()) {
                    toClient(localReplies.pollFirst());
                }
                if (sync) {
                    toClient(ReadyForQuery.READY_IDLE.encode(ctx.alloc()));
                }
                ctx.flush();
                return true;
            default:
                return false;
        }
    }

    /** Records a client's named Parse (consumes the frame). */
    private ClientStatement record(ByteBuf frame) {
        String name = Rewrites.parseName(frame);
        byte[] definition = Rewrites.parseDefinition(frame);
        frame.release();
        ClientStatement s = new ClientStatement(registry.nameFor(definition), definition);
        statements.put(name, s);
        return s;
    }

    /** End of a read batch from the client: one flush towards the server. */
    void clientReadComplete() {
        if (server != null) {
            server.channel().flush();
        }
    }

    private void send(ByteBuf frame) {
        if (!transactionMode) {
            write(frame); // session mode: the client owns the connection, names and all
            return;
        }
        byte type = Frames.type(frame);
        switch (type) {
            case MessageType.PARSE -> sendParse(frame);
            case MessageType.BIND -> {
                ClientStatement s = statementOf(Rewrites.bindStatement(frame));
                if (s == null) {
                    forward(frame);
                } else {
                    ensurePrepared(s);
                    write(Rewrites.renameBind(ctx.alloc(), frame, s.serverName()));
                    tracker.forwarded(type);
                }
            }
            case MessageType.DESCRIBE -> {
                ClientStatement s = Rewrites.target(frame) == 'S' ? statementOf(Rewrites.targetName(frame)) : null;
                if (s == null) {
                    forward(frame);
                } else {
                    frame.release();
                    ensurePrepared(s);
                    write(Rewrites.statementMessage(ctx.alloc(), MessageType.DESCRIBE, s.serverName()));
                    tracker.forwarded(type);
                }
            }
            case MessageType.CLOSE -> {
                String name = Rewrites.targetName(frame);
                if (Rewrites.target(frame) == 'S' && !name.isEmpty()) {
                    // Server statements are shared and stay prepared; only the client's name goes.
                    frame.release();
                    statements.remove(name);
                    tracker.synthetic(Rewrites.emptyReply(ctx.alloc(), MessageType.CLOSE_COMPLETE), this);
                } else {
                    forward(frame);
                }
            }
            default -> forward(frame);
        }
    }

    private ClientStatement statementOf(String name) {
        return name.isEmpty() ? null : statements.get(name);
    }

    private void sendParse(ByteBuf frame) {
        if (Rewrites.parseName(frame).isEmpty()) {
            forward(frame); // the unnamed statement lives and dies within the client's own batch
            return;
        }
        ClientStatement s = record(frame);
        ServerStatements onServer = server.statements();
        if (onServer.contains(s.serverName())) {
            tracker.synthetic(Rewrites.emptyReply(ctx.alloc(), MessageType.PARSE_COMPLETE), this);
        } else {
            closeEvicted(onServer.add(s.serverName()));
            write(Rewrites.parse(ctx.alloc(), s.serverName(), s.definition()));
            tracker.forwardedParse(s.serverName());
        }
    }

    /** Before a Bind or Describe: a connection that never saw the statement gets its Parse first. */
    private void ensurePrepared(ClientStatement s) {
        ServerStatements onServer = server.statements();
        if (!onServer.contains(s.serverName())) {
            closeEvicted(onServer.add(s.serverName()));
            write(Rewrites.parse(ctx.alloc(), s.serverName(), s.definition()));
            tracker.injected(MessageType.PARSE, s.serverName());
        }
    }

    private void closeEvicted(String evicted) {
        if (evicted != null) {
            write(Rewrites.statementMessage(ctx.alloc(), MessageType.CLOSE, evicted));
            tracker.injected(MessageType.CLOSE, evicted);
        }
    }

    private void forward(ByteBuf frame) {
        tracker.forwarded(Frames.type(frame));
        write(frame);
    }

    private void write(ByteBuf frame) {
        server.channel().write(frame, server.channel().voidPromise());
    }

    // ---- server -> client (ServerLink: called on the server's loop) ---------------------------------------

    @Override
    public void serverFrame(ServerConnection conn, ByteBuf frame) {
        if (ctx.executor().inEventLoop()) {
            onServerFrame(conn, frame);
        } else {
            ctx.executor().execute(() -> onServerFrame(conn, frame));
        }
    }

    @Override
    public void serverReadComplete(ServerConnection conn) {
        if (ctx.executor().inEventLoop()) {
            ctx.flush();
        } else {
            ctx.executor().execute(ctx::flush);
        }
    }

    @Override
    public void serverClosed(ServerConnection conn, String reason) {
        ctx.executor().execute(() -> {
            if (conn == server) {
                server = null;
                tracker.clear();
                owner.fail(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, reason));
            }
        });
    }

    @Override
    public void serverWritabilityChanged(ServerConnection conn, boolean writable) {
        // Backpressure: a server that cannot take more stops the reads from its client.
        ctx.channel().config().setAutoRead(writable);
    }

    /** The client's socket filled up or drained: stop or resume reading from its server. */
    void clientWritabilityChanged(boolean writable) {
        if (server != null) {
            server.channel().config().setAutoRead(writable);
        }
    }

    private void onServerFrame(ServerConnection conn, ByteBuf frame) {
        if (conn != server || closed) {
            frame.release(); // from a connection already given back
            return;
        }
        byte type = Frames.type(frame);
        if (type == MessageType.READY_FOR_QUERY) {
            status = ReadyForQuery.statusOf(frame);
        } else if (type == MessageType.PARAMETER_STATUS) {
            ParameterStatus ps = ParameterStatus.decode(frame);
            settings.reported(ps.name(), ps.value());
        } else if (type == MessageType.COMMAND_COMPLETE && transactionMode) {
            frame = onCommandComplete(frame);
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
        long ms = pool.settings().idleInTransactionTimeout().toMillis();
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

    /** Commands whose effect outlives the transaction, which transaction pooling must account for. */
    private ByteBuf onCommandComplete(ByteBuf frame) {
        byte first = frame.getByte(frame.readerIndex() + Frames.HEADER_LENGTH);
        if (first != 'D' && first != 'S' && first != 'R' && first != 'L') {
            return frame; // SELECT, INSERT, UPDATE...: nothing to learn, no String made
        }
        String tag = frame.toString(frame.readerIndex() + Frames.HEADER_LENGTH, Frames.bodyLength(frame) - 1,
                StandardCharsets.UTF_8);
        switch (tag) {
            case "DISCARD ALL" -> {
                statements.clear();
                server.discarded();
            }
            case "DEALLOCATE ALL" -> {
                statements.clear();
                server.statements().clear();
            }
            case "SET", "RESET" -> server.markDirty(); // a setting pgrelay cannot follow: reset before reuse
            case "LISTEN" -> {
                // Notifications would go to whichever client holds this connection next: refuse, loudly.
                server.markDirty();
                frame.release();
                return ErrorResponse.error(SqlState.FEATURE_NOT_SUPPORTED,
                                "LISTEN is not supported in transaction pooling mode: notifications would be lost")
                        .withHint("use a pool with pool_mode = \"session\" for LISTEN/NOTIFY")
                        .encode(ctx.alloc());
            }
            default -> {
            }
        }
        return frame;
    }

    @Override
    public void toClient(ByteBuf frame) {
        ctx.write(frame, ctx.voidPromise());
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
        server = null;
        ctx.flush();
        pool.release(conn);
    }

    // ---- the end ----------------------------------------------------------------------------------------

    /** The client is gone: give back or drop the connection, release what was held. */
    void close() {
        closed = true;
        if (idleInTransaction != null) {
            idleInTransaction.cancel(false);
        }
        while (!held.isEmpty()) {
            held.pollFirst().release();
        }
        while (!localReplies.isEmpty()) {
            localReplies.pollFirst().release();
        }
        if (acquiring != null) {
            acquiring.cancel(false);
        }
        tracker.clear();
        ServerConnection conn = server;
        if (conn != null) {
            server = null;
            pool.release(conn);
        }
    }

    /** A CancelRequest named this client: cancel on the server only if a query is running there. */
    ServerConnection busyServer() {
        ServerConnection s = server;
        return s != null && s.isBusy() ? s : null;
    }
}
