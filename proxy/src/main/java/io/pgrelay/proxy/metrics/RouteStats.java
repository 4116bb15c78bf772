package io.pgrelay.proxy.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Routing decisions per database, role and reason, for SHOW ROUTES and {@code pgrelay_routing_decisions_total}.
 * The router calls {@link #routed} once per statement or batch it routes; nothing else is needed to feed the admin
 * console and the metrics. Thread-safe.
 */
public final class RouteStats {
    /** The role a statement was sent to. */
    public enum Role { PRIMARY, REPLICA }

    /** Why: the classifier's verdict or the default, a hint, or a read-your-writes redirect to the primary. */
    public enum Reason { STATEMENT, DEFAULT, HINT, READ_YOUR_WRITES }

    /** Counts nothing. */
    public static final RouteStats NONE = new RouteStats(null);

    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, LongAdder[]> counts = new ConcurrentHashMap<>();

    RouteStats(MeterRegistry registry) {
        this.registry = registry;
    }

    /** One routing decision. */
    public void routed(String database, Role role, Reason reason) {
        adders(database)[index(role, reason)].increment();
    }

    /** Makes the counters of a database exist (at zero) before its first decision. */
    public void register(String database) {
        adders(database);
    }

    private LongAdder[] adders(String database) {
        LongAdder[] known = counts.get(database); // no capturing lambda per statement once the database is known
        return known != null ? known : counts.computeIfAbsent(database, db -> {
            LongAdder[] a = new LongAdder[Role.values().length * Reason.values().length];
            for (Role role : Role.values()) {
                for (Reason reason : Reason.values()) {
                    LongAdder adder = new LongAdder();
                    a[index(role, reason)] = adder;
                    if (registry != null) {
                        FunctionCounter.builder("pgrelay.routing.decisions", adder, LongAdder::doubleValue)
                                .description("Statements routed, by role and reason")
                                .tags("database", db, "role", name(role), "reason", name(reason))
                                .register(registry);
                    }
                }
            }
            return a;
        });
    }

    private static int index(Role role, Reason reason) {
        return role.ordinal() * Reason.values().length + reason.ordinal();
    }

    public static String name(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /** SHOW ROUTES rows: per database and role, statements routed, of which forced by hints / redirected. */
    public List<Row> rows() {
        List<Row> rows = new ArrayList<>();
        for (var e : new java.util.TreeMap<>(counts).entrySet()) {
            for (Role role : Role.values()) {
                long total = 0;
                for (Reason reason : Reason.values()) {
                    total += e.getValue()[index(role, reason)].sum();
                }
                rows.add(new Row(e.getKey(), name(role), total, e.getValue()[index(role, Reason.HINT)].sum(),
                        e.getValue()[index(role, Reason.READ_YOUR_WRITES)].sum()));
            }
        }
        return rows;
    }

    public record Row(String database, String role, long routed, long forcedByHint, long readYourWrites) {
    }
}
