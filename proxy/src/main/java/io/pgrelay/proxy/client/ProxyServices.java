package io.pgrelay.proxy.client;

import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.route.PoolGroup;
import io.pgrelay.proxy.prepared.StatementRegistry;
import io.pgrelay.proxy.server.ServerConnector;

/** What a client session needs from the running proxy. */
public interface ProxyServices {
    PgRelayConfig config();

    /** The primary's and the standbys' pools of a (database, user), with its routing. */
    PoolGroup group(String database, String user);


    UserSecrets secrets();

    CancelKeys cancelKeys();

    ServerConnector connector();

    /** pgrelay's server-side names for prepared statements, shared by all pools. */
    StatementRegistry statements();

    /** Counts a new client; false when it is over max_client_conn (it is counted all the same). */
    boolean clientOpened();

    void clientClosed();

    int maxClientConn();

    /** The admin console, metrics and lifecycle (io.pgrelay.proxy.admin); null when there is none. */
    default io.pgrelay.proxy.admin.AdminConsole admin() {
        return null;
    }

    /** The counters a new client of pool (database, user) feeds (SHOW STATS, metrics). */
    default io.pgrelay.proxy.metrics.ClientTraffic traffic(String database, String user) {
        return io.pgrelay.proxy.metrics.ClientTraffic.NONE;
    }

    /** Logged-in clients per user and database (max_user_client_connections, max_db_client_connections). */
    default ClientLimits clientLimits() {
        return null;
    }

    /** Where refusals by a limit are counted. */
    default io.pgrelay.proxy.metrics.LimitStats limitStats() {
        io.pgrelay.proxy.admin.AdminConsole a = admin();
        return a == null ? io.pgrelay.proxy.metrics.LimitStats.NONE : a.metrics().limits();
    }

    /** WAL positions and lag of the servers, for routing; null when nothing probes them. */
    default io.pgrelay.proxy.health.HealthMonitor monitor() {
        return null;
    }
}
