package io.pgrelay.proxy.admin;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.config.AuthType;
import io.pgrelay.config.General;
import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.config.PoolConfig;
import io.pgrelay.config.PoolMode;
import io.pgrelay.config.ServerConfig;
import io.pgrelay.config.UserConfig;
import io.pgrelay.protocol.auth.Md5Password;
import io.pgrelay.protocol.auth.ScramSecret;
import io.pgrelay.proxy.PgRelayServer;
import io.pgrelay.proxy.client.ProxyServices;
import io.pgrelay.proxy.client.UserSecrets;
import io.pgrelay.proxy.metrics.MetricsHttpServer;
import io.pgrelay.proxy.metrics.ProxyMetrics;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.pool.PoolKey;
import io.pgrelay.proxy.route.PoolGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The operator's side of a running proxy: the admin console (virtual databases {@code pgbouncer} and
 * {@code pgrelay}), the metrics and their HTTP endpoint, PAUSE / DISABLE state, RELOAD and graceful shutdown.
 * One per {@link PgRelayServer}.
 */
public final class AdminConsole {
    private static final Logger log = LoggerFactory.getLogger(AdminConsole.class);
    /** The virtual database PgBouncer's tools connect to. */
    public static final String DATABASE = "pgbouncer";
    private static final Set<String> DATABASES = Set.of("pgbouncer", "pgrelay");

    private final PgRelayServer server;
    private final ProxyMetrics metrics = new ProxyMetrics();
    private final Reloader reloader;
    private final Set<String> paused = ConcurrentHashMap.newKeySet();
    private final Set<String> disabled = ConcurrentHashMap.newKeySet();
    private final Set<AdminSession> sessions = ConcurrentHashMap.newKeySet();
    private volatile boolean pausedAll;
    private volatile Map<String, UserSecrets.Secrets> adminSecrets = Map.of();
    private volatile MetricsHttpServer http;
    private ScheduledFuture<?> statsPeriod;
    private final Shutdown shutdown;

    public AdminConsole(PgRelayServer server) {
        this.server = server;
        this.reloader = new Reloader(this);
        this.shutdown = new Shutdown(this);
    }

    /** Whether clients asking for {@code database} reach the console rather than a pool. */
    public static boolean isConsole(String database) {
        return database != null && DATABASES.contains(database.toLowerCase(Locale.ROOT));
    }

    /** After the listener is up: meters for every pool, the stats period, the metrics endpoint when enabled. */
    public void start(EventLoopGroup loops) throws InterruptedException {
        PgRelayConfig config = server.config();
        adminSecrets = deriveAdmin(config.general());
        registerMeters(config);
        metrics.countPoolsWith(key -> {
            int nul = key.indexOf('\0');
            return new Show(this).counts(new PoolKey(key.substring(0, nul), key.substring(nul + 1)));
        });
        long period = ProxyMetrics.DEFAULT_STATS_PERIOD_MILLIS;
        statsPeriod = loops.next().scheduleAtFixedRate(metrics::rollPeriod, period, period, TimeUnit.MILLISECONDS);
        General g = config.general();
        if (g.enablePrometheusExporter()) {
            http = MetricsHttpServer.start(g.host(), g.prometheusExporterPort(), metrics::scrape);
        }
    }

    void registerMeters(PgRelayConfig config) {
        for (PoolConfig p : config.pools().values()) {
            for (UserConfig u : p.users().values()) {
                metrics.registerPool(p.name(), u.username());
            }
            for (ServerConfig s : p.shards().get(0).servers()) {
                // The config's role until the health checks say otherwise (they keep it up to date from then on).
                metrics.hosts().host(p.name(), s.host(), s.port(), s.role().configName());
            }
        }
    }

    public void close() {
        if (statsPeriod != null) {
            statsPeriod.cancel(false);
        }
        MetricsHttpServer h = http;
        if (h != null) {
            h.close();
        }
        metrics.close();
    }

    public PgRelayServer server() {
        return server;
    }

    public ProxyMetrics metrics() {
        return metrics;
    }

    /** The metrics endpoint's port; -1 when it is off. */
    public int metricsPort() {
        MetricsHttpServer h = http;
        return h == null ? -1 : h.port();
    }

    // ---- login ---------------------------------------------------------------------------------------------

    /** Whether {@code user} is the admin user (every command) rather than a stats user (SHOW only). */
    public boolean isAdmin(String user) {
        return user != null && user.equals(server.config().general().adminUsername());
    }

