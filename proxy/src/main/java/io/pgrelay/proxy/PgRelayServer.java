package io.pgrelay.proxy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.config.PoolConfig;
import io.pgrelay.config.UserConfig;
import io.pgrelay.protocol.StartupDecoder;
import io.pgrelay.protocol.auth.AuthException;
import io.pgrelay.proxy.client.CancelKeys;
import io.pgrelay.proxy.client.ClientSession;
import io.pgrelay.proxy.client.ProxyServices;
import io.pgrelay.proxy.client.StartupNegotiator;
import io.pgrelay.proxy.client.UserSecrets;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.pool.PoolKey;
import io.pgrelay.proxy.route.PoolGroup;
import io.pgrelay.proxy.admin.Reloader;
import io.pgrelay.proxy.health.HealthMonitor;
import io.pgrelay.proxy.health.RoleDecider.Role;
import io.pgrelay.proxy.prepared.StatementRegistry;
import io.pgrelay.proxy.server.ServerConnector;
import io.pgrelay.proxy.server.ServerTarget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The running proxy: the listener, the event loops, the pools. */
public final class PgRelayServer implements ProxyServices, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PgRelayServer.class);

    /** Bytes queued towards a client above which its server is no longer read, and below which it is again. */
    public static final int CLIENT_WRITE_HIGH_WATER_MARK = 256 * 1024;
    public static final int CLIENT_WRITE_LOW_WATER_MARK = 64 * 1024;

    private volatile PgRelayConfig config; // volatile, as secrets and groups: RELOAD swaps them (apply)
    private final Transport transport;
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    /** The health checks' own thread: probes and promotions never wait behind client traffic, nor delay it. */
    private final EventLoopGroup healthGroup;
    private final ServerConnector connector;
    private volatile UserSecrets secrets;
    /** TLS contexts and GSSAPI credentials (io.pgrelay.proxy.tls). */
    private final io.pgrelay.proxy.tls.TransportSecurity security;
    private final CancelKeys cancelKeys = new CancelKeys();
    private final io.pgrelay.proxy.client.ClientLimits clientLimits = new io.pgrelay.proxy.client.ClientLimits();
    private final StatementRegistry statements = new StatementRegistry();
    private volatile Map<PoolKey, PoolGroup> groups = new LinkedHashMap<>();
    /** Admin console, metrics, reload and graceful shutdown (io.pgrelay.proxy.admin). */
    private final io.pgrelay.proxy.admin.AdminConsole admin = new io.pgrelay.proxy.admin.AdminConsole(this);
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
    /** Roles decided by the health checks; every pool group routes by it. */
    private final io.pgrelay.proxy.health.Topology topology = new io.pgrelay.proxy.health.Topology();
    private volatile HealthMonitor monitor;
    private final AtomicInteger clients = new AtomicInteger();
    private Channel listener;
    private ScheduledFuture<?> evictor;

    private PgRelayServer(PgRelayConfig config, int threads) throws AuthException {
        this.config = config;
        this.security = loadSecurity(config);
        this.transport = Transport.detect();
        this.bossGroup = transport.newGroup(1, "pgrelay-accept");
        this.workerGroup = transport.newGroup(threads, "pgrelay-io");
        this.healthGroup = transport.newGroup(1, "pgrelay-health");
        this.connector = new ServerConnector(transport);
        connector.useTls(security.tls(), config.security().serverTlsMode());
        this.secrets = UserSecrets.derive(config);
        for (PoolConfig pool : config.pools().values()) {
            for (UserConfig user : pool.users().values()) {
                // The same construction RELOAD uses, so a start and a reload build identical pools.
                PoolGroup group = Reloader.build(this, config, pool, user);
                groups.put(group.key(), group);
            }
        }
    }

    /** Starts listening on the configured host and port. */
    public static PgRelayServer start(PgRelayConfig config) throws InterruptedException, AuthException {
        return start(config, config.ioThreads());
    }

    public static PgRelayServer start(PgRelayConfig config, int threads) throws InterruptedException, AuthException {
        PgRelayServer server = new PgRelayServer(config, threads);
        try {
            server.bind();
        } catch (RuntimeException | InterruptedException e) {
            server.close();
            throw e;
        }
        return server;
    }

    private void bind() throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(transport.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                // A client that reads slower than its server sends stops the server's reads above the high mark
                // (Relay.clientWritabilityChanged): what pgrelay holds per slow client stays near this, plus one
                // read batch of the server connection.
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new io.netty.channel.WriteBufferWaterMark(
                        CLIENT_WRITE_LOW_WATER_MARK, CLIENT_WRITE_HIGH_WATER_MARK))
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new StartupDecoder());
                        ch.pipeline().addLast("negotiator", new StartupNegotiator(security));
                        ch.pipeline().addLast("session", new ClientSession(PgRelayServer.this));
                    }
                });
        String host = config.general().host();
        listener = b.bind(host, config.general().port()).sync().channel();
        evictor = workerGroup.next().scheduleAtFixedRate(this::maintainPools, 1, 1, TimeUnit.SECONDS);
        log.info("pgrelay listening on {}:{} ({} transport, {} pools)", host, port(), transport.name(), groups.size());
        admin.start(workerGroup);
        monitor = new HealthMonitor(connector, healthGroup.next(), config.health(), admin.metrics().hosts(), topology,
                this::roleChanged);
        watch(config, groups.values());
    }

    /** Tells the health checks which servers to probe, grouped as the pools share a primary (start and RELOAD). */
    public void watch(PgRelayConfig cfg, java.util.Collection<PoolGroup> watched) {
        List<List<ServerTarget>> clusters = new ArrayList<>();
        for (PoolGroup g : watched) {
            List<ServerTarget> targets = new ArrayList<>();
            for (Pool p : g.all()) {
                targets.add(p.target());
            }
            clusters.add(targets);
        }
        HealthMonitor m = monitor;
        if (m != null) {
            m.configure(clusters, cfg.health());
        }
    }

    /**
     * A server died, was fenced, or changed role: its pooled connections close, idle ones now and busy ones once
     * given back; when it is banned (dead or hung), busy ones too, so nobody waits on it for ever.
     */
    private void roleChanged(String address, Role from, Role to, boolean banned) {
        if (!banned && from == Role.UNKNOWN && to != Role.DOWN && to != Role.FENCED) {
            return; // first probe: nothing to undo
        }
        for (Pool p : allPools()) {
            if (p.target().address().equals(address)) {
                if (banned) {
                    p.abortAll();
                } else {
                    p.reconnect();
                }
            }
        }
    }

    public io.pgrelay.proxy.health.Topology topology() {
        return topology;
    }

    /** Once a second: close idle connections past their time, open warm ones up to min_pool_size. */
    private void maintainPools() {
        long now = System.nanoTime();
        for (Pool p : allPools()) {
            p.evict(now);
            p.ensureMinimum(workerGroup, now);
        }
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    private static io.pgrelay.proxy.tls.TransportSecurity loadSecurity(PgRelayConfig config) {
        try {
            return io.pgrelay.proxy.tls.TransportSecurity.load(config.security());
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    /** TLS and GSSAPI state: contexts, credentials, counters. */
    public io.pgrelay.proxy.tls.TransportSecurity security() {
        return security;
    }

    /**
     * Re-reads TLS certificates and keys (part of RELOAD): new handshakes use them, established connections keep
     * theirs. On a bad file the old ones stay in use and the exception says why.
     */
    public void reloadTls() throws Exception {
        security.reloadTls();
    }

    /** Every pool: the primary's and the standbys' of every (database, user). */
    public List<Pool> allPools() {
        List<Pool> all = new ArrayList<>();
        for (PoolGroup g : groups.values()) {
            all.addAll(g.all());
        }
        return all;
    }

    @Override
    public PoolGroup group(String database, String user) {
        return groups.get(new PoolKey(database, user));
    }

    @Override
    public HealthMonitor monitor() {
        return monitor;
    }

    @Override
    public PgRelayConfig config() {
        return config;
    }

    /** The primary's pool of a (database, user). */
    public Pool pool(String database, String user) {
        PoolGroup g = group(database, user);
        return g == null ? null : g.primary();
    }

    @Override
    public UserSecrets secrets() {
        return secrets;
    }

    @Override
    public StatementRegistry statements() {
        return statements;
    }

    @Override
    public CancelKeys cancelKeys() {
        return cancelKeys;
    }

    @Override
    public io.pgrelay.proxy.client.ClientLimits clientLimits() {
        return clientLimits;
    }

    @Override
    public ServerConnector connector() {
        return connector;
    }

    @Override
    public boolean clientOpened() {
        return clients.incrementAndGet() <= config.general().maxClientConn();
    }

    @Override
    public void clientClosed() {
        clients.decrementAndGet();
    }

    public int clientCount() {
        return clients.get();
    }

    @Override
    public io.pgrelay.proxy.admin.AdminConsole admin() {
        return admin;
    }

    @Override
    public io.pgrelay.proxy.metrics.ClientTraffic traffic(String database, String user) {
        return admin.metrics().traffic(database, user).newClient();
    }

    /** Every (database, user)'s pool group. */
    public Map<PoolKey, PoolGroup> groups() {
        return groups;
    }

    /**
     * RELOAD (io.pgrelay.proxy.admin.Reloader built the pools): new logins see the new config, passwords and
     * pools; sessions already open keep the pool group they have.
     */
    public synchronized void apply(PgRelayConfig newConfig, UserSecrets newSecrets,
                                   Map<PoolKey, PoolGroup> newGroups) {
        this.secrets = newSecrets;
        this.groups = new LinkedHashMap<>(newGroups);
        this.config = newConfig;
    }

    /** Graceful shutdown, first step: no new client connections. */
    public void stopAccepting() {
        Channel l = listener;
        if (l != null) {
            l.close().syncUninterruptibly();
        }
    }

    @Override
    public int maxClientConn() {
        return config.general().maxClientConn();
    }


    /** Stops listening, closes every client and server connection, stops the event loops. */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        admin.close();
        if (monitor != null) {
            monitor.close();
        }
        if (evictor != null) {
            evictor.cancel(false);
        }
        if (listener != null) {
            listener.close().syncUninterruptibly();
        }
        for (Pool p : allPools()) {
            p.close();
        }
        bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        healthGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        log.info("pgrelay stopped");
    }
}
