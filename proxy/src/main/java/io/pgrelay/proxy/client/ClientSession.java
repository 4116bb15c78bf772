package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.config.PoolConfig;
import io.pgrelay.config.UserConfig;
import io.pgrelay.protocol.FrameDecoder;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.ProtocolException;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.StartupDecoder;
import io.pgrelay.protocol.message.Authentication;
import io.pgrelay.protocol.message.BackendKeyData;
import io.pgrelay.protocol.message.CancelRequest;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.NegotiateProtocolVersion;
import io.pgrelay.protocol.message.ParameterStatus;
import io.pgrelay.protocol.message.ReadyForQuery;
import io.pgrelay.protocol.message.StartupMessage;
import io.pgrelay.proxy.PgRelayException;
import io.pgrelay.proxy.metrics.LimitStats;
import io.pgrelay.proxy.metrics.RouteStats;
import io.pgrelay.proxy.server.ServerConnection;
import io.pgrelay.proxy.server.ServerLink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One client connection, from its StartupMessage to its close: startup (protocol version, cancel requests),
 * authentication, taking a server connection, then forwarding frames both ways (session pooling).
 *
 * <p>Ownership of the server connection: while CONNECTING the acquire/setup path owns it and gives it back if the
 * client left meanwhile; once READY the session gives it back when the client goes. Everything here runs on the
 * client's event loop except the {@link ServerLink} callbacks, which run on the server connection's loop and only
 * write to this channel or hop onto its loop.
 */
public final class ClientSession extends ChannelInboundHandlerAdapter implements Relay.Owner {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    enum State { STARTUP, AUTHENTICATING, CONNECTING, READY, CLOSED }

    private final ProxyServices services;
    private ChannelHandlerContext ctx;
    private State state = State.STARTUP;
    private boolean counted;
    private boolean overLimit;
    /** Counted in ClientLimits (per user and database) from login to close. */
    private boolean admitted;
    private ScheduledFuture<?> authTimeout;

    private String database;
    private String userName;
    private UserConfig user;
    private StartupParameters settings;
    private ClientAuthenticator authenticator;
    private BackendKeyData cancelKey;
    private Relay relay;
    /** Set when the client asked for the admin console (databases pgbouncer / pgrelay). */
    private io.pgrelay.proxy.admin.AdminConsole console;
    private final long connectedAt = System.currentTimeMillis();

    public ClientSession(ProxyServices services) {
        this.services = services;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        counted = true;
        overLimit = !services.clientOpened();
        long ms = services.config().general().clientLoginTimeout().toMillis();
        if (ms > 0) { // client_login_timeout = 0: no limit
            authTimeout = ctx.executor().schedule(() -> {
                if (state == State.STARTUP || state == State.AUTHENTICATING) {
                    services.limitStats().refused(LimitStats.Limit.CLIENT_LOGIN_TIMEOUT);
                    log.info("client {}: no login within client_login_timeout ({} ms); closing", remote(), ms);
                    fatal(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                            "authentication timeout: no login completed within client_login_timeout (" + ms
                                    + " ms)"));
                }
            }, ms, TimeUnit.MILLISECONDS);
        }
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (state) {
            case STARTUP:
                onStartupPacket(msg);
                break;
            case AUTHENTICATING:
                try {
                    onAuthFrame((ByteBuf) msg);
                } finally {
                    ReferenceCountUtil.release(msg);
                }
                break;
            case CONNECTING:
            case READY:
                relay.clientFrame((ByteBuf) msg);
                break;
            default:
                ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (relay != null) {
            relay.clientReadComplete();
        }
        ctx.fireChannelReadComplete();
    }

    // ---- startup -------------------------------------------------------------------------------------------

