package io.pgrelay.proxy.route;

import io.pgrelay.config.Routing;
import io.pgrelay.protocol.sql.ClassifierSettings;
import io.pgrelay.protocol.sql.StatementClassifier;
import java.util.regex.Pattern;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.pool.PoolKey;
import io.pgrelay.proxy.health.ReplicationMonitor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pools of one (database, user): one on the primary, one on each standby, and how reads are spread over them.
 */
public final class PoolGroup {
    private final PoolKey key;
    private final Pool primary;
    private final List<Pool> standbys;
    private final Routing routing;
    private final List<Pool> readers;
    private final AtomicInteger next = new AtomicInteger();
    private final ProcCatalog catalog;
    private final StatementClassifier classifier;

    public PoolGroup(PoolKey key, Pool primary, List<Pool> standbys, Routing routing) {
        this.key = key;
        this.primary = primary;
        this.standbys = List.copyOf(standbys);
        this.routing = routing;
        // Each group its own classifier: its function lists, and pg_proc of its own database.
        this.catalog = new ProcCatalog(primary);
        this.classifier = new StatementClassifier(new ClassifierSettings(patterns(routing.writeFunctions()),
                patterns(routing.readOnlyFunctions()), ClassifierSettings.defaults().cacheSize()), catalog);
        List<Pool> r = new ArrayList<>();
        for (Pool s : standbys) {
            if (s.target().weight() > 0) { // weight 0: the server takes no reads
                r.add(s);
            }
        }
        if ((routing.primaryReadsEnabled() && primary.target().weight() > 0) || r.isEmpty()) {
            r.add(primary);
        }
        this.readers = List.copyOf(r);
    }

    private static List<Pattern> patterns(List<String> regexes) {
        List<Pattern> out = new ArrayList<>(regexes.size());
        for (String r : regexes) {
            out.add(Pattern.compile(r));
        }
        return out;
    }

    public StatementClassifier classifier() {
        return classifier;
    }

    public ProcCatalog catalog() {
        return catalog;
    }

    public PoolKey key() {
        return key;
    }

    public Pool primary() {
        return primary;
    }

    public List<Pool> standbys() {
        return standbys;
    }

    public Routing routing() {
        return routing;
    }

    /** Every pool of the group, primary first. */
    public List<Pool> all() {
        List<Pool> all = new ArrayList<>(standbys.size() + 1);
        all.add(primary);
        all.addAll(standbys);
        return all;
    }

    /**
     * A pool for a read: a standby (or the primary when it takes reads too), by the load-balancing mode, among those
     * within the lag limits and, when {@code minLsn > 0}, that have replayed up to it. The primary when none fits.
     */
    public Pool forRead(ReplicationMonitor monitor, long minLsn) {
        List<Pool> eligible = readers;
        if (minLsn > 0 || routing.maxReplicaLagBytes() > 0 || !routing.maxReplicaLag().isZero()) {
            eligible = new ArrayList<>(readers.size());
            for (Pool p : readers) {
                if (p == primary || fits(monitor, p, minLsn)) {
                    eligible.add(p);
                }
            }
            if (eligible.isEmpty()) {
                return primary;
            }
        }
        return pick(eligible);
    }

    /** Within the lag limits and past {@code minLsn}, as far as the last probe knows; unknown fails an LSN check. */
    private boolean fits(ReplicationMonitor monitor, Pool p, long minLsn) {
        ReplicationMonitor.ServerState s = monitor == null ? null : monitor.state(p.target().address());
        if (s == null) {
            return minLsn == 0; // no fresh probe: fine for lag limits (benefit of the doubt), not for an LSN
        }
        if (routing.maxReplicaLagBytes() > 0 && s.lagBytes > routing.maxReplicaLagBytes()) {
            return false;
        }
        if (!routing.maxReplicaLag().isZero() && s.lagMillis > routing.maxReplicaLag().toMillis()) {
            return false;
        }
        return minLsn == 0 || s.lsn >= minLsn;
    }

    /** One of {@code readers} by the balancing mode, each counted by its weight. */
    private Pool pick(List<Pool> readers) {
        int n = readers.size();
        if (n == 1) {
            return readers.get(0);
        }
        switch (routing.loadBalancingMode()) {
            case ROUND_ROBIN:
                return weighted(readers, Math.floorMod(next.getAndIncrement(), totalWeight(readers)));
            case LOC: {
                // Least outstanding connections per unit of weight; ties go to a random one, not always the first.
                Pool best = null;
                double bestLoad = Double.MAX_VALUE;
                int start = ThreadLocalRandom.current().nextInt(n);
                for (int i = 0; i < n; i++) {
                    Pool p = readers.get((start + i) % n);
                    Pool.PoolStats s = p.stats();
                    double load = (s.active() + s.opening() + s.waiting()) / (double) Math.max(1, p.target().weight());
                    if (load < bestLoad) {
                        best = p;
                        bestLoad = load;
                    }
                }
                return best;
            }
            default:
                return weighted(readers, ThreadLocalRandom.current().nextInt(totalWeight(readers)));
        }
    }

    private static int totalWeight(List<Pool> pools) {
        int total = 0;
        for (Pool p : pools) {
            total += Math.max(1, p.target().weight());
        }
        return total;
    }

    /** The pool whose share of the cumulative weights holds {@code ticket}. */
    private static Pool weighted(List<Pool> pools, int ticket) {
        for (Pool p : pools) {
            ticket -= Math.max(1, p.target().weight());
            if (ticket < 0) {
                return p;
            }
        }
        return pools.get(pools.size() - 1);
    }

    /** Stops all pools of the group. */
    public void close() {
        for (Pool p : all()) {
            p.close();
        }
    }
}
