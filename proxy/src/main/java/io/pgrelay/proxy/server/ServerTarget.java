package io.pgrelay.proxy.server;

import java.time.Duration;

/** Where and as whom pgrelay logs in to one PostgreSQL server. The password never appears in toString. */
public record ServerTarget(String host, int port, String database, String user, String password,
                           Duration connectTimeout, int statementCacheSize) {
    public String address() {
        return host + ":" + port;
    }

    @Override
    public String toString() {
        return user + "@" + address() + "/" + database;
    }
}
