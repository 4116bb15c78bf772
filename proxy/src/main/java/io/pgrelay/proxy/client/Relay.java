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
import io.netty.buffer.Unpooled;
import io.pgrelay.protocol.message.CommandComplete;
import io.pgrelay.protocol.sql.Classification;
import io.pgrelay.protocol.sql.Command;
import io.pgrelay.protocol.sql.RoleHint;
import io.pgrelay.protocol.sql.StatementClassifier;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.route.PoolGroup;
import io.pgrelay.proxy.route.Router;
import io.pgrelay.proxy.health.HealthMonitor;
import io.pgrelay.config.Routing;
import io.pgrelay.proxy.metrics.RouteStats;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.pgrelay.proxy.prepared.Rewrites;
import io.pgrelay.proxy.prepared.ServerStatements;
import io.pgrelay.proxy.prepared.StatementRegistry;
import io.pgrelay.proxy.server.ServerConnection;
import io.pgrelay.proxy.server.ServerLink;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
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
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
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
    private final PoolGroup group;
    private final boolean transactionMode;
    /** Transaction mode only: where each unit of work goes. */
    private final Router router;
    private final StatementClassifier classifier;
    /** The pool the linked (or coming) server connection belongs to. */
    private Pool current;
    /** The linked connection serves a unit of work routed to the primary: read-your-writes counts it as a write. */
    private boolean routedToPrimary;
    private final StatementRegistry registry;
    private final SettingsSync settings;
    private final ResponseTracker tracker = new ResponseTracker();
    private final Map<String, ClientStatement> statements = new HashMap<>();
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>(4);
    /** Replies owed for messages answered without a server (a Parse or Close while the client holds none). */
    private final ArrayDeque<ByteBuf> localReplies = new ArrayDeque<>(1);

    private volatile ServerConnection server; // volatile: a CancelRequest reads it from another loop
    private Future<ServerConnection> acquiring;
    /** From asking the pool until the connection is synced and linked (the pool may answer at once). */
    private boolean waitingForServer;
    /** Connections found dead while being set up for the current unit; bounded so a dying server fails fast. */
    private int deadOnArrival;
    private static final int DEAD_ON_ARRIVAL_RETRIES = 3;
    /** How often a client waiting out a failover asks for a server again. */
    private static final long FAILOVER_RETRY_MS = 50;
    /** Frames, or one frame's bytes, held while waiting for a server before the client is no longer read. */
    private static final int HELD_WHILE_WAITING = 16;
    private static final int HELD_BYTES_WHILE_WAITING = 64 * 1024;
    /** While a held unit is routed: its last classification, by frame (the frames stay held meanwhile). */
    private boolean routing;
    private ByteBuf memoFrame;
    private Classification memoClassification;
    /** Server frames read on another loop, handed to this client's loop once per read batch (server loop only). */
    private java.util.ArrayList<ByteBuf> crossing;
    /** How long writes wait for a primary to appear (failover_timeout); set by the session. */
    java.time.Duration failoverTimeout = java.time.Duration.ofSeconds(30);
    /**
     * The frames of a read unit on a standby, retained until its server answers anything: if the server dies first,
     * nothing was run that matters (a standby writes nothing) and nothing reached the client, so the unit runs
     * again on another server instead of failing.
     */
    private final ArrayDeque<ByteBuf> replay = new ArrayDeque<>(4);
    /** Notices a replayable unit's server sent before any answer: forwarded with the answer, dropped on replay. */
    private final ArrayDeque<ByteBuf> heldNotices = new ArrayDeque<>(1);
    private int replays;
    private static final int MAX_REPLAYS = 2;
    /** What the server owed right after the unit was sent: more means the client sent more since (no replay). */
    private int unitEntries;
    /** Frames written to the client since the current unit was sent; a replay needs none. */
    private int repliesThisUnit;
    /** The server's FATAL went to the client as an ERROR; its close then only needs ReadyForQuery. */
    private boolean serverErrorSent;
    /** When the current wait for a server gives up; 0 while not waiting. */
    private long failoverDeadlineNanos;
    private Throwable failoverCause;
    private Router.Target currentTarget = Router.Target.PRIMARY;
    private boolean loggedIn;
    /** Servers' WAL positions and lag for choosing standbys; set by the session, may stay null. */
    HealthMonitor monitor;
    /**
     * A plain BEGIN answered by pgrelay and not yet sent: the transaction's server is chosen by what follows
     * (SET TRANSACTION READ ONLY may take it to a standby); the text is sent ahead of the next unit.
     */
    private String deferredBegin;
    /** Where routing decisions are counted (SHOW ROUTES, metrics); set by the session. */
    RouteStats routes = RouteStats.NONE;
    /** Runs while the client sits idle inside a transaction (idle_client_in_transaction_timeout). */
    private ScheduledFuture<?> idleInTransaction;
    private boolean closed;
    private byte status = ReadyForQuery.IDLE;
    /** max_client_prepared_statements (0: none) and where refusals are counted; set by the session. */
    int maxPreparedStatements;
    io.pgrelay.proxy.metrics.LimitStats limitStats = io.pgrelay.proxy.metrics.LimitStats.NONE;
    /** After an error pgrelay raised in an extended batch: the client's messages are skipped up to Sync, as
     * PostgreSQL does after an error. */
    private boolean discardUntilSync;
    private boolean preparedLimitLogged;

    Relay(ChannelHandlerContext ctx, Owner owner, PoolGroup group, StatementRegistry registry,
          SettingsSync settings) {
        this.ctx = ctx;
        this.owner = owner;
        this.group = group;
        this.transactionMode = group.configuredPrimary().settings().transactionMode();
        this.router = transactionMode ? new Router(group.routing()) : null;
        this.classifier = group.classifier(); // the group's own lists and catalog
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
        acquire(Router.Target.PRIMARY);
    }

    private void acquire(Router.Target target) {
        Pool pool = target == Router.Target.STANDBY
                ? group.forRead(monitor, router == null ? 0 : router.minLsn()) : group.primary();
        deadOnArrival = 0;
        if (pool == null) {
            awaitFailover(target, null);
            return;
        }
        acquireFrom(pool, target);
    }

    /**
     * No server for {@code target} now (no primary during a failover, or it refuses connections): the client waits,
     * unread, and asks again every {@link #FAILOVER_RETRY_MS} until failover_timeout has passed since it started
     * waiting, then gets a FATAL error naming the wait.
     */
    private void awaitFailover(Router.Target target, Throwable cause) {
        if (cause != null) {
            failoverCause = cause; // said in the final error even if later tries found no server to ask at all
        }
        waitingForServer = true;
        ctx.channel().config().setAutoRead(false);
        long now = System.nanoTime();
        if (failoverDeadlineNanos == 0) {
            failoverDeadlineNanos = now + failoverTimeout.toNanos();
        } else if (now - failoverDeadlineNanos >= 0) {
            failoverDeadlineNanos = 0;
            waitingForServer = false;
            owner.fail(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, (target == Router.Target.PRIMARY
                    ? "no primary server" : "no server") + " available for database \"" + group.key().database()
                    + "\" within failover_timeout (" + failoverTimeout.toMillis() + " ms)"
                    + (failoverCause != null ? ": " + failoverCause.getMessage() : healthSays())));
            failoverCause = null;
            return;
        }
        ctx.executor().schedule(() -> {
            if (!closed) {
                acquire(target);
            }
        }, FAILOVER_RETRY_MS, TimeUnit.MILLISECONDS);
    }

    /** What the health checks say of the configured primary, for an error when no server was even tried. */
    private String healthSays() {
        String address = group.configuredPrimary().target().address();
        String error = monitor == null ? null : monitor.lastError(address);
        return error == null ? "" : "; health checks of " + address + ": " + error;
    }

    private void acquireFrom(Pool pool, Router.Target target) {
        waitingForServer = true;
        traffic.waiting();
        current = pool;
        currentTarget = target;
        // The client stays readable meanwhile (no epoll change per transaction): what it sends is held, and reading
        // stops only if it sends much before a server is there (clientFrame).
        acquiring = pool.acquire(ctx.channel().eventLoop());
        acquiring.addListener(f -> {
            acquiring = null;
            if (f.isCancelled()) {
                return;
            }
            if (!f.isSuccess()) {
                waitingForServer = false;
                if (!closed && target == Router.Target.STANDBY && pool != group.primary() && loggedIn) {
                    // A read that found no standby connection runs on the primary rather than failing.
                    log.warn("pool {}: no connection to standby {} ({}); reading from the primary",
                            pool.key(), pool.target().address(), f.cause().getMessage());
                    acquire(Router.Target.PRIMARY);
                    return;
                }
                if (!closed && f.cause() instanceof io.pgrelay.proxy.PgRelayException p && p.isServerUnavailable()) {
                    awaitFailover(target, f.cause()); // the health checks will find another primary, or this one back
                    return;
                }
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
        Object wanted = settings.snapshot();
        String sql = conn.settingsMatch(wanted) ? "" : settings.sql(conn.reportedLower(), conn.appliedSettings());
        EventLoop serverLoop = conn.channel().eventLoop();
        if (sql.isEmpty() && serverLoop.inEventLoop()) {
            // The common case, a connection on this client's own loop that already matches: no task hops.
            synced(conn, false, link(conn));
            return;
        }
        serverLoop.execute(() -> {
            Future<?> setup = sql.isEmpty() ? serverLoop.newSucceededFuture(null) : conn.runInternal(sql);
            setup.addListener(s -> {
                Throwable failure = s.isSuccess() ? link(conn) : s.cause();
                if (ctx.executor().inEventLoop()) {
                    synced(conn, !sql.isEmpty(), failure);
                } else {
                    ctx.executor().execute(() -> synced(conn, !sql.isEmpty(), failure));
                }
            });
        });
    }

    /**
     * Links the connection to this client, on its loop; the failure instead when it closed after the pool handed it
     * out (the server died meanwhile), which {@link #synced} answers with another connection.
     */
    private Throwable link(ServerConnection conn) {
        if (conn.state() != ServerConnection.State.IDLE) {
            return new io.pgrelay.proxy.PgRelayException(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE,
                    "server " + conn.target().address() + " closed the connection"));
        }
        conn.link(this);
        return null;
    }

    /** The connection is linked ({@code failure} null) with {@code ran} telling whether settings were applied. */
    private void synced(ServerConnection conn, boolean ran, Throwable failure) {
        waitingForServer = false;
        Pool pool = current;
        if (closed) {
            pool.release(conn);
            return;
        }
        if (failure != null) {
            pool.release(conn);
            if (!conn.channel().isActive() && deadOnArrival++ < DEAD_ON_ARRIVAL_RETRIES) {
                // It died idle in the pool (a terminated backend, a restart) before any of the client's work was
                // written to it: nothing ran, so another connection can serve the client as if nothing happened.
                log.info("pool {}: server connection {} closed before use; taking another", pool.key(), conn.id());
                acquireFrom(pool, currentTarget);
                return;
            }
            owner.fail(ClientSession.fatalFor(failure));
            return;
        }
        if (ran) {
            settings.recordApplied(conn.reportedLower(), conn.appliedSettings());
        }
        conn.settingsMatched(settings.snapshot());
        server = conn;
        if (!ctx.channel().isWritable()) {
            conn.channel().config().setAutoRead(false); // the client is still behind: wait until it drains
        }
        failoverDeadlineNanos = 0;
        failoverCause = null;
        traffic.assigned();
        // A read on a standby may run again elsewhere if its server dies before answering anything: keep it.
        // Replies pgrelay owed for frames it answered itself go out now and are not part of what is replayed.
        boolean keep = transactionMode && currentTarget == Router.Target.STANDBY && status == ReadyForQuery.IDLE
                && deferredBegin == null && replays < MAX_REPLAYS;
        while (!localReplies.isEmpty()) {
            tracker.synthetic(localReplies.pollFirst(), this); // owed before anything the server will answer
        }
        if (deferredBegin != null && transactionMode) {
            write(new io.pgrelay.protocol.message.Query(deferredBegin).encode(ctx.alloc()));
            tracker.injectedQuery(); // the client was answered already
            deferredBegin = null;
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
                replay.add(frame.retainedDuplicate());
            }
            send(frame);
        }
        unitEntries = tracker.size();
        conn.channel().flush();
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
        if (Frames.type(frame) == MessageType.TERMINATE) {
            frame.release();
            ctx.close();
            return;
        }
        if (discardUntilSync && discarded(frame)) {
            return;
        }
        if (server == null) {
            byte type = Frames.type(frame);
            if (transactionMode && !waitingForServer && held.isEmpty() && (type == MessageType.COPY_DATA
                    || type == MessageType.COPY_DONE || type == MessageType.COPY_FAIL)) {
                // The rest of a COPY whose server is gone: PostgreSQL, too, drops these after failing the COPY.
                frame.release();
                return;
            }
            // Only with nothing held: a local answer must not overtake replies owed for held frames.
            if (transactionMode && !waitingForServer && held.isEmpty() && answeredLocally(frame)) {
                return;
            }
            held.add(frame);
            if (!waitingForServer) {
                routeHeld();
            } else if (held.size() >= HELD_WHILE_WAITING || frame.readableBytes() >= HELD_BYTES_WHILE_WAITING) {
                ctx.channel().config().setAutoRead(false); // until a server takes what is held (synced)
            }
            return;
        }
        if (transactionMode && tracker.isEmpty() && answeredByRouter(frame)) {
            return;
        }
        send(frame);
    }

    /**
     * Transaction mode: once the held frames make a unit (a Query, or an extended batch ending in Sync or Flush),
     * decide where it runs and take a connection there. Session mode always uses the primary.
     */
    private void routeHeld() {
        routing = true;
        try {
            routeHeldUnit();
        } finally {
            routing = false;
            memoFrame = null;
            memoClassification = null;
        }
    }

    private void routeHeldUnit() {
        ByteBuf last = held.peekLast();
        byte type = Frames.type(last);
        if (!transactionMode) {
            acquire(Router.Target.PRIMARY);
            return;
        }
        switch (type) {
            case MessageType.QUERY:
                if (held.size() == 1 && answeredByRouter(last)) {
                    held.pollLast();
                    return;
                }
                break;
            case MessageType.SYNC:
            case MessageType.FLUSH:
                if (answeredHintBatch()) {
                    return;
                }
                break;
            case MessageType.PARSE:
            case MessageType.BIND:
            case MessageType.DESCRIBE:
            case MessageType.EXECUTE:
            case MessageType.CLOSE:
                return; // wait for the rest of the batch
            default:
                acquire(Router.Target.PRIMARY); // function calls, copy data: nothing to judge
                return;
        }
        if (deferredBegin == null && beginDeferred()) {
            return;
        }
        Router.Target target = null;
        RouteStats.Reason reason = RouteStats.Reason.DEFAULT;
        boolean writes = false;
        if (deferredBegin != null) {
            // The transaction is read-only if the session says so (default_transaction_read_only) or its first
            // statement does (SET TRANSACTION READ ONLY); any other goes to the primary.
            Classification first = classify(held.peekFirst());
            boolean readOnly = router.defaultReadOnly() || first != null
                    && first.command() == Command.SET_TRANSACTION_READ_ONLY;
            target = readOnly && first != null && router.decide(first) != Router.Target.PRIMARY
                    || readOnly && first == null ? Router.Target.STANDBY : Router.Target.PRIMARY;
            routedToPrimary = target == Router.Target.PRIMARY;
            routes.routed(group.key().database(), target == Router.Target.PRIMARY ? RouteStats.Role.PRIMARY
                    : RouteStats.Role.REPLICA, RouteStats.Reason.STATEMENT);
            acquire(target);
            return;
        }
        for (ByteBuf frame : held) {
            Classification c = classify(frame);
            if (c != null) {
                Router.Target t = router.decide(c);
                if (target != Router.Target.PRIMARY) {
                    reason = router.lastReason(); // the reason of the statement that decided the unit
                }
                target = target == null ? t : Router.combine(target, t);
                writes |= t == Router.Target.PRIMARY && !Router.isSessionCommand(statementText(frame));
            }
        }
        if (target == null && onlySyncsHeld()) {
            // A bare Sync (drivers send them) needs no server: the client is idle, so is its answer.
            while (!held.isEmpty()) {
                if (Frames.type(held.peekFirst()) == MessageType.SYNC) {
                    toClient(ReadyForQuery.READY_IDLE.encode(ctx.alloc()));
                }
                held.pollFirst().release();
            }
            ctx.flush();
            return;
        }
        Router.Target where = target == null ? Router.Target.PRIMARY : target;
        routes.routed(group.key().database(),
                where == Router.Target.PRIMARY ? RouteStats.Role.PRIMARY : RouteStats.Role.REPLICA, reason);
        // Only a unit with a statement that may write counts for read-your-writes (a SET does not).
        routedToPrimary = writes;
        acquire(where);
    }

    /** The start of the statement a Query or Parse frame carries, for {@link Router#isSessionCommand}. */
    private static String statementText(ByteBuf frame) {
        return statementText(frame, 64);
    }

    private static String statementText(ByteBuf frame, int max) {
        byte type = Frames.type(frame);
        if (type == MessageType.QUERY) {
            int len = Math.min(max, Frames.bodyLength(frame) - 1);
            return frame.toString(frame.readerIndex() + Frames.HEADER_LENGTH, Math.max(0, len),
                    StandardCharsets.UTF_8);
        }
        return type == MessageType.PARSE ? Rewrites.parseQuery(frame) : "";
    }

    /**
     * A unit that is only a plain BEGIN (a Query, or Parse/Bind/Describe/Execute/Sync of it) is answered here, as
     * the server would, and remembered: see {@link #deferredBegin}.
     */
    private boolean beginDeferred() {
        String text = null;
        for (ByteBuf frame : held) {
            byte type = Frames.type(frame);
            if (type == MessageType.QUERY || type == MessageType.PARSE) {
                Classification c = classify(frame);
                if (text != null || c == null || c.command() != Command.BEGIN || c.hint() != RoleHint.NONE) {
                    return false;
                }
                text = type == MessageType.QUERY ? statementText(frame, Integer.MAX_VALUE) : Rewrites.parseQuery(frame);
            } else if (type != MessageType.BIND && type != MessageType.DESCRIBE && type != MessageType.EXECUTE
                    && type != MessageType.SYNC) {
                return false;
            }
        }
        if (text == null || router.sessionRole() != RoleHint.AUTO) {
            return false;
        }
        deferredBegin = text;
        status = ReadyForQuery.IN_TRANSACTION; // what the server would say after BEGIN
        answerHeld(() -> Rewrites.emptyReply(ctx.alloc(), MessageType.NO_DATA),
                () -> toClient(new CommandComplete("BEGIN").encode(ctx.alloc())));
        return true;
    }

    private boolean onlySyncsHeld() {
        for (ByteBuf frame : held) {
            byte type = Frames.type(frame);
            if (type != MessageType.SYNC && type != MessageType.FLUSH) {
                return false;
            }
        }
        return true;
    }

    private static final java.util.regex.Pattern DEALLOCATE = java.util.regex.Pattern.compile(
            "(?is)\\s*DEALLOCATE\\s+(?:PREPARE\\s+)?(?:\"((?:[^\"]|\"\")+)\"|([A-Za-z_][A-Za-z0-9_$]*))\\s*;?\\s*");

    /**
     * DEALLOCATE of one of the client's own statements: the server never knew that name (its statement is shared
     * under pgrelay's), so only the client's name goes, as PostgreSQL would drop it. Consumes the frame when true;
     * other names (an SQL-level PREPARE inside a transaction) go to the server.
     */
    private boolean deallocated(ByteBuf frame) {
        int i = frame.readerIndex() + Frames.HEADER_LENGTH;
        int end = frame.writerIndex();
        while (i < end && Character.isWhitespace(frame.getByte(i))) {
            i++;
        }
        if (i == end || (frame.getByte(i) | 0x20) != 'd') {
            return false; // no regex and no String for every SELECT
        }
        java.util.regex.Matcher m = DEALLOCATE.matcher(statementText(frame, Integer.MAX_VALUE));
        if (!m.matches()) {
            return false;
        }
        String name = m.group(1) != null ? m.group(1).replace("\"\"", "\"")
                : m.group(2).toLowerCase(java.util.Locale.ROOT);
        if (name.equalsIgnoreCase("all") && m.group(1) == null) {
            return false; // DEALLOCATE ALL runs on the server; its tag clears the client's names too
        }
        String key = statements.containsKey(name) ? name : m.group(2) != null && statements.containsKey(m.group(2))
                ? m.group(2) : null; // drivers name statements in mixed case without quoting them
        if (key == null) {
            return false;
        }
        statements.remove(key);
        frame.release();
        return true;
    }

    /**
     * SET/SHOW pgrelay.role sent with the extended protocol (JDBC does so for every Statement.execute): a held batch
     * of one Parse/Bind/Describe/Execute/Sync for it is answered here, message by message.
     */
    private boolean answeredHintBatch() {
        Classification hint = null;
        for (ByteBuf frame : held) {
            byte type = Frames.type(frame);
            if (type == MessageType.PARSE) {
                Classification c = classify(frame);
                if (hint != null || (c.command() != Command.SET_ROLE_HINT && c.command() != Command.SHOW_ROLE_HINT)) {
                    return false;
                }
                hint = c;
            } else if (type != MessageType.BIND && type != MessageType.DESCRIBE && type != MessageType.EXECUTE
                    && type != MessageType.SYNC && type != MessageType.FLUSH) {
                return false;
            }
        }
        if (hint == null) {
            return false;
        }
        boolean show = hint.command() == Command.SHOW_ROLE_HINT;
        if (!show) {
            router.setSessionRole(hint.hint());
        }
        answerHeld(() -> show ? roleRowDescription() : Rewrites.emptyReply(ctx.alloc(), MessageType.NO_DATA), () -> {
            if (show) {
                toClient(roleDataRow());
            }
            toClient(new CommandComplete(show ? "SHOW" : "SET").encode(ctx.alloc()));
        });
        return true;
    }

    /**
     * Answers every held frame of a one-statement unit as the server would, the frames consumed: Parse and Bind
     * complete, Describe and Execute as given, ReadyForQuery with the client's status for a Sync or Query.
     */
    private void answerHeld(java.util.function.Supplier<ByteBuf> describe, Runnable execute) {
        while (!held.isEmpty()) {
            ByteBuf frame = held.pollFirst();
            byte type = Frames.type(frame);
            frame.release();
            switch (type) {
                case MessageType.PARSE -> toClient(Rewrites.emptyReply(ctx.alloc(), MessageType.PARSE_COMPLETE));
                case MessageType.BIND -> toClient(Rewrites.emptyReply(ctx.alloc(), MessageType.BIND_COMPLETE));
                case MessageType.DESCRIBE -> toClient(describe.get());
                case MessageType.EXECUTE -> execute.run();
                case MessageType.QUERY -> {
                    execute.run();
                    toClient(new ReadyForQuery(status).encode(ctx.alloc()));
                }
                case MessageType.SYNC -> toClient(new ReadyForQuery(status).encode(ctx.alloc()));
                default -> {
                    // Flush: nothing to answer
                }
            }
        }
        ctx.flush();
    }

    private ByteBuf roleRowDescription() {
        ByteBuf row = ctx.alloc().buffer();
        int len = Frames.begin(row, MessageType.ROW_DESCRIPTION);
        row.writeShort(1);
        Frames.writeCString(row, "pgrelay.role");
        row.writeInt(0).writeShort(0).writeInt(25).writeShort(-1).writeInt(-1).writeShort(0); // one text column
        Frames.finish(row, len);
        return row;
    }

    private ByteBuf roleDataRow() {
        ByteBuf data = ctx.alloc().buffer();
        int len = Frames.begin(data, MessageType.DATA_ROW);
        byte[] value = router.sessionRole().name().toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.UTF_8);
        data.writeShort(1).writeInt(value.length).writeBytes(value);
        Frames.finish(data, len);
        return data;
    }

    /** The classification of the statement a frame carries or names; null for frames without one. */
    private Classification classify(ByteBuf frame) {
        if (routing && frame == memoFrame) {
            return memoClassification; // a unit's checks (router's own SETs, deferred BEGIN, the route) ask in turn
        }
        Classification c = classifyFrame(frame);
        if (routing) {
            memoFrame = frame;
            memoClassification = c;
        }
        if (c != null && !c.unknownFunctions().isEmpty()) {
            group.catalog().learn(c.unknownFunctions(), ctx.channel().eventLoop()); // later statements benefit
        }
        return c;
    }

    private Classification classifyFrame(ByteBuf frame) {
        switch (Frames.type(frame)) {
            case MessageType.QUERY:
                return classifier.classify(frame, frame.readerIndex() + Frames.HEADER_LENGTH,
                        Frames.bodyLength(frame) - 1);
            case MessageType.PARSE:
                return classifier.classify(Rewrites.parseQuery(frame));
            case MessageType.BIND: {
                ClientStatement s = statementOf(Rewrites.bindStatement(frame));
                return s == null ? null : classifyDefinition(s);
            }
            case MessageType.DESCRIBE: {
                ClientStatement s = Rewrites.target(frame) == 'S' ? statementOf(Rewrites.targetName(frame)) : null;
                return s == null ? null : classifyDefinition(s);
            }
            default:
                return null;
        }
    }

    private Classification classifyDefinition(ClientStatement s) {
        byte[] def = s.definition();
        int end = 0;
        while (end < def.length && def[end] != 0) {
            end++;
        }
        return classifier.classify(Unpooled.wrappedBuffer(def), 0, end);
    }

    /**
     * SET pgrelay.role, pgcat's SET SERVER ROLE and SHOW pgrelay.role are pgrelay's own: answered here, the
     * server never sees them. Only between answers (nothing owed), so the reply lands in order.
     */
    private boolean answeredByRouter(ByteBuf frame) {
        if (Frames.type(frame) != MessageType.QUERY) {
            return false;
        }
        Classification c = classify(frame);
        if (c.command() == Command.QUERY && deallocated(frame)) {
            toClient(new CommandComplete("DEALLOCATE").encode(ctx.alloc()));
        } else if (c.command() == Command.SET_ROLE_HINT) {
            router.setSessionRole(c.hint());
            frame.release();
            toClient(new CommandComplete("SET").encode(ctx.alloc()));
        } else if (c.command() == Command.SHOW_ROLE_HINT) {
            frame.release();
            toClient(roleRowDescription());
            toClient(roleDataRow());
            toClient(new CommandComplete("SHOW").encode(ctx.alloc()));
        } else {
            return false;
        }
        toClient(new ReadyForQuery(status).encode(ctx.alloc()));
        ctx.flush();
        return true;
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
                if (record(frame) == null) {
                    // Nothing is owed before it: the replies due so far, then the error, now (PostgreSQL, too,
                    // sends an error at once, not at the next Sync).
                    while (!localReplies.isEmpty()) {
                        toClient(localReplies.pollFirst());
                    }
                    toClient(preparedLimitError());
                    ctx.flush();
                    return true;
                }
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

    /** Records a client's named Parse (consumes the frame); null when max_client_prepared_statements refuses it. */
    private ClientStatement record(ByteBuf frame) {
        String name = Rewrites.parseName(frame);
        if (maxPreparedStatements > 0 && statements.size() >= maxPreparedStatements
                && !statements.containsKey(name)) {
            frame.release();
            return null;
        }
        byte[] definition = Rewrites.parseDefinition(frame);
        frame.release();
        ClientStatement s = new ClientStatement(registry.nameFor(definition), definition);
        statements.put(name, s);
        return s;
    }

    /**
     * The ERROR for a named Parse over max_client_prepared_statements; the rest of the batch is skipped up to its
     * Sync. The client keeps its connection and its statements; one log line per client, every refusal counted.
     */
    private ByteBuf preparedLimitError() {
        limitStats.refused(io.pgrelay.proxy.metrics.LimitStats.Limit.MAX_CLIENT_PREPARED_STATEMENTS);
        if (!preparedLimitLogged) {
            preparedLimitLogged = true;
            log.warn("pool {}: a client reached max_client_prepared_statements ({}); its further named Parse "
                    + "messages are refused", group.key(), maxPreparedStatements);
        }
        discardUntilSync = true;
        return ErrorResponse.error("53400", "too many prepared statements: this client has "
                        + statements.size() + " (max_client_prepared_statements = " + maxPreparedStatements + ")")
                .withHint("close prepared statements that are no longer needed (Close, DEALLOCATE)")
                .encode(ctx.alloc());
    }

    /** While skipping to Sync: drops (and releases) anything but the Sync, which ends the skipping. */
    private boolean discarded(ByteBuf frame) {
        if (Frames.type(frame) == MessageType.SYNC) {
            discardUntilSync = false;
            return false;
        }
        frame.release();
        return true;
    }

    /** End of a read batch from the client: one flush towards the server. */
    void clientReadComplete() {
        if (server != null) {
            server.channel().flush();
        }
    }

    private void send(ByteBuf frame) {
        if (discardUntilSync && discarded(frame)) {
            return;
        }
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
        if (s == null) {
            tracker.synthetic(preparedLimitError(), this); // in order, after what the server owes before it
            return;
        }
        ServerStatements onServer = server.statements();
        traffic.prepared(onServer.contains(s.serverName()));
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
        traffic.prepared(onServer.contains(s.serverName()));
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
        if (Frames.type(frame) == MessageType.PARSE) {
            traffic.serverParse();
        }
        server.channel().write(frame, server.channel().voidPromise());
    }

    // ---- server -> client (ServerLink: called on the server's loop) ---------------------------------------

    @Override
    public void serverFrame(ServerConnection conn, ByteBuf frame) {
        if (ctx.executor().inEventLoop()) {
            onServerFrame(conn, frame);
            return;
        }
        if (crossing == null) {
            crossing = new java.util.ArrayList<>(8);
        }
        crossing.add(frame); // one task per read batch, not one per frame
    }

    @Override
    public void serverReadComplete(ServerConnection conn) {
        if (ctx.executor().inEventLoop()) {
            ctx.flush();
        } else {
            handOver(conn, true);
        }
    }

    /** On the server's loop: gives the frames read so far to the client's loop, in order, in one task. */
    private void handOver(ServerConnection conn, boolean flush) {
        java.util.ArrayList<ByteBuf> batch = crossing;
        crossing = null;
        if (batch == null && !flush) {
            return;
        }
        ctx.executor().execute(() -> {
            if (batch != null) {
                int i = 0;
                try {
                    for (; i < batch.size(); i++) {
                        onServerFrame(conn, batch.get(i));
                    }
                } finally {
                    for (i++; i < batch.size(); i++) {
                        batch.get(i).release(); // only after a failure above
                    }
                }
            }
            if (flush) {
                ctx.flush();
            }
        });
    }

    @Override
    public void serverClosed(ServerConnection conn, String reason) {
        if (!ctx.executor().inEventLoop()) {
            handOver(conn, false); // frames read before the close come first
        }
        ctx.executor().execute(() -> {
            if (conn != server) {
                return;
            }
            server = null;
            if (!replay.isEmpty() && repliesThisUnit == 0 && tracker.size() == unitEntries && !closed) {
                tracker.clear();
                replays++;
                log.info("pool {}: standby {} closed the connection before answering; the read runs elsewhere",
                        current.key(), conn.target().address());
                while (!replay.isEmpty()) {
                    held.addLast(replay.pollFirst());
                }
                dropHeldNotices(); // the dead server's, not the client's
                acquire(Router.Target.STANDBY);
                return;
            }
            dropReplay();
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
                    + "stays connected", current.key(), conn.target().address());
        });
    }

    private void dropReplay() {
        while (!replay.isEmpty()) {
            replay.pollFirst().release();
        }
        dropHeldNotices();
    }

    private void dropHeldNotices() {
        while (!heldNotices.isEmpty()) {
            heldNotices.pollFirst().release();
        }
    }

    /**
     * Whether losing the server now costs only the unit in flight: transaction mode, no transaction open before the
     * unit (so nothing earlier is lost), and exactly one ReadyForQuery owed (one Query, or one batch up to Sync).
     */
    private boolean survivesServerLoss() {
        return transactionMode && status == ReadyForQuery.IDLE && tracker.pendingReady() == 1 && held.isEmpty()
                && localReplies.isEmpty();
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
        if (!replay.isEmpty()) {
            byte first = Frames.type(frame);
            if (first == MessageType.NOTICE_RESPONSE
                    || first == MessageType.ERROR_RESPONSE && ErrorResponse.decode(frame).isFatal()) {
                // The WARNING of an immediate shutdown, the FATAL of a backend whose postmaster died: not an
                // answer to the read, which runs again elsewhere once the connection closes.
                heldNotices.add(frame);
                return;
            }
            while (!heldNotices.isEmpty()) {
                toClient(heldNotices.pollFirst());
            }
            dropReplay(); // the server answered: the unit is its
            replays = 0;
        }
        byte type = Frames.type(frame);
        if (type == MessageType.READY_FOR_QUERY) {
            status = ReadyForQuery.statusOf(frame);
        } else if (type == MessageType.PARAMETER_STATUS) {
            ParameterStatus ps = ParameterStatus.decode(frame);
            settings.reported(ps.name(), ps.value());
        } else if (type == MessageType.COMMAND_COMPLETE && transactionMode) {
            frame = onCommandComplete(frame);
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

    /** Commands whose effect outlives the transaction, which transaction pooling must account for. */
    private ByteBuf onCommandComplete(ByteBuf frame) {
        byte first = frame.getByte(frame.readerIndex() + Frames.HEADER_LENGTH);
        int length = Frames.bodyLength(frame) - 1; // the tag without its NUL
        if (first != 'D' && first != 'S' && first != 'R' && first != 'L'
                || length != 3 && length != 5 && length != 6 && length != 11 && length != 14) {
            return frame; // SELECT 1, INSERT 0 1, UPDATE 1...: nothing to learn, no String made
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
        repliesThisUnit++;
        traffic.response(frame);
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
        Pool pool = current;
        server = null;
        ctx.flush();
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
        deferredBegin = null;
        if (idleInTransaction != null) {
            idleInTransaction.cancel(false);
        }
        while (!held.isEmpty()) {
            held.pollFirst().release();
        }
        while (!localReplies.isEmpty()) {
            localReplies.pollFirst().release();
        }
        dropReplay();
        if (acquiring != null) {
            acquiring.cancel(false);
        }
        tracker.clear();
        ServerConnection conn = server;
        if (conn != null) {
            server = null;
            current.release(conn);
        }
    }

    /** SHOW STATS / metrics counters of this client (set by the session before login). */
    io.pgrelay.proxy.metrics.ClientTraffic traffic = io.pgrelay.proxy.metrics.ClientTraffic.NONE;

    /** The client's named prepared statements (SHOW CLIENTS, SHOW PREPARED). */
    int preparedCount() {
        return statements.size();
    }

    /** A CancelRequest named this client: cancel on the server only if a query is running there. */
    ServerConnection busyServer() {
        ServerConnection s = server;
        return s != null && s.isBusy() ? s : null;
    }
}