    /**
     * The account {@code user} logs in to the console with: admin_username / admin_password, or a stats_users
     * member with the password it has in a pool; null when {@code user} may not use the console.
     */
    public UserConfig consoleUser(String user) {
        General g = server.config().general();
        if (isAdmin(user)) {
            return new UserConfig(user, g.adminPassword(), g.authType() == AuthType.TRUST ? AuthType.TRUST
                    : g.authType(), 1, 0, PoolMode.SESSION, user, null);
        }
        if (user != null && g.statsUsers().contains(user)) {
            for (PoolConfig p : server.config().pools().values()) {
                UserConfig u = p.users().get(user);
                if (u != null) {
                    return u;
                }
            }
        }
        return null;
    }

    /** What the console user's password is checked against (see {@link #consoleUser}). */
    public UserSecrets.Secrets consoleSecrets(String user) {
        if (isAdmin(user)) {
            return adminSecrets.get(user);
        }
        for (PoolConfig p : server.config().pools().values()) {
            if (p.users().containsKey(user)) {
                return server.secrets().get(p.name(), user);
            }
        }
        return new UserSecrets.Secrets(null, null);
    }

    static Map<String, UserSecrets.Secrets> deriveAdmin(General g) {
        if (g.adminUsername() == null || g.adminPassword() == null) {
            return Map.of();
        }
        String pw = g.adminPassword();
        try {
            UserSecrets.Secrets s;
            if (ScramSecret.looksLikeVerifier(pw)) {
                s = new UserSecrets.Secrets(ScramSecret.parse(pw), null);
            } else if (Md5Password.looksLikeHash(pw)) {
                s = new UserSecrets.Secrets(null, pw);
            } else {
                s = new UserSecrets.Secrets(ScramSecret.fromPassword(pw, new SecureRandom()),
                        Md5Password.hash(g.adminUsername(), pw));
            }
            return Map.of(g.adminUsername(), s);
        } catch (Exception e) {
            throw new IllegalArgumentException("admin_password: " + e.getMessage(), e);
        }
    }

    void adminSecrets(Map<String, UserSecrets.Secrets> secrets) {
        adminSecrets = secrets;
    }

    /** The client authenticated for the console: an {@link AdminSession} takes over the channel. */
    public void attach(ChannelHandlerContext ctx, String user, Map<String, String> startupParameters,
                       ProxyServices services) {
        AdminSession session = new AdminSession(this, services, user, isAdmin(user), startupParameters);
        ctx.pipeline().replace(ctx.handler(), "admin", session);
    }

    void opened(AdminSession s) {
        sessions.add(s);
    }

    void closed(AdminSession s) {
        sessions.remove(s);
    }

    int sessionCount() {
        return sessions.size();
    }

    // ---- state ---------------------------------------------------------------------------------------------

    public boolean isDisabled(String database) {
        return disabled.contains(database);
    }

    boolean isPaused(String database) {
        return pausedAll || paused.contains(database);
    }

    boolean isPausedAll() {
        return pausedAll;
    }

    void disable(String database, boolean off) {
        if (off) {
            disabled.add(database);
        } else {
            disabled.remove(database);
        }
    }

    /** PAUSE: every pool of {@code database} (null: all) stops handing out connections. */
    void pause(String database) {
        if (database == null) {
            pausedAll = true;
        } else {
            paused.add(database);
        }
        for (Pool p : pools(database)) {
            p.pause();
        }
    }

    void resume(String database) {
        if (database == null) {
            pausedAll = false;
            paused.clear();
        } else {
            paused.remove(database);
        }
        for (Pool p : pools(database)) {
            if (!isPaused(p.key().database())) {
                p.resume();
            }
        }
    }

    /** The pools of {@code database}, every one when null. */
    java.util.List<Pool> pools(String database) {
        java.util.List<Pool> out = new java.util.ArrayList<>();
        for (Pool p : server.allPools()) {
            if (database == null || p.key().database().equals(database)) {
                out.add(p);
            }
        }
        return out;
    }

    /** Pools of a reloaded config start paused when their database is. */
    void applyPauseTo(Map<PoolKey, PoolGroup> groups) {
        for (PoolGroup g : groups.values()) {
            if (isPaused(g.key().database())) {
                for (Pool p : g.all()) {
                    p.pause();
                }
            }
        }
    }

    // ---- reload and shutdown --------------------------------------------------------------------------------

    /** RELOAD / SIGHUP: re-reads the config file; see {@link Reloader}. Blocking: not on an event loop. */
    public Reloader.Outcome reload() {
        return reloader.reloadFile();
    }

    Reloader reloader() {
        return reloader;
    }

    /**
     * Stops accepting, lets transactions in flight finish (or clients leave, {@code waitForClients}) up to
     * shutdown_timeout, then closes everything. Completes when pgrelay has stopped.
     */
    public CompletableFuture<Void> shutdown(boolean waitForClients) {
        return shutdown.start(waitForClients);
    }

    /** Called once pgrelay has stopped after a SHUTDOWN or signal (the run command exits the process there). */
    public void onStopped(Runnable r) {
        shutdown.onStopped(r);
    }
}
