package io.pgrelay.proxy.route;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.netty.channel.EventLoop;
import io.pgrelay.protocol.sql.FunctionCatalog;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.server.ServerConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What pg_proc on the primary says about user functions the classifier does not know: read-only when every function
 * of that name is STABLE or IMMUTABLE and none is SECURITY DEFINER (which runs as its owner and may do anything).
 * Looked up once per name, in the background on a pooled primary connection; until the answer is in, statements
 * calling the function go to the primary. Bounded cache, cleared on RELOAD.
 */
public final class ProcCatalog implements FunctionCatalog {
    private static final Logger log = LoggerFactory.getLogger(ProcCatalog.class);

    /** The primary's pool now; null during a failover (then nothing is looked up). */
    private final java.util.function.Supplier<Pool> primary;
    private final Cache<String, Boolean> known = Caffeine.newBuilder().maximumSize(10_000).build();
    private final Set<String> asking = ConcurrentHashMap.newKeySet();

    public ProcCatalog(java.util.function.Supplier<Pool> primary) {
        this.primary = primary;
    }

    @Override
    public Boolean isReadOnly(String functionName) {
        return known.getIfPresent(functionName);
    }

    /** Starts looking up the names not known or asked for yet; answers arrive later. */
    public void learn(List<String> names, EventLoop loop) {
        List<String> ask = new ArrayList<>();
        for (String n : names) {
            if (known.getIfPresent(n) == null && asking.add(n)) {
                ask.add(n);
            }
        }
        if (ask.isEmpty()) {
            return;
        }
        Pool pool = primary.get();
        if (pool == null) {
            asking.removeAll(ask);
            return;
        }
        pool.acquire(loop).addListener(f -> {
            if (!f.isSuccess()) {
                asking.removeAll(ask);
                return;
            }
            ServerConnection conn = (ServerConnection) f.getNow();
            conn.channel().eventLoop().execute(() -> conn.queryInternal(query(ask)).addListener(q -> {
                if (q.isSuccess()) {
                    @SuppressWarnings("unchecked")
                    List<List<String>> rows = (List<List<String>>) q.getNow();
                    record(ask, rows);
                } else {
                    log.warn("pool {}: looking up functions {} in pg_proc failed: {}", pool.key(), ask,
                            q.cause().getMessage());
                }
                asking.removeAll(ask);
                pool.release(conn);
            }));
        });
    }

    /** One row per (schema, name): whether all its overloads are safe to run on a standby. */
    static String query(List<String> names) {
        StringBuilder in = new StringBuilder();
        for (String n : names) {
            String bare = n.contains(".") ? n.substring(n.lastIndexOf('.') + 1) : n;
            in.append(in.length() == 0 ? "" : ", ").append(ServerConnection.literal(bare));
        }
        return "SELECT n.nspname, p.proname, bool_and(p.provolatile <> 'v' AND NOT p.prosecdef) "
                + "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
                + "WHERE p.proname IN (" + in + ") GROUP BY 1, 2";
    }

    private void record(List<String> asked, List<List<String>> rows) {
        for (String name : asked) {
            String schema = name.contains(".") ? name.substring(0, name.lastIndexOf('.')) : null;
            String bare = name.contains(".") ? name.substring(name.lastIndexOf('.') + 1) : name;
            boolean found = false;
            boolean readOnly = true;
            for (List<String> r : rows) {
                boolean sameSchema = schema == null || schema.equals(r.get(0)) || schema.equalsIgnoreCase(r.get(0));
                if (sameSchema && bare.toLowerCase(Locale.ROOT).equals(r.get(1).toLowerCase(Locale.ROOT))) {
                    found = true;
                    readOnly &= "t".equals(r.get(2));
                }
            }
            // A function that does not exist makes the statement fail anyway; let the primary say so.
            known.put(name, found && readOnly);
        }
    }

    /** RELOAD: functions may have changed since they were looked up. */
    public void clear() {
        known.invalidateAll();
    }

    /** Names asked about, for tests. */
    Set<String> knownNames() {
        return new HashSet<>(known.asMap().keySet());
    }
}
