package io.pgrelay.proxy.client;

import io.pgrelay.proxy.metrics.LimitStats;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Logged-in clients per user and per database, for max_user_client_connections and max_db_client_connections.
 * Clients count from authentication on (as PostgreSQL checks a role's connection limit), so a stranger who only
 * knows a user name cannot use up that user's places with connections that never log in. Thread-safe; the maps only
 * hold configured names, as only authenticated clients of configured pools get here.
 */
public final class ClientLimits {
    private final ConcurrentHashMap<String, AtomicInteger> byUser = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> byDatabase = new ConcurrentHashMap<>();

    /**
     * Counts a client of (database, user) unless that takes its user over {@code userLimit} or its database over
     * {@code dbLimit} (0: no limit). Returns null when the client was counted, else the limit that refused it (and
     * nothing was counted).
     */
    public LimitStats.Limit admit(String database, String user, int userLimit, int dbLimit) {
        AtomicInteger u = byUser.computeIfAbsent(user, k -> new AtomicInteger());
        if (u.incrementAndGet() > userLimit && userLimit > 0) {
            u.decrementAndGet();
            return LimitStats.Limit.MAX_USER_CLIENT_CONNECTIONS;
        }
        AtomicInteger d = byDatabase.computeIfAbsent(database, k -> new AtomicInteger());
        if (d.incrementAndGet() > dbLimit && dbLimit > 0) {
            d.decrementAndGet();
            u.decrementAndGet();
            return LimitStats.Limit.MAX_DB_CLIENT_CONNECTIONS;
        }
        return null;
    }

    /** The client counted by {@link #admit} left. */
    public void release(String database, String user) {
        AtomicInteger u = byUser.get(user);
        if (u != null) {
            u.decrementAndGet();
        }
        AtomicInteger d = byDatabase.get(database);
        if (d != null) {
            d.decrementAndGet();
        }
    }

    public int userClients(String user) {
        AtomicInteger u = byUser.get(user);
        return u == null ? 0 : u.get();
    }

    public int databaseClients(String database) {
        AtomicInteger d = byDatabase.get(database);
        return d == null ? 0 : d.get();
    }
}