    private void onStartupPacket(Object msg) {
        // SSLRequest and GSSENCRequest never get here: StartupNegotiator answers them.
        if (msg instanceof CancelRequest cancel) {
            ClientSession target = services.cancelKeys().lookup(cancel.processId(), cancel.secretKey());
            services.limitStats().cancel(target != null);
            if (target != null) {
                target.cancelRunningQuery();
            } else {
                // Nothing said to the sender either way (as PostgreSQL): a wrong key learns nothing.
                log.debug("client {}: CancelRequest matching no client", remote());
            }
            ctx.close();
        } else if (msg instanceof StartupMessage startup) {
            try {
                onStartupMessage(startup);
            } catch (PgRelayException e) {
                fatal(e.response());
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onStartupMessage(StartupMessage m) throws PgRelayException {
        if (m.majorVersion() != 3) {
            throw new PgRelayException(ErrorResponse.fatal(SqlState.FEATURE_NOT_SUPPORTED,
                    "unsupported frontend protocol " + m.majorVersion() + "." + m.minorVersion()
                            + ": server supports 3.0 to 3.0"));
        }
        if (overLimit) {
            services.limitStats().refused(LimitStats.Limit.MAX_CLIENT_CONN);
            log.warn("client {}: refused, max_client_conn ({}) reached", remote(), services.maxClientConn());
            throw new PgRelayException(ErrorResponse.fatal(SqlState.TOO_MANY_CONNECTIONS,
                    "sorry, too many clients already (max_client_conn = " + services.maxClientConn() + ")"));
        }
        userName = m.parameter("user");
        if (userName == null || userName.isEmpty()) {
            throw new PgRelayException(ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION,
                    "no PostgreSQL user name specified in startup packet"));
        }
        database = m.parameter("database");
        if (database == null || database.isEmpty()) {
            database = userName;
        }
        console = io.pgrelay.proxy.admin.AdminConsole.isConsole(database) ? services.admin() : null;
        PoolConfig poolConfig = console != null ? null : services.config().pools().get(database);
        if (poolConfig == null && console == null) {
            throw new PgRelayException(ErrorResponse.fatal(SqlState.INVALID_CATALOG_NAME,
                    "database \"" + database + "\" does not exist")
                    .withHint("pgrelay serves the databases named in its [pools] config"));
        }
        if (console == null && services.admin() != null && services.admin().isDisabled(database)) {
            throw new PgRelayException(ErrorResponse.fatal("57P03", "database \"" + database
                    + "\" does not allow connections: it is disabled (admin console DISABLE)"));
        }
        user = console != null ? console.consoleUser(userName) : poolConfig.users().get(userName);
        if (user == null) {
            throw new PgRelayException(ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION,
                    "no such user \"" + userName + "\" for database \"" + database + "\" in pgrelay's config"));
        }
        settings = StartupParameters.from(m.parameters());

        List<String> unknownOptions = new ArrayList<>();
        for (String name : m.parameters().keySet()) {
            if (name.startsWith("_pq_.")) {
                unknownOptions.add(name);
            }
        }
        if (m.minorVersion() > 0 || !unknownOptions.isEmpty()) {
            ctx.write(new NegotiateProtocolVersion(0, unknownOptions).encode(ctx.alloc()));
        }

        // From here on the client speaks typed messages; bytes already read move to the new decoder.
        ctx.pipeline().replace(StartupDecoder.class, "frames", FrameDecoder.forFrontend(services.config().general().maxPacketSize()));
        if (ctx.pipeline().get(StartupNegotiator.class) != null) {
            ctx.pipeline().remove(StartupNegotiator.class); // encryption is settled: one handler less per read
        }
        state = State.AUTHENTICATING;
        authenticator = new ClientAuthenticator(user, console != null ? console.consoleSecrets(userName)
                : services.secrets().get(database, userName), RANDOM,
                ctx.channel());
        ClientAuthenticator.Reply first = authenticator.begin();
        if (first.done()) {
            authenticated();
        } else {
            ctx.writeAndFlush(first.message().encode(ctx.alloc()));
        }
    }

    private void onAuthFrame(ByteBuf frame) {
        if (Frames.type(frame) != MessageType.PASSWORD) {
            fatal(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "expected password response, got message type "
                    + MessageType.describe(Frames.type(frame))));
            return;
        }
        try {
            ClientAuthenticator.Reply reply = authenticator.onPasswordFrame(frame);
            if (reply.message() != null) {
                ctx.write(reply.message().encode(ctx.alloc()));
            }
            if (reply.done()) {
                authenticated();
            } else {
                ctx.flush();
            }
        } catch (PgRelayException e) {
            log.warn("client {}: authentication of user \"{}\" for database \"{}\" failed: {}", remote(), userName,
                    database, e.getMessage());
            fatal(e.response());
        } catch (ProtocolException e) {
            fatal(ErrorResponse.fatal(e.sqlState(), e.getMessage()));
        }
    }

