package io.pgrelay.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgrelay.cluster.PgBinaries;
import io.pgrelay.cluster.ToolUser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A primary started the way the container starts it (pg-entrypoint as root, which prepares the directories, copies
 * the mounted certificates it alone can read, and drops to the postgres user) with certificates mounted and TLS
 * required, on a PostgreSQL where pg_cron is not installed. The images never call openssl; this test makes its
 * throwaway certificate with it.
 */
class PrimaryTlsIT {

    @Test
    void tlsFromMountedCertificatesAndNoPgCronWhereItIsNotInstalled() throws Exception {
        Path openssl = Path.of("/usr/bin/openssl");
        assumeTrue(Files.isExecutable(openssl), "openssl is not installed: no certificate for the TLS test");
        PgBinaries bins = PgBinaries.locate();
        for (String tool : List.of("psql", "pg_isready", "pg_config")) {
            assumeTrue(bins.has(tool), bins + " has no " + tool);
        }
        boolean root = ToolUser.name() != null;
        Scripts s = new Scripts(bins, "pgr-tls-");
        try {
            // like a volume mounted at /certs: a readable directory, a key only its owner (root, here) can read
            Path certs = s.base.resolve("certs");
            Files.createDirectories(certs);
            Process p = new ProcessBuilder(openssl.toString(), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", certs.resolve("server.key").toString(), "-out", certs.resolve("server.crt").toString(),
                    "-days", "2", "-subj", "/CN=localhost").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor()).as(out).isZero();
            Files.setPosixFilePermissions(certs.resolve("server.key"), PosixFilePermissions.fromString("rw-------"));
            Files.setPosixFilePermissions(certs.resolve("server.crt"), PosixFilePermissions.fromString("rw-r--r--"));

            // a pg_config that reports directories without pg_cron, as on a PostgreSQL without the package
            Path fakeBin = s.base.resolve("fakebin");
            Files.createDirectories(fakeBin);
            Path pgConfig = fakeBin.resolve("pg_config");
            Files.writeString(pgConfig, "#!/bin/sh\ncase \"$1\" in\n  --pkglibdir) echo /nonexistent/lib ;;\n"
                    + "  --sharedir) echo /nonexistent/share ;;\n  *) exec " + bins.tool("pg_config") + " \"$@\" ;;\nesac\n");
            Files.setPosixFilePermissions(pgConfig, PosixFilePermissions.fromString("rwxr-xr-x"));

            Node n = s.node("primary").role("primary");
            n.env.put("PG_TLS_CERT_FILE", certs.resolve("server.crt").toString());
            n.env.put("PG_TLS_KEY_FILE", certs.resolve("server.key").toString());
            n.env.put("PG_TLS_CA_FILE", certs.resolve("ca.crt").toString());
            n.env.put("PG_TLS_REQUIRED", "on");
            Map<String, String> env = Map.of("PG_BIN", "",
                    "PATH", fakeBin + ":" + bins.bindir() + ":/usr/local/bin:/usr/bin:/bin");
            if (root) {
                s.startServerAsRoot(n, env);
            } else {
                s.startServer(n, env);
            }

            assertThat(n.tail()).contains("pg_cron: not installed for postgres (PostgreSQL) " + bins.majorVersion(),
                    "skipping the extension and its job", "TLS on, pg_cron off");
            try (Connection c = n.connect("postgres", Node.SUPERUSER, Node.SUPERUSER_PASSWORD, "require");
                 Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT ssl, current_setting('shared_preload_libraries'),"
                         + " current_setting('ssl_ca_file') FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getBoolean(1)).as("connection encrypted").isTrue();
                assertThat(rs.getString(2)).as("no pg_cron preloaded").isEmpty();
                assertThat(rs.getString(3)).as("no CA mounted, none configured").isEmpty();
            }
            assertThatThrownBy(() -> n.connect("postgres", Node.SUPERUSER, Node.SUPERUSER_PASSWORD, "disable").close())
                    .isInstanceOf(SQLException.class).hasMessageContaining("no encryption")
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("28000"));
            try (Connection c = n.connect("app", Node.APP_USER, Node.APP_PASSWORD, "require");
                 Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isZero();
            }

            Path copy = n.tlsDir.resolve("server.key");
            assertThat(Files.getPosixFilePermissions(copy)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
            if (root) {
                // the root part copied what the postgres user could not read, and gave it the data dir
                assertThat(Files.getOwner(copy).getName()).isEqualTo(ToolUser.name());
                assertThat(Files.getOwner(certs.resolve("server.key")).getName()).isEqualTo("root");
                assertThat(Files.getOwner(n.dataDir).getName()).isEqualTo(ToolUser.name());
            }
            s.stopServer(n, "fast");
        } finally {
            s.close();
        }
    }
}
