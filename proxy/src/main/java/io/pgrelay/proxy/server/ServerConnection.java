package io.pgrelay.proxy.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.auth.AuthException;
import io.pgrelay.protocol.auth.Md5Password;
import io.pgrelay.protocol.auth.ScramClient;
import io.pgrelay.protocol.auth.ScramServer;
import io.pgrelay.protocol.message.Authentication;
import io.pgrelay.protocol.message.BackendKeyData;
import io.pgrelay.protocol.message.DataRow;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.ParameterStatus;
import io.pgrelay.protocol.message.PasswordMessage;
import io.pgrelay.protocol.message.Query;
import io.pgrelay.protocol.message.ReadyForQuery;
import io.pgrelay.protocol.message.SASLInitialResponse;
import io.pgrelay.protocol.message.SASLResponse;
import io.pgrelay.protocol.message.StartupMessage;
import io.pgrelay.proxy.DirectSend;
import io.pgrelay.proxy.PgRelayException;
import io.pgrelay.proxy.prepared.ServerStatements;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One connection to a PostgreSQL server: logs in, then either runs pgrelay's own short queries (SET, reset) or is
 * linked to a client and forwards frames both ways. All state is touched on the channel's event loop only.
 *
 * <p>Outbound frames are counted as they pass ({@code Q}, {@code S}, {@code F} each expect a ReadyForQuery), so at
 * any moment pgrelay knows whether the server still owes answers, which decides if a connection can be reused.
 */
