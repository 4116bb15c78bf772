package io.pgrelay.config;

/** How long a client keeps its server connection. */
public enum PoolMode {
    /** One server connection for the whole client session. */
    SESSION("session"),
    /** A server connection per transaction; the default, as in pgcat. */
    TRANSACTION("transaction");

    private final String configName;

    PoolMode(String configName) {
        this.configName = configName;
    }

    /** The spelling used in the configuration file. */
    public String configName() {
        return configName;
    }
}
