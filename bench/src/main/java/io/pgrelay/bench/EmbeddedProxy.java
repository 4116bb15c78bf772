package io.pgrelay.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.protocol.FrameDecoder;
import io.pgrelay.protocol.StartupDecoder;
import io.pgrelay.proxy.Transport;
import io.pgrelay.proxy.client.CancelKeys;
import io.pgrelay.proxy.client.ClientSession;
import io.pgrelay.proxy.client.ProxyServices;
import io.pgrelay.proxy.client.StartupNegotiator;
import io.pgrelay.proxy.client.UserSecrets;
import io.pgrelay.proxy.metrics.ClientTraffic;
import io.pgrelay.proxy.metrics.ProxyMetrics;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.pool.PoolKey;
import io.pgrelay.proxy.prepared.StatementRegistry;
import io.pgrelay.proxy.route.PoolGroup;
import io.pgrelay.proxy.server.ServerConnection;
import io.pgrelay.proxy.server.ServerConnector;
import io.pgrelay.proxy.server.ServerTarget;
import io.pgrelay.proxy.tls.TransportSecurity;

import java.time.Duration;
import java.util.List;

/**
 * pgrelay's client pipeline and server connections wired onto EmbeddedChannels, all on the caller's thread: a client
 * channel with the handlers PgRelayServer installs (StartupDecoder, StartupNegotiator, ClientSession), one pool
 * (transaction mode, pool_size 1) whose connector logs in over an EmbeddedChannel with canned PostgreSQL answers,
 * and the real metrics counters. What is left out: sockets, TLS, the admin console's route counters, health checks.
 */
final class EmbeddedProxy implements ProxyServices, AutoCloseable {
    static final String CONFIG = """
            [general]
            host = "127.0.0.1"
            port = 6432
            [pools.app]
            pool_mode = "transaction"
            [pools.app.users.0]
            username = "app"
            auth_type = "trust"
            pool_size = 1
            [pools.app.shards.0]
            database = "app"
            servers = [["127.0.0.1", 5432, "primary"]]
            """;

    /** What PostgreSQL 16 sends after AuthenticationOk; the client sees these again at its own login. */
    private static final byte[] SERVER_LOGIN = Wire.concat(Wire.authenticationOk(),
            Wire.parameterStatus("application_name", ""), Wire.parameterStatus("client_encoding", "UTF8"),
            Wire.parameterStatus("DateStyle", "ISO, MDY"), Wire.parameterStatus("integer_datetimes", "on"),
            Wire.parameterStatus("IntervalStyle", "postgres"), Wire.parameterStatus("is_superuser", "off"),
            Wire.parameterStatus("server_encoding", "UTF8"), Wire.parameterStatus("server_version", "16.4"),
            Wire.parameterStatus("session_authorization", "app"),
            Wire.parameterStatus("standard_conforming_strings", "on"), Wire.parameterStatus("TimeZone", "UTC"),
            Wire.backendKeyData(4242, 123456789), Wire.readyForQuery('I'));

    private final PgRelayConfig config;
    private final UserSecrets secrets;
    private final CancelKeys cancelKeys = new CancelKeys();
    private final StatementRegistry registry = new StatementRegistry();
    private final ProxyMetrics metrics = new ProxyMetrics();
    private final EmbeddedConnector connector = new EmbeddedConnector();
    private final PoolGroup group;

