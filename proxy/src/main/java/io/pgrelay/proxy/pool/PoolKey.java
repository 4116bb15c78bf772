package io.pgrelay.proxy.pool;

/** A pool is chosen by the database and user a client asks for. */
public record PoolKey(String database, String user) {
    @Override
    public String toString() {
        return user + "@" + database;
    }
}
