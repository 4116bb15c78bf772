package io.pgrelay.cluster;

import java.nio.file.Path;

/** One server of a {@link LocalCluster}. */
public final class PgServer {
    private final String name;
    private final Path dataDir;
    private final Path logFile;
    // Only changes while LocalCluster.start() retries a port that turned out to be taken.
    private volatile int port;

    PgServer(String name, int port, Path dataDir, Path logFile) {
        this.name = name;
        this.port = port;
        this.dataDir = dataDir;
        this.logFile = logFile;
    }

    /** "primary", "standby1", "standby2", ... */
    public String name() {
        return name;
    }

    public String host() {
        return "127.0.0.1";
    }

    public int port() {
        return port;
    }

    void port(int port) {
        this.port = port;
    }

    public Path dataDir() {
        return dataDir;
    }

    /** The server log (stderr of the postmaster). */
    public Path logFile() {
        return logFile;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://" + host() + ":" + port + "/" + database;
    }

    @Override
    public String toString() {
        return name + "@" + host() + ":" + port;
    }
}
