package io.pgrelay.config;

import java.util.Objects;

/**
 * TLS towards clients and servers, and GSSAPI (Kerberos): the {@code tls_*}, {@code server_tls_*} and {@code gss_*}
 * keys of {@code [general]}. File names are as written in the config (relative ones resolve against the working
 * directory); the files are read when pgrelay starts and again on a TLS reload.
 *
 * @param tlsMode         what a client may or must do: disable (SSLRequest answered 'N'), allow/prefer (TLS when the
 *                        client asks), require (plaintext logins are refused)
 * @param tlsCertificate  PEM certificate chain presented to clients; null when TLS is off
 * @param tlsPrivateKey   PEM (PKCS#8) private key of that certificate
 * @param tlsCaFile       PEM CA certificates that client certificates are checked against; null: no client
 *                        certificates are asked for
 * @param serverTlsMode   TLS towards PostgreSQL, with libpq's sslmode meanings
 * @param serverTlsCaFile PEM CA certificates for verify-ca / verify-full; null: the JVM's default trust store
 * @param gssKeytab       Kerberos keytab holding {@code gssPrincipal}'s keys; null: no GSSAPI
 * @param gssPrincipal    the service principal clients get tickets for, e.g. {@code postgres/db.example.com@REALM}
 * @param gssIncludeRealm whether the realm stays in a client's principal before it is compared with the user name
 */
public record SecurityConfig(TlsMode tlsMode, String tlsCertificate, String tlsPrivateKey, String tlsCaFile,
                             ServerTlsMode serverTlsMode, String serverTlsCaFile, String gssKeytab,
                             String gssPrincipal, boolean gssIncludeRealm) {

    public static final SecurityConfig NONE = new SecurityConfig(TlsMode.DISABLE, null, null, null,
            ServerTlsMode.DISABLE, null, null, null, false);

    public SecurityConfig {
        Objects.requireNonNull(tlsMode, "tlsMode");
        Objects.requireNonNull(serverTlsMode, "serverTlsMode");
    }

    public boolean clientTls() {
        return tlsMode != TlsMode.DISABLE;
    }

    public boolean gss() {
        return gssKeytab != null && gssPrincipal != null;
    }

    /** Client side TLS modes (PgBouncer's client_tls_sslmode, without the verify-* ones: see tls_ca_file). */
    public enum TlsMode {
        DISABLE("disable"), ALLOW("allow"), PREFER("prefer"), REQUIRE("require");

        private final String configName;

        TlsMode(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    /** Server side TLS modes, as libpq's sslmode. */
    public enum ServerTlsMode {
        DISABLE("disable"), PREFER("prefer"), REQUIRE("require"), VERIFY_CA("verify-ca"), VERIFY_FULL("verify-full");

        private final String configName;

        ServerTlsMode(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }

        /** Whether the server's certificate is checked against a CA. */
        public boolean verifies() {
            return this == VERIFY_CA || this == VERIFY_FULL;
        }
    }
}
