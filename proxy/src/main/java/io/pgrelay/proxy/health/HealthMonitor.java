package io.pgrelay.proxy.health;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.config.HealthConfig;
import io.pgrelay.proxy.health.RoleDecider.Role;
import io.pgrelay.proxy.metrics.HostStates;
import io.pgrelay.proxy.server.ServerConnection;
import io.pgrelay.proxy.server.ServerConnector;
import io.pgrelay.proxy.server.ServerTarget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Probes every server on a connection of its own, on one event loop and off the clients' paths: whether it is in
 * recovery, its WAL positions, replay delay and timeline, every {@code healthcheck_interval} with
 * {@code healthcheck_timeout}. Failed probes in a row ban a server; the answers decide the roles
 * ({@link RoleDecider}), published in a {@link Topology} that routing reads. Role changes are logged once, counted,
 * and reported to a listener that drains the pools of servers that died or changed role. With {@code auto_promote},
 * a primary that stays down is replaced ({@link Promoter}).
 */
public final class HealthMonitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HealthMonitor.class);
    static final String PROBE = "SELECT pg_catalog.pg_is_in_recovery(), (CASE WHEN pg_catalog.pg_is_in_recovery() "
            + "THEN COALESCE(pg_catalog.pg_last_wal_replay_lsn(), '0/0') ELSE pg_catalog.pg_current_wal_lsn() END"
            + " - '0/0'::pg_lsn)::bigint, COALESCE((extract(epoch FROM now() - "
            + "pg_catalog.pg_last_xact_replay_timestamp()) * 1000)::bigint, 0), CASE WHEN NOT "
            + "pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()) END, "
            + "COALESCE((pg_catalog.pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::bigint, 0)";

    /** What the last probe of one server said. Written on the monitor's loop, read anywhere. */
    public static final class ServerState {
        public volatile boolean known;
        public volatile boolean inRecovery;
        /** Current WAL position (primary) or replay position (standby), in bytes from 0/0. */
        public volatile long lsn;
        /** WAL received (standby), in bytes from 0/0; what decides which standby an automatic promotion picks. */
        public volatile long receiveLsn;
        public volatile long timeline;
        public volatile long lagBytes;
        public volatile long lagMillis;
        volatile long probedAtNanos;
    }

    /** Told of every role change, on the monitor's loop; {@code banned}: the server is banned now. */
    public interface Listener {
        void roleChanged(String address, Role from, Role to, boolean banned);
    }

    private final class Server {
        final ServerTarget target;
        final String address;
        final ServerState state = new ServerState();
        ServerConnection connection;
        boolean busy;
        int generation; // a probe answering after its timeout belongs to an older generation: ignored
        ScheduledFuture<?> timeout;
        boolean probed;
        volatile boolean healthy;
        volatile String lastError;
        int failures;
        boolean banned;
        long bannedAtNanos;
        Role role = Role.UNKNOWN;
        /** Probes completed so far; and the count when a primary was outvoted, until a fresh probe confirms it. */
        long completed;
        long fenceMark = -1;
        /** The listener was told of the current ban (busy connections aborted once per ban). */
        boolean abortedWhileBanned;

        Server(ServerTarget target) {
            this.target = target;
            this.address = target.address();
        }
    }

    private static final class Cluster {
        final List<Server> servers;
        /** The primary now, or null while there is none. */
        String primary;
        /** The last server that was the primary: a different one appearing is a failover. */
        String lastPrimary;
        long highestTimeline;
        long primaryMissingSinceNanos;
        boolean promoting;

        Cluster(List<Server> servers) {
            this.servers = servers;
        }
    }

    private final ServerConnector connector;
    private final EventLoop loop;
    private volatile HealthConfig config;
    private final HostStates hosts;
    private final Topology topology;
    private final Listener listener;
    private final Promoter promoter;
    private final Map<String, Server> servers = new LinkedHashMap<>();
    private List<Cluster> clusters = List.of();
    private ScheduledFuture<?> task;

    public HealthMonitor(ServerConnector connector, EventLoop loop, HealthConfig config, HostStates hosts,
                         Topology topology, Listener listener) {
        this.connector = connector;
        this.loop = loop;
        this.config = config;
        this.hosts = hosts;
        this.topology = topology;
        this.listener = listener;
        this.promoter = new Promoter(connector, loop);
    }

    /**
     * The servers to watch, as the groups that share a primary (each group's servers in config order; groups with
     * a server in common form one cluster). Called at start and on RELOAD; known servers keep their state.
     */
    public void configure(List<List<ServerTarget>> groups, HealthConfig newConfig) {
        loop.execute(() -> {
            config = newConfig;
            Map<String, Server> kept = new LinkedHashMap<>();
            for (List<ServerTarget> g : groups) {
                for (ServerTarget t : g) {
                    Server s = servers.get(t.address());
                    kept.putIfAbsent(t.address(), s != null ? s : new Server(t));
                }
            }
            for (Server s : servers.values()) {
                if (!kept.containsKey(s.address) && s.connection != null) {
                    s.connection.close();
                }
            }
            servers.clear();
            servers.putAll(kept);
            clusters = clustersOf(groups);
            reschedule();
        });
    }

    /** Groups sharing any server are one cluster (union-find over addresses); previous clusters lend their state. */
    private List<Cluster> clustersOf(List<List<ServerTarget>> groups) {
        Map<String, String> parent = new HashMap<>();
        for (List<ServerTarget> g : groups) {
            for (ServerTarget t : g) {
                parent.putIfAbsent(t.address(), t.address());
                union(parent, g.get(0).address(), t.address());
            }
        }
        Map<String, List<Server>> byRoot = new LinkedHashMap<>();
        for (Server s : servers.values()) {
            byRoot.computeIfAbsent(find(parent, s.address), k -> new ArrayList<>()).add(s);
        }
        List<Cluster> out = new ArrayList<>();
        for (List<Server> members : byRoot.values()) {
            Cluster c = new Cluster(members);
            for (Cluster old : clusters) {
                if (old.servers.contains(members.get(0))) {
                    c.primary = old.primary;
                    c.lastPrimary = old.lastPrimary;
                    c.highestTimeline = old.highestTimeline;
                }
            }
            out.add(c);
        }
        return out;
    }

    private static String find(Map<String, String> parent, String a) {
        while (!parent.get(a).equals(a)) {
            a = parent.get(a);
        }
        return a;
    }

    private static void union(Map<String, String> parent, String a, String b) {
        parent.put(find(parent, a), find(parent, b));
    }

    private void reschedule() {
        if (task != null) {
            task.cancel(false);
        }
        task = loop.scheduleAtFixedRate(this::tick, 0, config.healthcheckInterval().toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /** The last probe of a server, or null when it was never probed successfully or the probe is stale. */
    public ServerState state(String address) {
        Server s = servers.get(address);
        if (s == null || !s.state.known) {
            return null;
        }
        boolean fresh = System.nanoTime() - s.state.probedAtNanos < config.healthcheckInterval().toNanos() * 3;
        return fresh ? s.state : null;
    }

    public Topology topology() {
        return topology;
    }

    /** Why the last probe of a server failed, or null when it answered. */
    public String lastError(String address) {
        Server s = servers.get(address);
        return s == null || s.healthy ? null : s.lastError;
    }

    /** Decides the roles again now, e.g. after BAN / UNBAN in the console, instead of at the next probe. */
    public void recheck() {
        loop.execute(() -> {
            for (Cluster c : clusters) {
                decide(c);
            }
        });
    }

    private void tick() {
        for (Server s : servers.values()) {
            if (!s.busy) {
                probe(s);
            }
        }
        for (Cluster c : clusters) {
            decide(c); // also when nothing answered: a console BAN, time passing for promote_after
        }
    }

    private void probe(Server s) {
        s.busy = true;
        int generation = ++s.generation;
        long started = System.nanoTime();
        long timeoutMs = config.healthcheckTimeout().toMillis();
        s.timeout = loop.schedule(() -> {
            if (s.generation == generation && s.busy) {
                s.generation++;
                if (s.connection != null) {
                    s.connection.close();
                    s.connection = null;
                }
                failed(s, "no answer within healthcheck_timeout (" + timeoutMs + " ms)");
            }
        }, timeoutMs, TimeUnit.MILLISECONDS);
        if (s.connection != null && s.connection.channel().isActive()) {
            query(s, generation, started);
            return;
        }
        s.connection = null;
        connector.connect(loop, s.target).addListener(f -> {
            if (s.generation != generation || !servers.containsValue(s)) {
                if (f.isSuccess()) {
                    ((ServerConnection) f.getNow()).close();
                }
                return;
            }
            if (f.isSuccess()) {
                s.connection = (ServerConnection) f.getNow();
                query(s, generation, started);
            } else {
                failed(s, f.cause().getMessage());
            }
        });
    }

    private void query(Server s, int generation, long started) {
        s.connection.queryInternal(PROBE).addListener(f -> {
            if (s.generation != generation) {
                return;
            }
            if (f.isSuccess()) {
                @SuppressWarnings("unchecked")
                List<List<String>> rows = (List<List<String>>) f.getNow();
                answered(s, rows.get(0), (System.nanoTime() - started) / 1000);
            } else {
                if (s.connection != null) {
                    s.connection.close();
                    s.connection = null;
                }
                failed(s, f.cause().getMessage());
            }
        });
    }

    private void endProbe(Server s) {
        s.busy = false;
        s.completed++;
        if (s.timeout != null) {
            s.timeout.cancel(false);
            s.timeout = null;
        }
    }

    private void failed(Server s, String reason) {
        endProbe(s);
        s.probed = true;
        s.healthy = false;
        s.state.known = false;
        s.failures++;
        s.lastError = reason;
        if (s.failures == 1) {
            log.warn("health check of {} failed: {}", s.address, reason);
        }
        if (!s.banned && s.failures >= config.banAfterFailures()) {
            s.banned = true;
            s.bannedAtNanos = System.nanoTime();
            hosts.countBan(s.target.host(), s.target.port());
            log.warn("server {} banned after {} failed health checks in a row (last: {}); no traffic for at least "
                    + "ban_time ({} s)", s.address, s.failures, reason, config.banTime().toSeconds());
        }
        decideFor(s);
    }

    private void answered(Server s, List<String> row, long latencyMicros) {
        endProbe(s);
        ServerState st = s.state;
        st.inRecovery = "t".equals(row.get(0));
        st.lsn = Long.parseLong(row.get(1));
        long replayDelayMillis = Long.parseLong(row.get(2));
        st.timeline = row.get(3) == null ? 0 : Long.parseLong(row.get(3).substring(0, 8), 16);
        st.receiveLsn = Long.parseLong(row.get(4));
        long primaryLsn = primaryLsn();
        if (st.inRecovery) {
            st.lagBytes = primaryLsn < 0 ? 0 : Math.max(0, primaryLsn - st.lsn);
            // Replay time only says something while WAL is missing: an idle primary sends nothing to replay.
            st.lagMillis = st.lagBytes == 0 ? 0 : replayDelayMillis;
        } else {
            st.lagBytes = 0;
            st.lagMillis = 0;
        }
        st.probedAtNanos = System.nanoTime();
        st.known = true;
        if (s.failures > 0) {
            log.info("health check of {} answers again after {} failures", s.address, s.failures);
        }
        s.probed = true;
        s.healthy = true;
        s.failures = 0;
        if (s.banned && System.nanoTime() - s.bannedAtNanos >= config.banTime().toNanos()) {
            s.banned = false;
            log.info("server {} unbanned: health checks pass and ban_time ({} s) has passed", s.address,
                    config.banTime().toSeconds());
        }
        for (HostStates.Host h : hosts.byAddress(s.target.host(), s.target.port())) {
            h.probed(latencyMicros, st.lagBytes, st.lagMillis);
        }
        decideFor(s);
    }

    private long primaryLsn() {
        for (Server s : servers.values()) {
            if (s.state.known && !s.state.inRecovery && s.role == Role.PRIMARY) {
                return s.state.lsn;
            }
        }
        return -1;
    }

    private void decideFor(Server s) {
        for (Cluster c : clusters) {
            if (c.servers.contains(s)) {
                decide(c);
            }
        }
    }

    private void decide(Cluster c) {
        List<RoleDecider.Observation> obs = new ArrayList<>(c.servers.size());
        for (Server s : c.servers) {
            boolean banned = s.banned || hosts.isAdminBanned(s.target.host(), s.target.port());
            obs.add(new RoleDecider.Observation(s.address, s.probed, s.healthy, banned, s.state.inRecovery,
                    s.state.timeline, s.state.inRecovery ? s.state.receiveLsn : s.state.lsn));
        }
        RoleDecider.Decision d = RoleDecider.decide(obs, c.lastPrimary, c.highestTimeline);
        Map<String, Role> changed = new LinkedHashMap<>();
        for (int i = 0; i < c.servers.size(); i++) {
            Server s = c.servers.get(i);
            Role now = d.roles().get(s.address);
            boolean banned = obs.get(i).banned();
            if (now == Role.FENCED && s.role == Role.PRIMARY && s.fenceMark < 0) {
                // The old primary lost to a promoted standby on what it said at its last probe: usually it has
                // died since. No traffic goes to it either way; a fresh probe decides whether this is a fence.
                s.fenceMark = s.completed;
                if (!s.busy) {
                    probe(s);
                }
            } else if (now == Role.FENCED && s.fenceMark >= 0 && s.completed > s.fenceMark) {
                s.fenceMark = -1;
                logFence(s, d); // alive and still claiming to be a primary
            } else if (now != Role.FENCED) {
                s.fenceMark = -1;
            }
            if (now != s.role) {
                Role was = s.role;
                s.role = now;
                changed.put(s.address, now);
                logChange(s, was, now, d);
                listener.roleChanged(s.address, was, now, banned);
            } else if (banned && !s.abortedWhileBanned) {
                listener.roleChanged(s.address, now, now, true); // banned while already DOWN: end what hangs there
            }
            s.abortedWhileBanned = banned;
            for (HostStates.Host h : hosts.byAddress(s.target.host(), s.target.port())) {
                // The health checks' own view; HostStates adds a console BAN on top.
                h.observed(roleName(now, h.role), s.banned ? HostStates.State.BANNED
                        : now == Role.FENCED ? HostStates.State.FENCED
                        : s.probed && !s.healthy ? HostStates.State.DOWN : HostStates.State.UP);
            }
        }
        if (d.primary() != null && c.lastPrimary != null && !d.primary().equals(c.lastPrimary)) {
            Server promoted = servers.get(d.primary());
            hosts.countFailover(promoted.target.host(), promoted.target.port());
            log.warn("failover: {} is the primary now (was {})", d.primary(), c.lastPrimary);
        } else if (d.primary() == null && c.primary != null) {
            log.warn("no primary: {} is down; writes wait up to failover_timeout ({} ms) for one", c.primary,
                    config.failoverTimeout().toMillis());
        } else if (d.primary() != null && c.primary == null) {
            log.info("primary: {}", d.primary());
        }
        c.primary = d.primary();
        if (d.primary() != null) {
            c.lastPrimary = d.primary();
        }
        c.highestTimeline = d.highestTimeline();
        if (!changed.isEmpty()) {
            topology.publish(changed);
        }
        if (config.autoPromote()) {
            considerPromotion(c, d);
        }
    }

    private static String roleName(Role r, String previous) {
        return switch (r) {
            case PRIMARY -> "primary";
            case STANDBY -> "replica";
            default -> previous; // down or fenced: the role it had, its state says the rest
        };
    }

    private void logChange(Server s, Role was, Role now, RoleDecider.Decision d) {
        if (was == Role.UNKNOWN && (now == Role.PRIMARY || now == Role.STANDBY)) {
            log.info("server {} is a {}", s.address, now == Role.PRIMARY ? "primary" : "standby");
        } else if (now == Role.FENCED) {
            if (s.fenceMark < 0) {
                logFence(s, d);
            }
        } else if (now == Role.DOWN) {
            log.warn("server {} is down ({}): no new traffic, open connections are closed", s.address,
                    s.banned ? "banned" : "failing health checks");
        } else if (was == Role.STANDBY && now == Role.PRIMARY) {
            log.warn("server {} was promoted: it is a primary now", s.address);
        } else if (was == Role.FENCED && now == Role.STANDBY) {
            log.info("server {} rejoined as a standby: unfenced", s.address);
        } else {
            log.info("server {}: {} -> {}", s.address, was.name().toLowerCase(), now.name().toLowerCase());
        }
    }

    private void logFence(Server s, RoleDecider.Decision d) {
        hosts.countFence();
        log.error("server {} FENCED: it says it is a primary (timeline {}), but {} is the primary (timeline {}); no "
                + "traffic goes to it until it rejoins as a standby", s.address, s.state.timeline,
                d.primary() == null ? "another server" : d.primary(), d.highestTimeline());
    }

    /** auto_promote: the primary has been missing for promote_after: promote the standby with the most WAL. */
    private void considerPromotion(Cluster c, RoleDecider.Decision d) {
        Server primary = d.primary() == null ? null : servers.get(d.primary());
        if (primary != null && primary.healthy) {
            c.primaryMissingSinceNanos = 0;
            return;
        }
        long now = System.nanoTime();
        if (c.primaryMissingSinceNanos == 0) {
            c.primaryMissingSinceNanos = now;
            return;
        }
        if (c.promoting || now - c.primaryMissingSinceNanos < config.promoteAfter().toNanos()) {
            return;
        }
        Server best = null;
        for (Server s : c.servers) {
            if (s.role == Role.STANDBY && (best == null || s.state.receiveLsn > best.state.receiveLsn)) {
                best = s;
            }
        }
        if (best == null) {
            return; // nothing to promote; looked at again on the next tick
        }
        List<ServerTarget> followers = new ArrayList<>();
        for (Server s : c.servers) {
            if (s != best && s.role == Role.STANDBY) {
                followers.add(s.target);
            }
        }
        c.promoting = true;
        Server chosen = best;
        log.warn("auto_promote: the primary has been down for {} ms; promoting {} (received WAL up to {})",
                (now - c.primaryMissingSinceNanos) / 1_000_000, best.address, best.state.receiveLsn);
        hosts.countPromotion();
        promoter.promote(chosen.target, followers).addListener(f -> {
            c.promoting = false;
            c.primaryMissingSinceNanos = 0;
            if (!f.isSuccess()) {
                log.error("auto_promote: promoting {} failed: {}", chosen.address, f.cause().getMessage());
            } else if (!chosen.busy) {
                probe(chosen); // writes are waiting: learn the new role now, not at the next interval
            }
        });
    }

    @Override
    public void close() {
        loop.execute(() -> {
            if (task != null) {
                task.cancel(false);
            }
            for (Server s : servers.values()) {
                s.generation++;
                if (s.connection != null) {
                    s.connection.close();
                }
            }
        });
    }
}
