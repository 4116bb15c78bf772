package io.pgrelay.proxy.health;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.proxy.metrics.HostStates;
import io.pgrelay.proxy.server.ServerConnection;
import io.pgrelay.proxy.server.ServerConnector;
import io.pgrelay.proxy.server.ServerTarget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Probes every server on a connection of its own, on one event loop and off the clients' paths: whether it is in
 * recovery, its WAL position (current on the primary, replayed on a standby) and how far its replay trails. Routing
 * reads the results to keep reads off lagging standbys and, for read-your-writes by LSN, on standbys that have
 * replayed a client's last write. Failover and bans build on this later; today a server that cannot be probed is
 * simply "not known", and standbys without a fresh probe get no reads that need one.
 */
public final class ReplicationMonitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReplicationMonitor.class);
    static final String PROBE = "SELECT pg_catalog.pg_is_in_recovery(), (CASE WHEN pg_catalog.pg_is_in_recovery() "
            + "THEN COALESCE(pg_catalog.pg_last_wal_replay_lsn(), '0/0') ELSE pg_catalog.pg_current_wal_lsn() END"
            + " - '0/0'::pg_lsn)::bigint, COALESCE((extract(epoch FROM now() - "
            + "pg_catalog.pg_last_xact_replay_timestamp()) * 1000)::bigint, 0)";

    /** What the last probe of one server said. Written on the monitor's loop, read anywhere. */
    public static final class ServerState {
        public volatile boolean known;
        public volatile boolean inRecovery;
        /** Current WAL position (primary) or replay position (standby), in bytes from 0/0. */
        public volatile long lsn;
        public volatile long lagBytes;
        public volatile long lagMillis;
        volatile long probedAtNanos;
    }

    private final class Probe {
        final ServerTarget target;
        final ServerState state = new ServerState();
        ServerConnection connection;
        boolean busy;

        Probe(ServerTarget target) {
            this.target = target;
        }
    }

    private final ServerConnector connector;
    private final EventLoop loop;
    private final Duration interval;
    private final HostStates hosts;
    private final Map<String, Probe> probes = new LinkedHashMap<>();
    private ScheduledFuture<?> task;

    /** One target per server address (any user that may log in there). */
    public ReplicationMonitor(ServerConnector connector, EventLoop loop, Collection<ServerTarget> targets,
                              Duration interval, HostStates hosts) {
        this.connector = connector;
        this.loop = loop;
        this.interval = interval;
        this.hosts = hosts;
        for (ServerTarget t : targets) {
            probes.putIfAbsent(t.address(), new Probe(t));
        }
    }

    public void start() {
        task = loop.scheduleAtFixedRate(this::tick, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The last probe of a server, or null when it was never probed successfully or the probe is stale. */
    public ServerState state(String address) {
        Probe p = probes.get(address);
        if (p == null || !p.state.known) {
            return null;
        }
        boolean fresh = System.nanoTime() - p.state.probedAtNanos < interval.toNanos() * 3;
        return fresh ? p.state : null;
    }

    private void tick() {
        for (Probe p : probes.values()) {
            if (p.busy) {
                continue;
            }
            if (p.connection == null || !p.connection.channel().isActive()) {
                p.busy = true;
                p.connection = null;
                connector.connect(loop, p.target).addListener(f -> {
                    p.busy = false;
                    if (f.isSuccess()) {
                        p.connection = (ServerConnection) f.getNow();
                    } else {
                        p.state.known = false;
                    }
                });
                continue;
            }
            p.busy = true;
            long started = System.nanoTime();
            p.connection.queryInternal(PROBE).addListener(f -> {
                p.busy = false;
                if (!f.isSuccess()) {
                    p.state.known = false;
                    log.debug("probe of {} failed: {}", p.target.address(), f.cause().getMessage());
                    return;
                }
                @SuppressWarnings("unchecked")
                List<List<String>> rows = (List<List<String>>) f.getNow();
                record(p, rows.get(0), (System.nanoTime() - started) / 1000);
            });
        }
    }

    private void record(Probe p, List<String> row, long latencyMicros) {
        ServerState s = p.state;
        s.inRecovery = "t".equals(row.get(0));
        s.lsn = Long.parseLong(row.get(1));
        long replayDelayMillis = Long.parseLong(row.get(2));
        long primaryLsn = primaryLsn();
        if (s.inRecovery) {
            s.lagBytes = primaryLsn < 0 ? 0 : Math.max(0, primaryLsn - s.lsn);
            // Replay time only says something while WAL is missing: an idle primary sends nothing to replay.
            s.lagMillis = s.lagBytes == 0 ? 0 : replayDelayMillis;
        } else {
            s.lagBytes = 0;
            s.lagMillis = 0;
        }
        s.probedAtNanos = System.nanoTime();
        s.known = true;
        if (hosts != null) {
            for (HostStates.Host h : hosts.byAddress(p.target.host(), p.target.port())) {
                h.probed(latencyMicros, s.lagBytes, s.lagMillis);
            }
        }
    }

    private long primaryLsn() {
        for (Probe p : probes.values()) {
            if (p.state.known && !p.state.inRecovery) {
                return p.state.lsn;
            }
        }
        return -1;
    }

    @Override
    public void close() {
        if (task != null) {
            task.cancel(false);
        }
        loop.execute(() -> {
            for (Probe p : probes.values()) {
                if (p.connection != null) {
                    p.connection.close();
                }
            }
        });
    }
}
