package io.pgrelay.proxy.client;

import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.prepared.StatementRegistry;
import io.pgrelay.proxy.server.ServerConnector;

/** What a client session needs from the running proxy. */
public interface ProxyServices {
    PgRelayConfig config();

    Pool pool(String database, String user);

    UserSecrets secrets();

    CancelKeys cancelKeys();

    ServerConnector connector();

    /** pgrelay's server-side names for prepared statements, shared by all pools. */
    StatementRegistry statements();

    /** Counts a new client; false when it is over max_client_conn (it is counted all the same). */
    boolean clientOpened();

    void clientClosed();

    int maxClientConn();
}
