package io.pgrelay.proxy.admin;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.pgrelay.config.General;
import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.config.PoolConfig;
import io.pgrelay.config.ServerConfig;
import io.pgrelay.config.UserConfig;
import io.pgrelay.proxy.PgRelayServer;
import io.pgrelay.proxy.client.ClientSession;
import io.pgrelay.proxy.metrics.HostStates;
import io.pgrelay.proxy.metrics.ProxyMetrics;
import io.pgrelay.proxy.metrics.RouteStats;
import io.pgrelay.proxy.metrics.TrafficStats;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.pool.PoolKey;
import io.pgrelay.proxy.route.PoolGroup;
import io.pgrelay.proxy.server.ServerConnection;

import javax.net.ssl.SSLSession;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The SHOW commands: PgBouncer 1.25's columns, in its order and with its names, computed from the running proxy;
 * pgrelay's own HOSTS, ROUTES and PREPARED. Times in microseconds as PgBouncer's.
 */
final class Show {
    static final String VERSION = "PgBouncer 1.25.0 (pgrelay 0.1.0)";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
            .withZone(ZoneOffset.UTC);

    static final String[] POOLS = {"database", "user", "cl_active:n", "cl_waiting:n", "cl_active_cancel_req:n",
            "cl_waiting_cancel_req:n", "sv_active:n", "sv_active_cancel:n", "sv_being_canceled:n", "sv_idle:n",
            "sv_used:n", "sv_tested:n", "sv_login:n", "maxwait:n", "maxwait_us:n", "pool_mode", "load_balance_hosts"};
    static final String[] STATS = {"database", "total_server_assignment_count:n", "total_xact_count:n",
            "total_query_count:n", "total_received:n", "total_sent:n", "total_xact_time:n", "total_query_time:n",
            "total_wait_time:n", "total_client_parse_count:n", "total_server_parse_count:n", "total_bind_count:n",
            "avg_server_assignment_count:n", "avg_xact_count:n", "avg_query_count:n", "avg_recv:n", "avg_sent:n",
            "avg_xact_time:n", "avg_query_time:n", "avg_wait_time:n", "avg_client_parse_count:n",
            "avg_server_parse_count:n", "avg_bind_count:n",
            // not PgBouncer 1.25's: the name older PgBouncers (<= 1.7) had for total_query_count, which the
            // Debian prometheus-pgbouncer-exporter still reads; after every 1.25 column, so name lookups are unaffected
            "total_requests:n"};
    static final String[] STATS_TOTALS = {"database", "server_assignment_count:n", "xact_count:n", "query_count:n",
            "bytes_received:n", "bytes_sent:n", "xact_time:n", "query_time:n", "wait_time:n",
            "client_parse_count:n", "server_parse_count:n", "bind_count:n"};
    static final String[] CLIENTS = {"type", "user", "database", "replication", "state", "addr", "port:n",
            "local_addr", "local_port:n", "connect_time", "request_time", "wait:n", "wait_us:n", "close_needed:n",
            "ptr", "link", "remote_pid:n", "tls", "application_name", "prepared_statements:n", "id:n"};
    static final String[] DATABASES = {"name", "host", "port:n", "database", "force_user", "pool_size:n",
            "min_pool_size:n", "reserve_pool_size:n", "server_lifetime:n", "pool_mode", "load_balance_hosts",
            "max_connections:n", "current_connections:n", "max_client_connections:n",
            "current_client_connections:n", "paused:n", "disabled:n",
            // not PgBouncer 1.25's: older PgBouncers' name for reserve_pool_size (read by prometheus-pgbouncer-exporter)
            "reserve_pool:n"};
    static final String[] USERS = {"name", "pool_size:n", "reserve_pool_size:n", "pool_mode",
            "max_user_connections:n", "current_connections:n", "max_user_client_connections:n",
            "current_client_connections:n"};
    static final String[] CONFIG = {"key", "value", "default", "changeable"};
    static final String[] LISTS = {"list", "items:n"};
    static final String[] HOSTS = {"database", "host", "port:n", "role", "state", "last_probe", "probe_latency_us:n",
            "replication_lag_bytes:n", "replication_lag_ms:n", "bans:n", "failovers:n"};
    static final String[] ROUTES = {"database", "role", "routed:n", "forced_by_hint:n", "read_your_writes:n"};
    static final String[] PREPARED = {"type", "id:n", "user", "database", "addr", "port:n", "statements:n"};

