package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.proxy.LeakTracker;
import io.pgrelay.proxy.PgRelayServer;
import io.pgrelay.proxy.tls.DevCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The README's "certificates and keys are re-read on RELOAD without dropping connections", through the real
 * command: pgrelay started from a config file, certificate files replaced on disk by ones from a new CA, RELOAD sent
 * on the admin console.
 */
class TlsReloadIT {
    @TempDir
    static Path dir;
    private static Path certs;
    /** The first CA's certificate and a client certificate it issued, kept when the files are replaced. */
    private static Path oldFiles;
    private static PgRelayServer server;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        LocalCluster cluster = SharedCluster.get();
        certs = dir.resolve("certs");
        DevCertificates.generate(certs, List.of(), "certuser", Duration.ofDays(2));
        oldFiles = dir.resolve("old");
        Files.createDirectories(oldFiles);
        for (String f : new String[] {DevCertificates.CA_CERT, DevCertificates.CLIENT_CERT,
                DevCertificates.CLIENT_KEY}) {
            Files.copy(certs.resolve(f), oldFiles.resolve(f), StandardCopyOption.COPY_ATTRIBUTES);
        }
        port = TestProxy.freePort();
        String general = "tls_mode = \"prefer\"\n"
                + "tls_certificate = \"" + certs.resolve(DevCertificates.SERVER_CERT) + "\"\n"
                + "tls_private_key = \"" + certs.resolve(DevCertificates.SERVER_KEY) + "\"\n"
                + "tls_ca_file = \"" + certs.resolve(DevCertificates.CA_CERT) + "\"\n";
        String certUser = "\n[pools.app.users.2]\nusername = \"certuser\"\nauth_type = \"cert\"\npool_size = 1\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n";
        Path file = dir.resolve("pgrelay.toml");
        Files.writeString(file, AdminIT.config(cluster, 2, general).replace("%PORT%", Integer.toString(port))
                + certUser);
        server = PgRelayServer.start(ConfigLoader.load(file), 2);
        assertThat(server.config().source()).isEqualTo(file.toString()); // what RELOAD re-reads
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
        LeakTracker.assertNoLeaks();
    }

    private static Properties verifyFull(Path rootCert) {
        Properties p = new Properties();
        p.setProperty("sslmode", "verify-full");
        p.setProperty("sslrootcert", rootCert.toString());
        return p;
    }

    private static Connection connect(String database, String user, String password, Properties extra)
            throws SQLException {
        Properties p = new Properties();
        p.putAll(extra);
        p.setProperty("user", user);
        p.setProperty("password", password);
        if (database.equals("pgbouncer")) {
            p.setProperty("preferQueryMode", "simple");
        }
        return DriverManager.getConnection("jdbc:postgresql://localhost:" + port + "/" + database, p);
    }

    private static String psqlUrl(String user, String params) {
        return "postgresql://" + user + ":app@localhost:" + port + "/app?" + params;
    }

    private static List<String> reload(Statement admin) throws SQLException {
        admin.execute("RELOAD");
        List<String> notes = new ArrayList<>();
        for (SQLWarning w = admin.getWarnings(); w != null; w = w.getNextWarning()) {
            notes.add(w.getMessage());
        }
        admin.clearWarnings();
        return notes;
    }

    private static int scalar(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            assertThat(rs.next()).isTrue();
            return rs.getInt(1);
        }
    }

    @Test
    void reloadOnTheAdminConsoleSwapsCertificatesWithoutDroppingConnections() throws Exception {
        Path newCerts = dir.resolve("new");
        DevCertificates.generate(newCerts, List.of(), "certuser", Duration.ofDays(2)); // a new CA and everything
        Path newCa = newCerts.resolve(DevCertificates.CA_CERT);
        Path oldCa = oldFiles.resolve(DevCertificates.CA_CERT);
        assertThat(Files.readString(newCa)).isNotEqualTo(Files.readString(oldCa));

        // Held over TLS verified against the old CA: an app session inside a transaction, and the admin session
        // that sends RELOAD.
        try (Connection held = connect("app", "app", "app", verifyFull(oldCa));
             Connection admin = connect("pgbouncer", "admin", "adminpw", verifyFull(oldCa));
             Statement adminSt = admin.createStatement()) {
            held.setAutoCommit(false);
            int backend = scalar(held, "select pg_backend_pid()");
            long tlsBefore = server.security().tlsSessions();

            // New files on disk change nothing until RELOAD: the old CA still verifies new connections.
            for (String f : new String[] {DevCertificates.SERVER_CERT, DevCertificates.SERVER_KEY,
                    DevCertificates.CA_CERT}) {
                Files.copy(newCerts.resolve(f), certs.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            Psql.Result before = Psql.run(psqlUrl("app", "sslmode=verify-full&sslrootcert="
                    + oldCa), Map.of(), "select 'not yet'");
            assertThat(before.exitCode()).as(before.stderr()).isZero();

            List<String> notes = reload(adminSt);
            assertThat(notes).noneMatch(n -> n.contains("not reloaded") || n.contains("needs a restart"));

            // Both held sessions go on: the transaction still has its server connection, the admin still answers.
            assertThat(scalar(held, "select pg_backend_pid()")).isEqualTo(backend);
            assertThat(scalar(held, "select 7")).isEqualTo(7);
            held.commit();
            assertThat(scalar(held, "select 8")).isEqualTo(8);
            try (ResultSet rs = adminSt.executeQuery("SHOW VERSION")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).contains("pgrelay");
            }

            // New connections: the old CA no longer verifies pgrelay, the new one does (psql and JDBC).
            Psql.Result old = Psql.run(psqlUrl("app", "sslmode=verify-full&sslrootcert="
                    + oldCa), Map.of(), "select 1");
            assertThat(old.exitCode()).isNotZero();
            assertThat(old.stderr()).contains("certificate verify failed");
            assertThatThrownBy(() -> connect("app", "app", "app", verifyFull(oldCa))
                    .close()).isInstanceOf(SQLException.class);
            Psql.Result fresh = Psql.run(psqlUrl("app", "sslmode=verify-full&sslrootcert=" + newCa), Map.of(),
                    "select 1", "\\conninfo");
            assertThat(fresh.exitCode()).as(fresh.stderr()).isZero();
            assertThat(fresh.stdout()).startsWith("1\n").contains("SSL connection (protocol: TLSv1.3");
            try (Connection c = connect("app", "app", "app", verifyFull(newCa))) {
                assertThat(scalar(c, "select 9")).isEqualTo(9);
            }
            // tls_ca_file was re-read too: client certificates of the new CA log in, the old CA's fail.
            Psql.Result newClient = Psql.run(psqlUrl("certuser", "sslmode=verify-full&sslrootcert=" + newCa
                    + "&sslcert=" + newCerts.resolve(DevCertificates.CLIENT_CERT)
                    + "&sslkey=" + newCerts.resolve(DevCertificates.CLIENT_KEY)), Map.of(), "select current_user");
            assertThat(newClient.exitCode()).as(newClient.stderr()).isZero();
            assertThat(newClient.stdout()).isEqualTo("app\n");
            Psql.Result oldClientCert = Psql.run(psqlUrl("certuser", "sslmode=verify-full&sslrootcert=" + newCa
                    + "&sslcert=" + oldFiles.resolve(DevCertificates.CLIENT_CERT)
                    + "&sslkey=" + oldFiles.resolve(DevCertificates.CLIENT_KEY)), Map.of(), "select 1");
            assertThat(oldClientCert.exitCode()).isNotZero();
            assertThat(server.security().tlsSessions()).isGreaterThan(tlsBefore);

            // A key that does not load: RELOAD says so, the certificate just loaded stays in use.
            Files.writeString(certs.resolve(DevCertificates.SERVER_KEY), "not a key\n");
            List<String> failed = reload(adminSt);
            assertThat(failed).anyMatch(n -> n.contains("TLS certificates not reloaded"));
            Psql.Result still = Psql.run(psqlUrl("app", "sslmode=verify-full&sslrootcert=" + newCa), Map.of(),
                    "select 'still'");
            assertThat(still.exitCode()).as(still.stderr()).isZero();
            assertThat(still.stdout()).isEqualTo("still\n");
            assertThat(scalar(held, "select 10")).isEqualTo(10);
        }
    }
}
