package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.proxy.LeakTracker;
import io.pgrelay.proxy.tls.DevCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** TLS from pgrelay to PostgreSQL: a server set up with the generated certificates, and one without TLS. */
class TlsServerIT {
    @TempDir
    static Path dir;
    private static LocalCluster tlsCluster;
    private static Path certs;

    @BeforeAll
    static void start() throws Exception {
        certs = dir.resolve("certs");
        DevCertificates.generate(certs, List.of(), "app", Duration.ofDays(2));
        DevCertificates.generateCa(dir.resolve("other"), "unrelated CA", Duration.ofDays(2));
        tlsCluster = LocalCluster.builder().standbys(0).start();
        PgServer primary = tlsCluster.primary();
        // PostgreSQL wants its key owned by the server's OS user with mode 0600: copy both into the data dir.
        UserPrincipal owner = Files.getOwner(primary.dataDir());
        for (String f : new String[] {"server.crt", "server.key"}) {
            Path target = primary.dataDir().resolve(f);
            Files.copy(certs.resolve(f), target, StandardCopyOption.REPLACE_EXISTING);
            Files.setOwner(target, owner);
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
        }
        tlsCluster.execute(primary, "postgres", "ALTER SYSTEM SET ssl_cert_file = 'server.crt'");
        tlsCluster.execute(primary, "postgres", "ALTER SYSTEM SET ssl_key_file = 'server.key'");
        tlsCluster.execute(primary, "postgres", "ALTER SYSTEM SET ssl = on");
        tlsCluster.execute(primary, "postgres", "SELECT pg_reload_conf()");
    }

    @AfterAll
    static void stop() {
        if (tlsCluster != null) {
            tlsCluster.close();
        }
        LeakTracker.assertNoLeaks();
    }

    private static String serverTls(String mode, Path ca) {
        return "server_tls_mode = \"" + mode + "\"\n"
                + (ca == null ? "" : "server_tls_ca_file = \"" + ca + "\"\n");
    }

    private static boolean sessionUsesTls(TestProxy p) throws SQLException {
        try (Connection c = p.connect("app", "app"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static String loginError(TestProxy p) {
        try (Connection c = p.connect("app", "app")) {
            throw new AssertionError("login unexpectedly succeeded");
        } catch (SQLException e) {
            return e.getSQLState() + " " + e.getMessage();
        }
    }

    @Test
    void verifyFullAgainstTheGeneratedCa() throws Exception {
        try (TestProxy p = TestProxy.start(TestProxy.sessionConfig(tlsCluster, 2,
                serverTls("verify-full", certs.resolve("ca.crt")), ""))) {
            assertThat(sessionUsesTls(p)).isTrue();
        }
    }

    @Test
    void requireAndPreferEncryptWithoutVerifying() throws Exception {
        for (String mode : new String[] {"require", "prefer", "verify-ca"}) {
            try (TestProxy p = TestProxy.start(TestProxy.sessionConfig(tlsCluster, 2,
                    serverTls(mode, mode.equals("verify-ca") ? certs.resolve("ca.crt") : null), ""))) {
                assertThat(sessionUsesTls(p)).as(mode).isTrue();
            }
        }
    }

    @Test
    void untrustedServerCertificateFailsTheLogin() {
        try (TestProxy p = TestProxy.start(TestProxy.sessionConfig(tlsCluster, 2,
                serverTls("verify-ca", dir.resolve("other").resolve("ca.crt")), ""))) {
            assertThat(loginError(p)).startsWith("08006").contains("TLS handshake failed");
        }
    }

    @Test
    void plaintextServer() throws Exception {
        LocalCluster plain = SharedCluster.get();
        try (TestProxy p = TestProxy.start(TestProxy.sessionConfig(plain, 2, serverTls("require", null), ""))) {
            assertThat(loginError(p)).startsWith("08006").contains("the server does not support TLS");
        }
        try (TestProxy p = TestProxy.start(TestProxy.sessionConfig(plain, 2, serverTls("prefer", null), ""))) {
            assertThat(sessionUsesTls(p)).isFalse();
        }
    }
}