    private final AdminConsole console;
    private final PgRelayServer server;
    private final ProxyMetrics metrics;
    private final long nowNanos = System.nanoTime();
    private final long nowMillis = System.currentTimeMillis();
    private List<ClientSession> clients;

    Show(AdminConsole console) {
        this.console = console;
        this.server = console.server();
        this.metrics = console.metrics();
    }

    private List<ClientSession> sessions() {
        if (clients == null) {
            clients = server.cancelKeys().sessions();
            clients.sort(java.util.Comparator.comparingLong(ClientSession::connectedAtMillis));
        }
        return clients;
    }

    // ---- per pool ------------------------------------------------------------------------------------------

    /** What SHOW POOLS and the gauges count for one (database, user). */
    ProxyMetrics.PoolCounts counts(PoolKey key) {
        PoolGroup group = server.group(key.database(), key.user());
        int clActive = 0;
        int clWaiting = 0;
        long maxWaitNanos = 0;
        for (ClientSession c : sessions()) {
            if (key.database().equals(c.database()) && key.user().equals(c.userName())) {
                long since = c.traffic().waitingSince();
                if (since != 0 && c.server() == null) {
                    clWaiting++;
                    maxWaitNanos = Math.max(maxWaitNanos, nowNanos - since);
                } else {
                    clActive++;
                }
            }
        }
        int active = 0;
        int idle = 0;
        int login = 0;
        int size = 0;
        if (group != null) {
            for (Pool p : group.all()) {
                Pool.PoolStats s = p.stats();
                active += s.active();
                idle += s.idle();
                login += s.opening();
            }
            size = group.configuredPrimary().settings().poolSize();
        }
        return new ProxyMetrics.PoolCounts(clActive, clWaiting, active, idle, login, size, maxWaitNanos / 1000);
    }

    private List<PoolKey> poolKeys() {
        List<PoolKey> keys = new ArrayList<>();
        for (PoolConfig p : server.config().pools().values()) {
            for (UserConfig u : p.users().values()) {
                keys.add(new PoolKey(p.name(), u.username()));
            }
        }
        return keys;
    }

    Result pools() {
        Result r = Result.of(POOLS);
        r.row(AdminConsole.DATABASE, "pgbouncer", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "statement", null);
        for (PoolKey key : poolKeys()) {
            ProxyMetrics.PoolCounts c = counts(key);
            UserConfig u = server.config().pools().get(key.database()).users().get(key.user());
            long waitUs = c.maxWaitMicros();
            r.row(key.database(), key.user(), c.clientsActive(), c.clientsWaiting(), 0, 0, c.serversActive(), 0, 0,
                    c.serversIdle(), 0, 0, c.serversLogin(), waitUs / 1_000_000, waitUs % 1_000_000,
                    u.poolMode().configName(), loadBalance(key.database()));
        }
        return r;
    }

    private String loadBalance(String database) {
        PoolConfig p = server.config().pools().get(database);
        return p != null && p.shards().get(0).servers().size() > 1 ? "round-robin" : null;
    }

    // ---- stats ---------------------------------------------------------------------------------------------

    private Map<String, TrafficStats.Snapshot> totals() {
        Map<String, TrafficStats.Snapshot> totals = new LinkedHashMap<>();
        for (String db : server.config().pools().keySet()) {
            totals.put(db, TrafficStats.Snapshot.ZERO);
        }
        totals.putAll(metrics.totalsByDatabase());
        return totals;
    }

