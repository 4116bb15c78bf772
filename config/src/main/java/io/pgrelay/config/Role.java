package io.pgrelay.config;

/** The configured role of a server; a hint that health checks may correct. */
public enum Role {
    PRIMARY("primary"),
    REPLICA("replica");

    private final String configName;

    Role(String configName) {
        this.configName = configName;
    }

    /** The spelling used in the configuration file. */
    public String configName() {
        return configName;
    }
}