public final class ServerConnection extends ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
    private static final AtomicLong IDS = new AtomicLong();
    private static final SecureRandom RANDOM = new SecureRandom();

    public enum State { LOGIN, IDLE, INTERNAL, LINKED, CLOSED }

    private final long id = IDS.incrementAndGet();
    private final ServerTarget target;
    private final Promise<ServerConnection> loginPromise;
    private final long createdNanos = System.nanoTime();
    private final Map<String, String> parameters = new LinkedHashMap<>();
    /** The same, keyed by lower-case name: what settings sync compares against, without copying per acquisition. */
    private final Map<String, String> lowerParameters = new HashMap<>();

    private ChannelHandlerContext ctx;
    private State state = State.LOGIN;
    private BackendKeyData backendKey;
    private ScramClient scram;
    private ScheduledFuture<?> loginTimeout;
    private byte transactionStatus = ReadyForQuery.IDLE;
    /** The ReadyForQuery owed for what was sent, and whether an extended batch awaits its Sync. */
    private final PendingReplies pending = new PendingReplies();
    /** Set at login, when the pipeline is final: relayed frames go straight to the socket when they can. */
    private DirectSend direct = DirectSend.NONE;
    /** Set by the pool when the connection goes idle, for idle_timeout. */
    private volatile long idleSinceNanos;

    private ServerLink link;

    // Owned by whoever holds the connection (a session, or the pool between sessions); handed over through the pool.
    private final ServerStatements statements;
    private final Map<String, String> appliedSettings = new HashMap<>();
    /** Bumped whenever the reported or applied settings change; see {@link #settingsMatch}. */
    private long settingsVersion;
    private Object matchedSettings;
    private long matchedVersion;
    private boolean dirty;
    private Promise<Void> internalPromise;
    private int internalPendingReady;
    private ErrorResponse internalError;
    /** Rows of an internal query that wants them (text format); null otherwise. */
    private List<List<String>> internalRows;

    ServerConnection(ServerTarget target, Promise<ServerConnection> loginPromise) {
        this.target = target;
        this.loginPromise = loginPromise;
        this.statements = new ServerStatements(target.statementCacheSize());
    }

    /** pgrelay's statements prepared on this server (transaction mode). */
    public ServerStatements statements() {
        return statements;
    }

    /** Settings pgrelay applied for its clients that the server does not report (lower-case names). */
    public Map<String, String> appliedSettings() {
        return appliedSettings;
    }

    /** A client changed session state pgrelay does not track (SET, LISTEN...): reset it before the next client. */
    public void markDirty() {
        dirty = true;
    }

    public boolean isDirty() {
        return dirty;
    }

    /** After DISCARD ALL ran: nothing of pgrelay's or a client's is left on the server. */
    public void discarded() {
        dirty = false;
        statements.clear();
        appliedSettings.clear();
        settingsVersion++;
    }

    /**
     * Whether the connection was last brought to exactly these client settings (an interned snapshot, compared by
     * identity) and nothing was reported or applied since: then they need no check. Read by the client's loop between
     * hand-overs, like {@link #reportedLower}.
     */
    public boolean settingsMatch(Object snapshot) {
        return snapshot != null && snapshot == matchedSettings && settingsVersion == matchedVersion;
    }

    /** The connection now has the client settings {@code snapshot} stands for. */
    public void settingsMatched(Object snapshot) {
        matchedSettings = snapshot;
        matchedVersion = settingsVersion;
    }

    public long id() {
        return id;
    }

    public ServerTarget target() {
        return target;
    }

    public Channel channel() {
        return ctx.channel();
    }

    public State state() {
        return state;
    }

    public long createdNanos() {
        return createdNanos;
    }

    public BackendKeyData backendKey() {
        return backendKey;
    }

    /** Whether the server still owes ReadyForQuery for something sent (a query runs or results are in flight). */
    public boolean isBusy() {
        return pending.busy();
    }

    public long idleSinceNanos() {
        return idleSinceNanos;
    }

    public void markIdle(long nanos) {
        idleSinceNanos = nanos;
    }

    public byte transactionStatus() {
        return transactionStatus;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        long ms = target.connectTimeout().toMillis();
        if (ms > 0) { // 0: no limit
            loginTimeout = ctx.executor().schedule(() -> failLogin(PgRelayException.serverUnavailable(
                    ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, "timeout logging in to server "
                            + target.address() + " after " + ms + " ms"), null)), ms, TimeUnit.MILLISECONDS);
        }
        Map<String, String> startup = new LinkedHashMap<>();
        startup.put("user", target.user());
        startup.put("database", target.database());
        ctx.writeAndFlush(new StartupMessage(StartupMessage.PROTOCOL_3_0, startup).encode(ctx.alloc()));
        ctx.fireChannelActive();
    }

    /**
     * One or more whole frames back to back ({@code FrameDecoder.forBackendRuns}): a linked client is given each in
     * place; in any other state, or when the link ends part way, each frame is handled as a buffer of its own.
     */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf run = (ByteBuf) msg;
        ServerLink given = null;
        try {
            int at = run.readerIndex();
            int end = run.writerIndex();
            while (at < end) {
                int length = run.getInt(at + 1) + 1;
                if (state == State.LINKED) {
                    if (given != link) {
                        if (given != null) {
                            given.serverFramesGiven(this);
                        }
                        given = link;
                    }
                    forward(run, at, length);
                } else {
                    frame(run.retainedSlice(at, length));
                }
                at += length;
            }
        } finally {
            if (given != null) {
                given.serverFramesGiven(this);
            }
            run.release();
        }
    }

    /** A frame outside the linked state (linked frames are given in place by {@link #channelRead}). */
    private void frame(ByteBuf frame) {
        switch (state) {
            case LOGIN:
                try {
                    onLoginFrame(frame);
                } finally {
                    frame.release();
                }
                break;
            case INTERNAL:
                try {
                    onInternalFrame(frame);
                } finally {
                    frame.release();
                }
                break;
            default:
                onUnexpectedFrame(frame);
        }
    }

    private void forward(ByteBuf run, int at, int length) {
        noteLinked(run, at);
        link.serverFrame(this, run, at, length);
    }

    /** What the connection itself learns from a frame to its client: the transaction status, the parameters. */
    private void noteLinked(ByteBuf buf, int at) {
        byte type = buf.getByte(at);
        if (type == MessageType.READY_FOR_QUERY) {
            transactionStatus = ReadyForQuery.statusAt(buf, at);
            pending.readyForQuery();
        } else if (type == MessageType.PARAMETER_STATUS) {
            putParameter(ParameterStatus.decode(buf.slice(at, buf.getInt(at + 1) + 1)));
        }
    }

    /** An idle connection should say nothing; a FATAL before shutdown is logged, anything else is a protocol error. */
    private void onUnexpectedFrame(ByteBuf frame) {
        try {
            byte type = Frames.type(frame);
            if (type == MessageType.ERROR_RESPONSE) {
                log.info("server {} [{}] sent while idle: {}", target.address(), id, ErrorResponse.decode(frame));
            } else if (type == MessageType.PARAMETER_STATUS) {
                ParameterStatus ps = ParameterStatus.decode(frame);
                putParameter(ps);
                return;
            } else if (type == MessageType.NOTICE_RESPONSE || type == MessageType.NOTIFICATION_RESPONSE) {
                return;
            } else {
                log.warn("server {} [{}] sent message {} while idle; closing", target.address(), id,
                        MessageType.describe(type));
            }
            close();
        } finally {
            frame.release();
        }
    }

    private void onLoginFrame(ByteBuf frame) {
        byte type = Frames.type(frame);
        try {
            switch (type) {
                case MessageType.AUTHENTICATION:
                    onAuthentication(Authentication.decode(frame));
                    break;
                case MessageType.PARAMETER_STATUS: {
                    ParameterStatus ps = ParameterStatus.decode(frame);
                    putParameter(ps);
                    break;
                }
                case MessageType.BACKEND_KEY_DATA:
                    backendKey = BackendKeyData.decode(frame);
                    break;
                case MessageType.ERROR_RESPONSE: {
                    ErrorResponse e = ErrorResponse.decode(frame);
                    failLogin(new PgRelayException(e));
                    break;
                }
                case MessageType.READY_FOR_QUERY:
                    transactionStatus = ReadyForQuery.statusOf(frame);
                    state = State.IDLE;
                    direct = DirectSend.of(ctx);
                    cancelLoginTimeout();
                    scram = null;
                    if (!loginPromise.trySuccess(this)) {
                        close(); // nobody waits for it any more
                    }
                    break;
                case MessageType.NOTICE_RESPONSE:
                case MessageType.NEGOTIATE_PROTOCOL_VERSION:
                    break;
                default:
                    failLogin(loginError("unexpected message " + MessageType.describe(type) + " during login"));
            }
        } catch (AuthException e) {
            failLogin(loginError("authentication failed: " + e.getMessage()));
        } catch (RuntimeException e) {
            failLogin(loginError("invalid message during login: " + e.getMessage()));
        }
    }

    private void onAuthentication(Authentication auth) throws AuthException {
        if (auth instanceof Authentication.AuthenticationOk) {
            return;
        }
        String password = target.password();
        if (auth instanceof Authentication.AuthenticationUnsupported u) {
            failLogin(new PgRelayException(ErrorResponse.fatal(SqlState.FEATURE_NOT_SUPPORTED, "server "
                    + target.address() + " asks for " + u.methodName() + " authentication, which pgrelay does not "
                    + "support towards servers; use scram-sha-256, md5 or password in pg_hba.conf")));
            return;
        }
        if (password == null) {
            failLogin(loginError("the server asks for a password but none is configured for user \""
                    + target.user() + "\" (set server_password)"));
            return;
        }
        if (auth instanceof Authentication.AuthenticationCleartextPassword) {
            ctx.writeAndFlush(new PasswordMessage(password).encode(ctx.alloc()));
        } else if (auth instanceof Authentication.AuthenticationMD5Password md5) {
            String response = Md5Password.response(Md5Password.hash(target.user(), password), md5.salt());
            ctx.writeAndFlush(new PasswordMessage(response).encode(ctx.alloc()));
        } else if (auth instanceof Authentication.AuthenticationSASL sasl) {
            if (!sasl.mechanisms().contains(ScramServer.MECHANISM)) {
                failLogin(loginError("the server offers no SASL mechanism pgrelay supports: " + sasl.mechanisms()));
                return;
            }
            scram = new ScramClient(password, RANDOM);
            ctx.writeAndFlush(new SASLInitialResponse(ScramServer.MECHANISM, scram.clientFirstMessage())
                    .encode(ctx.alloc()));
        } else if (auth instanceof Authentication.AuthenticationSASLContinue cont) {
            requireScram();
            ctx.writeAndFlush(new SASLResponse(scram.handleServerFirst(cont.data())).encode(ctx.alloc()));
        } else if (auth instanceof Authentication.AuthenticationSASLFinal fin) {
            requireScram();
            scram.verifyServerFinal(fin.data());
        }
    }

    private void requireScram() throws AuthException {
        if (scram == null) {
            throw new AuthException("SASL message without a SASL exchange");
        }
    }

    private PgRelayException loginError(String detail) {
        return new PgRelayException(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE,
                "could not log in to server " + target.address() + " as \"" + target.user() + "\": " + detail));
    }

    private void failLogin(PgRelayException e) {
        if (state != State.LOGIN) {
            return;
        }
        cancelLoginTimeout();
        state = State.CLOSED;
        if (loginPromise.tryFailure(e)) {
            log.warn("server {} login as \"{}\" failed: {}", target.address(), target.user(), e.getMessage());
        }
        ctx.close();
    }

    private void cancelLoginTimeout() {
        if (loginTimeout != null) {
            loginTimeout.cancel(false);
            loginTimeout = null;
        }
    }

    /**
     * Runs pgrelay's own simple queries, each its own Query message (so DISCARD ALL is never inside an implicit
     * transaction block), and consumes every answer. Completes once the server has answered them all, or fails
     * with the first ErrorResponse. Must be called on the event loop while IDLE.
     */
    public Future<Void> runInternal(String... statements) {
        assert ctx.executor().inEventLoop();
        Promise<Void> promise = ctx.executor().newPromise();
        if (state != State.IDLE) {
            promise.setFailure(new IllegalStateException("server connection " + id + " is " + state));
            return promise;
        }
        state = State.INTERNAL;
        internalPromise = promise;
        internalPendingReady = statements.length;
        internalError = null;
        for (String sql : statements) {
            ctx.write(new Query(sql).encode(ctx.alloc()));
        }
        ctx.flush();
        return promise;
    }

    /** A string literal for pgrelay's own queries: E'' quoting, correct whatever standard_conforming_strings says. */
    public static String literal(String value) {
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /** One internal query whose rows are wanted, as text. Event loop only, while IDLE. */
    public Future<List<List<String>>> queryInternal(String sql) {
        assert ctx.executor().inEventLoop();
        Promise<List<List<String>>> promise = ctx.executor().newPromise();
        List<List<String>> rows = new ArrayList<>();
        Future<Void> done = runInternal(sql);
        if (!done.isDone()) {
            internalRows = rows;
        }
        done.addListener(f -> {
            internalRows = null;
            if (f.isSuccess()) {
                promise.trySuccess(rows);
            } else {
                promise.tryFailure(f.cause());
            }
        });
        return promise;
    }

    private void onInternalFrame(ByteBuf frame) {
        byte type = Frames.type(frame);
        if (type == MessageType.DATA_ROW && internalRows != null) {
            internalRows.add(DataRow.decode(frame).values());
        } else if (type == MessageType.PARAMETER_STATUS) {
            ParameterStatus ps = ParameterStatus.decode(frame);
            putParameter(ps);
        } else if (type == MessageType.ERROR_RESPONSE && internalError == null) {
            internalError = ErrorResponse.decode(frame);
        } else if (type == MessageType.READY_FOR_QUERY) {
            transactionStatus = ReadyForQuery.statusOf(frame);
            if (--internalPendingReady == 0) {
                state = State.IDLE;
                Promise<Void> p = internalPromise;
                internalPromise = null;
                if (internalError != null) {
                    p.tryFailure(new PgRelayException(internalError));
                } else {
                    p.trySuccess(null);
                }
            }
        }
        // Row data, command tags and notices of pgrelay's own queries go nowhere.
    }

    private void putParameter(ParameterStatus ps) {
        settingsVersion++;
        parameters.put(ps.name(), ps.value());
        lowerParameters.put(ps.name().toLowerCase(java.util.Locale.ROOT), ps.value());
    }

    /**
     * The reported parameters by lower-case name, live and not copied: for whoever holds the connection, while no
     * internal query runs on it (the holder reads it only between hand-overs, which order the writes before it).
     */
    public Map<String, String> reportedLower() {
        return lowerParameters;
    }

    /** The server's parameters as last reported. Event loop only. */
    public Map<String, String> parameters() {
        return Map.copyOf(parameters);
    }

    /** Hands the connection to a client. Event loop only, while IDLE. */
    public void link(ServerLink link) {
        assert ctx.executor().inEventLoop();
        if (state != State.IDLE) {
            throw new IllegalStateException("server connection " + id + " is " + state);
        }
        this.link = link;
        state = State.LINKED;
    }

    /** Takes the connection back from its client; returns to IDLE. Event loop only. */
    public void unlink() {
        assert ctx.executor().inEventLoop();
        link = null;
        if (state == State.LINKED) {
            state = State.IDLE;
        }
        ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf frames) {
            pending.sent(frames);
            if (state == State.LINKED && direct.sendAll(frames, promise)) {
                return; // a client's frames, straight to the socket
            }
        }
        ctx.write(msg, promise);
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        direct.flush(ctx); // not when everything went straight out: nothing to walk the pipeline for
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (state == State.LINKED) {
            link.serverReadComplete(this);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (state == State.LINKED) {
            link.serverWritabilityChanged(this, ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        State was = state;
        state = State.CLOSED;
        cancelLoginTimeout();
        switch (was) {
            case LOGIN:
                loginPromise.tryFailure(PgRelayException.serverUnavailable(
                        loginError("the server closed the connection").response(), null));
                break;
            case INTERNAL:
                internalPromise.tryFailure(new PgRelayException(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE,
                        "server " + target.address() + " closed the connection")));
                break;
            case LINKED:
                link.serverClosed(this, "server " + target.address() + " closed the connection");
                link = null;
                break;
            default:
                break;
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (state == State.LOGIN) {
            failLogin(loginError(cause.getMessage()));
            return;
        }
        log.warn("server {} [{}]: {}; closing", target.address(), id, cause.toString());
        ctx.close();
    }

    /** Closes the connection; the server ends the backend when it reads EOF. */
    public void close() {
        ctx.close();
    }

    @Override
    public String toString() {
        return "server[" + id + " " + target + " " + state + "]";
    }
}