    Result stats() {
        Result r = Result.of(STATS);
        for (Map.Entry<String, TrafficStats.Snapshot> e : totals().entrySet()) {
            TrafficStats.Snapshot t = e.getValue();
            TrafficStats.Snapshot a = metrics.averages(e.getKey());
            r.row(e.getKey(), t.serverAssignments(), t.xacts(), t.queries(), t.received(), t.sent(), t.xactMicros(),
                    t.queryMicros(), t.waitMicros(), t.clientParses(), t.serverParses(), t.binds(),
                    a.serverAssignments(), a.xacts(), a.queries(), a.received(), a.sent(), a.xactMicros(),
                    a.queryMicros(), a.waitMicros(), a.clientParses(), a.serverParses(), a.binds(), t.queries());
        }
        return r;
    }

    Result statsTotals() {
        Result r = Result.of(STATS_TOTALS);
        for (Map.Entry<String, TrafficStats.Snapshot> e : totals().entrySet()) {
            r.row(statsRow(e.getKey(), e.getValue()));
        }
        return r;
    }

    Result statsAverages() {
        Result r = Result.of(STATS_TOTALS);
        for (String db : totals().keySet()) {
            r.row(statsRow(db, metrics.averages(db)));
        }
        return r;
    }

    private static Object[] statsRow(String db, TrafficStats.Snapshot t) {
        return new Object[] {db, t.serverAssignments(), t.xacts(), t.queries(), t.received(), t.sent(),
                t.xactMicros(), t.queryMicros(), t.waitMicros(), t.clientParses(), t.serverParses(), t.binds()};
    }

    /** SHOW TOTALS: name, value over all databases, totals then averages. */
    Result totalsView() {
        TrafficStats.Snapshot t = TrafficStats.Snapshot.ZERO;
        TrafficStats.Snapshot a = TrafficStats.Snapshot.ZERO;
        for (String db : totals().keySet()) {
            t = t.plus(totals().get(db));
            a = a.plus(metrics.averages(db));
        }
        Result r = Result.of("name", "value:n");
        String[] names = {"server_assignment_count", "xact_count", "query_count", "received", "sent", "xact_time",
                "query_time", "wait_time", "client_parse_count", "server_parse_count", "bind_count"};
        Object[] tv = statsRow("", t);
        Object[] av = statsRow("", a);
        for (int i = 0; i < names.length; i++) {
            r.row("total_" + names[i], tv[i + 1]);
        }
        String[] avgNames = {"server_assignment_count", "xact_count", "query_count", "recv", "sent", "xact_time",
                "query_time", "wait_time", "client_parse_count", "server_parse_count", "bind_count"};
        for (int i = 0; i < avgNames.length; i++) {
            r.row("avg_" + avgNames[i], av[i + 1]);
        }
        return r;
    }

    // ---- connections ---------------------------------------------------------------------------------------

    Result clients() {
        Result r = Result.of(CLIENTS);
        for (ClientSession c : sessions()) {
            Channel ch = c.channel();
            InetSocketAddress remote = inet(ch.remoteAddress());
            InetSocketAddress local = inet(ch.localAddress());
            long since = c.traffic().waitingSince();
            boolean waiting = since != 0 && c.server() == null;
            long waitUs = waiting ? (nowNanos - since) / 1000 : 0;
            ServerConnection s = c.server();
            long lastRequest = c.traffic().lastRequestNanos();
            r.row("C", c.userName(), c.database(), "none", waiting ? "waiting" : "active", host(remote),
                    port(remote), host(local), port(local), time(c.connectedAtMillis()),
                    time(lastRequest == 0 ? c.connectedAtMillis() : wall(lastRequest)), waitUs / 1_000_000,
                    waitUs % 1_000_000, 0, ptr('C', c.id()), s == null ? null : ptr('S', s.id()), 0, tls(ch),
                    c.applicationName() == null ? "" : c.applicationName(), c.preparedStatements(),
                    Integer.toUnsignedLong(c.id()));
        }
        return r;
    }

