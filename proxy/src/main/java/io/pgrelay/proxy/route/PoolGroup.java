package io.pgrelay.proxy.route;

import io.pgrelay.config.Routing;
import io.pgrelay.protocol.sql.ClassifierSettings;
import io.pgrelay.protocol.sql.StatementClassifier;
import java.util.regex.Pattern;
import io.pgrelay.proxy.pool.Claimant;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.pool.PoolKey;
import io.pgrelay.proxy.health.HealthMonitor;
import io.pgrelay.proxy.health.RoleDecider.Role;
import io.pgrelay.proxy.health.Topology;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pools of one (database, user), one per configured server, and how reads are spread over them. Which pool is
 * the primary's and which take reads follows the health checks' {@link Topology}: the config's roles are only the
 * starting point, kept for servers not probed yet. The view is recomputed when the topology's version changes, so
 * routing a unit costs a volatile read and a comparison.
 */
public final class PoolGroup {
    private final PoolKey key;
    private final Pool configuredPrimary;
    private final List<Pool> standbys;
    private final List<Pool> members;
    private final Routing routing;
    private final Topology topology;
    private volatile View view;
    private final AtomicInteger next = new AtomicInteger();
    private final ProcCatalog catalog;
    private final StatementClassifier classifier;

    /**
     * The primary now (null: none), the pools that take reads, and those of them that are standbys (where a read
     * that finds its pool full may wait), for one topology version.
     */
    private record View(long version, Pool primary, List<Pool> readers, List<Pool> standbyReaders) {
    }

    /** With roles fixed by the config (no health checks). */
    public PoolGroup(PoolKey key, Pool primary, List<Pool> standbys, Routing routing) {
        this(key, primary, standbys, routing, new Topology());
    }

    public PoolGroup(PoolKey key, Pool primary, List<Pool> standbys, Routing routing, Topology topology) {
        this.key = key;
        this.configuredPrimary = primary;
        this.standbys = List.copyOf(standbys);
        List<Pool> m = new ArrayList<>(standbys.size() + 1);
        m.add(primary);
        m.addAll(standbys);
        this.members = List.copyOf(m);
        this.routing = routing;
        this.topology = topology;
        // Each group its own classifier: its function lists, and pg_proc of its own database.
        this.catalog = new ProcCatalog(this::primary);
        this.classifier = new StatementClassifier(new ClassifierSettings(patterns(routing.writeFunctions()),
                patterns(routing.readOnlyFunctions()), ClassifierSettings.defaults().cacheSize()), catalog);
        this.view = compute(topology.snapshot());
    }

    private View view() {
        Topology.Snapshot s = topology.snapshot();
        View v = view;
        if (v.version() != s.version()) {
            v = compute(s);
            view = v;
        }
        return v;
    }

    private View compute(Topology.Snapshot s) {
        Pool primary = null;
        List<Pool> r = new ArrayList<>();
        for (Pool p : members) {
            Role role = s.role(p.target().address());
            if (role == Role.UNKNOWN) {
                role = p == configuredPrimary ? Role.PRIMARY : Role.STANDBY; // not probed yet: the config says
            }
            if (role == Role.PRIMARY && primary == null) {
                primary = p;
            } else if (role == Role.STANDBY && p.target().weight() > 0) { // weight 0: the server takes no reads
                r.add(p);
            }
        }
        List<Pool> standbyReaders = List.copyOf(r);
        if (primary != null && ((routing.primaryReadsEnabled() && primary.target().weight() > 0) || r.isEmpty())) {
            r.add(primary);
        }
        return new View(s.version(), primary, List.copyOf(r), standbyReaders);
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

    /** The primary's pool now, or null while there is no primary (failover). */
    public Pool primary() {
        return view().primary();
    }

    /** The pool of the server the config calls the primary: for settings that every pool of the group shares. */
    public Pool configuredPrimary() {
        return configuredPrimary;
    }

    public List<Pool> standbys() {
        return standbys;
    }

    public Routing routing() {
        return routing;
    }

    /** Every pool of the group, in config order (the configured primary first). */
    public List<Pool> all() {
        return members;
    }

    /**
     * The pools a read may use now: the standbys (and the primary when it takes reads too) within the lag limits and,
     * when {@code minLsn > 0}, that have replayed up to it. The primary alone when none fits; empty when no server
     * can take reads now.
     */
    public List<Pool> readers(HealthMonitor monitor, long minLsn) {
        View v = view();
        Pool primary = v.primary();
        List<Pool> readers = v.readers();
        if (readers.isEmpty() || (minLsn == 0 && routing.maxReplicaLagBytes() == 0
                && routing.maxReplicaLag().isZero())) {
            return readers;
        }
        List<Pool> eligible = new ArrayList<>(readers.size());
        for (Pool p : readers) {
            if (p == primary || fits(monitor, p, minLsn)) {
                eligible.add(p);
            }
        }
        if (eligible.isEmpty()) {
            return List.of(primary != null ? primary : pick(readers)); // no primary: a lagging standby beats nothing
        }
        return eligible;
    }

    /**
     * Asks {@code readers} (from {@link #readers}, not empty) for a connection for a read: the pool the balancing
     * mode picks when it has one idle or room for one. When a standby is picked and found full, the read goes to any
     * other standby among {@code readers} that has a connection to spare, or else waits in all their lines at once
     * and takes the first connection any of them frees: one line for the 2 x 20 connections of two standbys rather
     * than two lines of 20, where a read could wait on one standby while the other had a connection free. The
     * primary (with primary_reads_enabled) serves only the reads the balancing mode gives it, as before: reads that
     * spilled over to it would queue ahead of writes.
     */
    public void acquireRead(List<Pool> readers, Claimant claimant) {
        Pool first = pick(readers);
        View v = view();
        List<Pool> lines = standbysAmong(readers, v);
        int n = lines.size();
        if (n <= 1 || first == v.primary()) {
            first.acquire(claimant);
            return;
        }
        if (first.tryAcquire(claimant)) {
            return;
        }
        // The others serve it now if they can, else it waits in their lines; the first's line last (it was full a
        // moment ago): when all are full, the usual case under load, that is one lock more than there are pools.
        AtomicBoolean taken = new AtomicBoolean();
        boolean queued = false;
        int start = lines.indexOf(first);
        for (int i = 1; i <= n; i++) {
            Pool.Offer o = lines.get((start + i) % n).offer(claimant, taken);
            if (o == Pool.Offer.SERVED) {
                return;
            }
            queued |= o == Pool.Offer.QUEUED;
        }
        if (!queued) {
            first.acquire(claimant); // every one closed (shutdown, or drained by a reload): its answer says so
        }
    }

    /** The standbys among {@code readers}: the view's own list unless lag limits or an LSN left fewer. */
    private static List<Pool> standbysAmong(List<Pool> readers, View v) {
        if (readers == v.readers()) {
            return v.standbyReaders();
        }
        if (v.primary() == null || !readers.contains(v.primary())) { // List.of(...).contains(null) would throw
            return readers;
        }
        List<Pool> out = new ArrayList<>(readers.size());
        for (Pool p : readers) {
            if (p != v.primary()) {
                out.add(p);
            }
        }
        return out;
    }

    /** Within the lag limits and past {@code minLsn}, as far as the last probe knows; unknown fails an LSN check. */
    private boolean fits(HealthMonitor monitor, Pool p, long minLsn) {
        HealthMonitor.ServerState s = monitor == null ? null : monitor.state(p.target().address());
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
                    double load = p.outstanding() / (double) Math.max(1, p.target().weight());
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
