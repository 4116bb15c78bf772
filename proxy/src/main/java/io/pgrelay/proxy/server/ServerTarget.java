package io.pgrelay.proxy.server;

import java.time.Duration;

/** Where and as whom pgrelay logs in to one PostgreSQL server. The password never appears in toString. */
public record ServerTarget(String host, int port, String database, String user, String password,
                           Duration connectTimeout, int statementCacheSize, int weight) {

    /** A target with the default read weight of 1. */
    public ServerTarget(String host, int port, String database, String user, String password,
                        Duration connectTimeout, int statementCacheSize) {
        this(host, port, database, user, password, connectTimeout, statementCacheSize, 1);
    }
    public String address() {
        return host + ":" + port;
    }

    @Override
    public String toString() {
        return user + "@" + address() + "/" + database;
    }
}