    Result servers() {
        Result r = Result.of(CLIENTS);
        Map<ServerConnection, ClientSession> linked = new IdentityHashMap<>();
        for (ClientSession c : sessions()) {
            ServerConnection s = c.server();
            if (s != null) {
                linked.put(s, c);
            }
        }
        for (PoolKey key : poolKeys()) {
            PoolGroup group = server.group(key.database(), key.user());
            if (group == null) {
                continue;
            }
            for (Pool p : group.all()) {
                for (ServerConnection s : p.connections()) {
                    ClientSession c = linked.get(s);
                    String state = switch (s.state()) {
                        case LINKED -> "active";
                        case IDLE -> "idle";
                        case INTERNAL -> "used";
                        case LOGIN -> "new";
                        default -> "closed";
                    };
                    Channel ch = s.channel();
                    InetSocketAddress local = inet(ch.localAddress());
                    long created = wall(s.createdNanos());
                    r.row("S", key.user(), key.database(), "none", state, s.target().host(), s.target().port(),
                            host(local), port(local), time(created), time(created), 0, 0, 0, ptr('S', s.id()),
                            c == null ? null : ptr('C', c.id()),
                            s.backendKey() == null ? 0 : s.backendKey().processId(), tls(ch), "",
                            s.statements().size(), s.id());
                }
            }
        }
        return r;
    }

    Result databases() {
        Result r = Result.of(DATABASES);
        PgRelayConfig config = server.config();
        General g = config.general();
        Map<String, Integer> clientsByDb = new HashMap<>();
        for (ClientSession c : sessions()) {
            clientsByDb.merge(c.database(), 1, Integer::sum);
        }
        r.row(AdminConsole.DATABASE, null, g.port(), AdminConsole.DATABASE, "pgbouncer", 2, 0, 0, 0, "statement", null,
                0, 0, 0, 0, 0, 0, 0);
        for (PoolConfig p : config.pools().values()) {
            ServerConfig primary = p.shards().get(0).servers().stream()
                    .filter(s -> s.role() == io.pgrelay.config.Role.PRIMARY).findFirst()
                    .orElse(p.shards().get(0).servers().get(0));
            int poolSize = 0;
            int minPoolSize = 0;
            int current = 0;
            for (UserConfig u : p.users().values()) {
                poolSize = Math.max(poolSize, u.poolSize());
                minPoolSize = Math.max(minPoolSize, u.minPoolSize());
                PoolGroup group = server.group(p.name(), u.username());
                if (group != null) {
                    for (Pool pool : group.all()) {
                        current += pool.connections().size();
                    }
                }
            }
            r.row(p.name(), primary.host(), primary.port(), p.shards().get(0).database(), null, poolSize, minPoolSize,
                    0, g.serverLifetime().toSeconds(), p.poolMode().configName(), loadBalance(p.name()), 0, current,
                    config.limits().maxDbClientConnections(p.name()), clientsByDb.getOrDefault(p.name(), 0), console.isPaused(p.name()) ? 1 : 0,
                    console.isDisabled(p.name()) ? 1 : 0, 0);
        }
        return r;
    }

    Result users() {
        Result r = Result.of(USERS);
        Map<String, int[]> byUser = new LinkedHashMap<>(); // pool_size, current_connections, clients
        Map<String, String> modes = new HashMap<>();
        Map<String, Integer> clientLimits = new HashMap<>(); // the user's limit in the first pool that has it
        for (PoolConfig p : server.config().pools().values()) {
            for (UserConfig u : p.users().values()) {
                clientLimits.putIfAbsent(u.username(),
                        server.config().limits().maxUserClientConnections(p.name(), u.username()));
                int[] v = byUser.computeIfAbsent(u.username(), k -> new int[3]);
                v[0] = Math.max(v[0], u.poolSize());
                modes.putIfAbsent(u.username(), u.poolMode().configName());
                PoolGroup group = server.group(p.name(), u.username());
                if (group != null) {
                    for (Pool pool : group.all()) {
                        v[1] += pool.connections().size();
                    }
                }
            }
        }
        for (ClientSession c : sessions()) {
            int[] v = byUser.get(c.userName());
            if (v != null) {
                v[2]++;
            }
        }
        for (Map.Entry<String, int[]> e : byUser.entrySet()) {
            int[] v = e.getValue();
            r.row(e.getKey(), v[0], 0, modes.get(e.getKey()), 0, v[1], clientLimits.get(e.getKey()), v[2]);
        }
        return r;
    }