    EmbeddedProxy() {
        try {
            config = ConfigLoader.parse(CONFIG, "bench.toml");
            secrets = UserSecrets.derive(config);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        PoolKey key = new PoolKey("app", "app");
        // As Reloader builds it for transaction mode: no reset query, no wait or lifetime limits that schedule work.
        Pool.PoolSettings settings = new Pool.PoolSettings(1, Duration.ZERO, Duration.ZERO, Duration.ZERO, null, true,
                0, Duration.ZERO);
        ServerTarget target = new ServerTarget("127.0.0.1", 5432, "app", "app", null, Duration.ZERO, 200);
        Pool pool = new Pool(key, target, connector, settings);
        group = new PoolGroup(key, pool, List.of(), config.pools().get("app").routing());
        metrics.registerPool("app", "app");
    }

    /** A new client connection with PgRelayServer's pipeline; nothing sent yet. */
    EmbeddedChannel newClient() {
        return new EmbeddedChannel(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new StartupDecoder());
                ch.pipeline().addLast("negotiator", new StartupNegotiator(TransportSecurity.NONE));
                ch.pipeline().addLast("session", new ClientSession(EmbeddedProxy.this));
            }
        });
    }

    /** The server connection's channel (the pool opens one, on the first login). */
    EmbeddedChannel server() {
        return connector.server;
    }

    /** Releases everything written to {@code ch} since the last call; returns the frames' bytes, when asked. */
    static ByteBuf drain(EmbeddedChannel ch, boolean keep) {
        CompositeByteBuf all = keep ? Unpooled.compositeBuffer(64) : null;
        Object m;
        while ((m = ch.readOutbound()) != null) {
            if (keep) {
                all.addComponent(true, (ByteBuf) m);
            } else {
                ReferenceCountUtil.release(m);
            }
        }
        return all;
    }

    /** Drains {@code ch} and checks it wrote exactly {@code expected}; for setup, not for measured calls. */
    static void expect(EmbeddedChannel ch, byte[] expected, String what) {
        ByteBuf got = drain(ch, true);
        try {
            if (!ByteBufUtil.equals(got, Unpooled.wrappedBuffer(expected))) {
                throw new IllegalStateException(what + ": expected " + ByteBufUtil.hexDump(expected) + " got "
                        + ByteBufUtil.hexDump(got));
            }
        } finally {
            got.release();
        }
    }

    /** Drains {@code ch} and returns the type bytes of the frames it wrote, e.g. "PBDES". */
    static String frameTypes(EmbeddedChannel ch) {
        ByteBuf got = drain(ch, true);
        try {
            StringBuilder types = new StringBuilder();
            for (int i = got.readerIndex(); i < got.writerIndex(); i += 1 + got.getInt(i + 1)) {
                types.append((char) got.getByte(i));
            }
            return types.toString();
        } finally {
            got.release();
        }
    }

    @Override
    public PgRelayConfig config() {
        return config;
    }

    @Override
    public PoolGroup group(String database, String user) {
        return group;
    }

    @Override
    public UserSecrets secrets() {
        return secrets;
    }

    @Override
    public CancelKeys cancelKeys() {
        return cancelKeys;
    }

    @Override
    public ServerConnector connector() {
        return connector;
    }

    @Override
    public StatementRegistry statements() {
        return registry;
    }

    @Override
    public boolean clientOpened() {
        return true;
    }

    @Override
    public void clientClosed() {
    }

    @Override
    public int maxClientConn() {
        return config.general().maxClientConn();
    }

    @Override
    public ClientTraffic traffic(String database, String user) {
        return metrics.traffic(database, user).newClient();
    }

    @Override
    public void close() {
        group.close();
        if (connector.server != null) {
            connector.server.finishAndReleaseAll();
        }
        metrics.close();
    }

    /** Logs in over an EmbeddedChannel instead of a socket; PostgreSQL's side is canned bytes. */
    private static final class EmbeddedConnector extends ServerConnector {
        EmbeddedChannel server;

        EmbeddedConnector() {
            super(Transport.detect()); // unused: connect() below opens no socket
        }

        @Override
        public Future<ServerConnection> connect(EventLoop loop, ServerTarget target) {
            if (server != null) {
                throw new IllegalStateException("pool_size is 1: a second server connection was asked for");
            }
            Promise<ServerConnection> promise = loop.newPromise();
            ServerConnection conn = newConnection(target, promise);
            server = new EmbeddedChannel(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel ch) {
                    ch.pipeline().addLast("frames", FrameDecoder.forBackendRuns(ServerConnector.MAX_BACKEND_FRAME));
                    ch.pipeline().addLast("server", conn);
                }
            });
            // The StartupMessage went out when the channel became active; PostgreSQL answers (trust).
            ByteBuf startup = drain(server, true);
            boolean sent = startup.isReadable();
            startup.release();
            if (!sent) {
                throw new IllegalStateException("no StartupMessage from the server connection");
            }
            server.writeInbound(Unpooled.wrappedBuffer(SERVER_LOGIN));
            return promise;
        }
    }
}
