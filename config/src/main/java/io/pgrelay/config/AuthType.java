package io.pgrelay.config;

/** How pgrelay authenticates a client. */
public enum AuthType {
    SCRAM_SHA_256("scram-sha-256"),
    MD5("md5"),
    /** No password check at all: for tests and trusted networks only. */
    TRUST("trust"),
    /** A TLS client certificate whose CN is the user name (or one of the user's client_identities). */
    CERT("cert"),
    /** A Kerberos principal (GSSAPI) that is the user name (or one of the user's client_identities). */
    GSS("gss");

    private final String configName;

    AuthType(String configName) {
        this.configName = configName;
    }

    /** The spelling used in the configuration file. */
    public String configName() {
        return configName;
    }
}