    Result lists() {
        PgRelayConfig config = server.config();
        int users = (int) config.pools().values().stream().flatMap(p -> p.users().keySet().stream()).distinct()
                .count();
        int pools = poolKeys().size();
        int freeServers = 0;
        int usedServers = 0;
        for (Pool p : server.allPools()) {
            Pool.PoolStats s = p.stats();
            freeServers += s.idle();
            usedServers += s.active();
        }
        int used = sessions().size();
        return Result.of(LISTS)
                .row("databases", config.pools().size())
                .row("users", users)
                .row("peers", 0)
                .row("pools", pools)
                .row("peer_pools", 0)
                .row("free_clients", 0)
                .row("used_clients", used)
                .row("login_clients", Math.max(0, server.clientCount() - used))
                .row("free_servers", freeServers)
                .row("used_servers", usedServers)
                .row("dns_names", 0)
                .row("dns_zones", 0)
                .row("dns_queries", 0)
                .row("dns_pending", 0);
    }

    Result config() {
        Result r = Result.of(CONFIG);
        for (AdminSettings.Setting s : AdminSettings.all(server.config())) {
            r.row(s.key(), s.value(), s.defaultValue(), s.changeable() ? "yes" : "no");
        }
        return r;
    }

    Result version() {
        return Result.of("version").row(VERSION);
    }

    Result state() {
        return Result.of("key", "value")
                .row("active", console.isPausedAll() ? "no" : "yes")
                .row("paused", console.isPausedAll() ? "yes" : "no")
                .row("suspended", "no");
    }

    // ---- pgrelay's own -------------------------------------------------------------------------------------

    Result hosts() {
        Result r = Result.of(HOSTS);
        for (HostStates.Host h : metrics.hosts().all()) {
            r.row(h.database, h.host, h.port, h.role, h.stateName(),
                    h.lastProbeMillis == 0 ? null : time(h.lastProbeMillis),
                    h.lastProbeMillis == 0 ? null : h.probeLatencyMicros,
                    h.lastProbeMillis == 0 ? null : h.lagBytes, h.lastProbeMillis == 0 ? null : h.lagMillis,
                    h.bans.sum(), h.failovers.sum());
        }
        return r;
    }

    Result routes() {
        Result r = Result.of(ROUTES);
        for (RouteStats.Row row : metrics.routes().rows()) {
            r.row(row.database(), row.role(), row.routed(), row.forcedByHint(), row.readYourWrites());
        }
        return r;
    }

    Result prepared() {
        Result r = Result.of(PREPARED);
        for (ClientSession c : sessions()) {
            InetSocketAddress remote = inet(c.channel().remoteAddress());
            r.row("C", Integer.toUnsignedLong(c.id()), c.userName(), c.database(), host(remote), port(remote),
                    c.preparedStatements());
        }
        for (Pool p : server.allPools()) {
            for (ServerConnection s : p.connections()) {
                r.row("S", s.id(), p.key().user(), p.key().database(), s.target().host(), s.target().port(),
                        s.statements().size());
            }
        }
        return r;
    }

    // ---- formatting ----------------------------------------------------------------------------------------

    private long wall(long nanos) {
        return nowMillis - (nowNanos - nanos) / 1_000_000;
    }

    static String time(long millis) {
        return TIME.format(Instant.ofEpochMilli(millis));
    }

    private static InetSocketAddress inet(SocketAddress a) {
        return a instanceof InetSocketAddress i ? i : null;
    }

    private static String host(InetSocketAddress a) {
        return a == null ? null : a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
    }

    private static Object port(InetSocketAddress a) {
        return a == null ? null : a.getPort();
    }

    private static String ptr(char kind, long id) {
        return String.format("0x%c%011x", kind == 'C' ? 'c' : '5', id & 0xffffffffffL);
    }

    private static String tls(Channel ch) {
        SslHandler ssl = ch == null ? null : ch.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return "";
        }
        SSLSession s = ssl.engine().getSession();
        return s == null ? "" : s.getProtocol() + "/" + s.getCipherSuite();
    }
}