    private void authenticated() {
        authenticator = null;
        ctx.writeAndFlush(Authentication.AuthenticationOk.INSTANCE.encode(ctx.alloc()));
        if (console != null) { // the admin console takes the client over, with its place in max_client_conn
            if (authTimeout != null) {
                authTimeout.cancel(false);
            }
            state = State.CLOSED;
            counted = false;
            console.attach(ctx, userName, settings.settings(), services);
            return;
        }
        if (!admit()) {
            return;
        }
        state = State.CONNECTING;
        relay = new Relay(ctx, this, services.group(database, userName), services.statements(),
                new SettingsSync(settings.settings()));
        relay.traffic = services.traffic(database, userName);
        relay.routes = services.admin() == null ? RouteStats.NONE : services.admin().metrics().routes();
        relay.monitor = services.monitor();
        relay.failoverTimeout = services.config().health().failoverTimeout();
        relay.maxPreparedStatements = services.config().limits().maxClientPreparedStatements();
        relay.limitStats = services.limitStats();
        relay.login();
    }

    /**
     * Counts the client for max_user_client_connections and max_db_client_connections; false (and the client
     * refused with 53300, as PostgreSQL refuses a role or database over its connection limit) when over one.
     */
    private boolean admit() {
        ClientLimits limits = services.clientLimits();
        if (limits == null) {
            return true;
        }
        io.pgrelay.config.LimitsConfig cfg = services.config().limits();
        int userLimit = cfg.maxUserClientConnections(database, userName);
        int dbLimit = cfg.maxDbClientConnections(database);
        LimitStats.Limit refused = limits.admit(database, userName, userLimit, dbLimit);
        if (refused == null) {
            admitted = true;
            return true;
        }
        services.limitStats().refused(refused);
        boolean byUser = refused == LimitStats.Limit.MAX_USER_CLIENT_CONNECTIONS;
        String what = byUser ? "user \"" + userName + "\"" : "database \"" + database + "\"";
        int limit = byUser ? userLimit : dbLimit;
        log.warn("client {}: refused, {} has {} clients already ({} = {})", remote(), what, limit, refused.key(),
                limit);
        state = State.CLOSED;
        fatal(ErrorResponse.fatal(SqlState.TOO_MANY_CONNECTIONS, "too many client connections for " + what + " ("
                + refused.key() + " = " + limit + ")"));
        return false;
    }

    /** The relay has a synced server connection: report its parameters, our cancel key, ready. */
    @Override
    public void loginReady(Map<String, String> serverParams) {
        cancelKey = services.cancelKeys().register(this);
        for (Map.Entry<String, String> p : serverParams.entrySet()) {
            ctx.write(new ParameterStatus(p.getKey(), p.getValue()).encode(ctx.alloc()));
        }
        ctx.write(cancelKey.encode(ctx.alloc()));
        ctx.writeAndFlush(ReadyForQuery.READY_IDLE.encode(ctx.alloc()));
        state = State.READY;
        if (authTimeout != null) {
            authTimeout.cancel(false);
        }
    }

    @Override
    public void fail(ErrorResponse error) {
        fatal(error);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (relay != null) {
            relay.clientWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    /** A CancelRequest named this session: cancel on the server only if a query is running there. */
    void cancelRunningQuery() {
        ServerConnection s = relay == null ? null : relay.busyServer();
        if (s != null && s.backendKey() != null) {
            services.connector().cancel(s.channel().eventLoop(), s.target(), s.backendKey());
        }
    }

    // ---- errors and close ---------------------------------------------------------------------------------

    /** The FATAL a client gets when no server connection could be had for it. */
    static ErrorResponse fatalFor(Throwable cause) {
        if (cause instanceof PgRelayException p) {
            ErrorResponse e = p.response();
            return e.isFatal() ? e : ErrorResponse.fatal(e.sqlState(), e.message());
        }
        return ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, "could not get a server connection: " + cause);
    }

    /** Sends a FATAL error and closes once it is written. */
    private void fatal(ErrorResponse error) {
        if (!ctx.channel().isActive()) {
            return;
        }
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(error.encode(ctx.alloc())).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof io.pgrelay.protocol.LimitExceededException l) {
            LimitStats.Limit limit = LimitStats.Limit.of(l.limit());
            if (limit != null) {
                services.limitStats().refused(limit);
            }
        }
        if (cause instanceof ProtocolException p) {
            log.info("client {}: protocol violation: {}", remote(), p.getMessage());
            fatal(ErrorResponse.fatal(p.sqlState(), p.getMessage()));
        } else if (cause instanceof IOException) {
            log.debug("client {}: {}", remote(), cause.toString());
            ctx.close();
        } else {
            log.warn("client {}: unexpected error; closing", remote(), cause);
            fatal(ErrorResponse.fatal(SqlState.INTERNAL_ERROR, "internal error in pgrelay: " + cause));
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = State.CLOSED;
        if (authTimeout != null) {
            authTimeout.cancel(false);
        }
        if (counted) {
            services.clientClosed();
            counted = false;
        }
        if (cancelKey != null) {
            services.cancelKeys().unregister(cancelKey);
        }
        if (admitted) {
            services.clientLimits().release(database, userName);
            admitted = false;
        }
        if (relay != null) {
            relay.close();
        }
        ctx.fireChannelInactive();
    }

    // ---- for the admin console (SHOW CLIENTS, KILL_CLIENT) -------------------------------------------------

    public String database() {
        return database;
    }

    public String userName() {
        return userName;
    }

    public long connectedAtMillis() {
        return connectedAt;
    }

    /** The client's id: its cancel key's process id (0 before login completes). */
    public int id() {
        BackendKeyData k = cancelKey;
        return k == null ? 0 : k.processId();
    }

    public io.netty.channel.Channel channel() {
        return ctx.channel();
    }

    public String applicationName() {
        String reported = traffic().applicationName();
        return reported != null ? reported : settings == null ? null : settings.settings().get("application_name");
    }

    /** The server connection serving the client now, or null. */
    public ServerConnection server() {
        Relay r = relay;
        return r == null ? null : r.server();
    }

    public io.pgrelay.proxy.metrics.ClientTraffic traffic() {
        Relay r = relay;
        return r == null ? io.pgrelay.proxy.metrics.ClientTraffic.NONE : r.traffic;
    }

    /** Named prepared statements the client has. */
    public int preparedStatements() {
        Relay r = relay;
        return r == null ? 0 : r.preparedCount();
    }

    /** Sends {@code error} and closes the client (KILL, KILL_CLIENT); safe from any thread. */
    public void terminate(ErrorResponse error) {
        ctx.executor().execute(() -> fatal(error));
    }

    private String remote() {
        if (ctx != null && ctx.channel().remoteAddress() instanceof InetSocketAddress a) {
            return a.getAddress().getHostAddress() + ":" + a.getPort();
        }
        return "?";
    }
}
