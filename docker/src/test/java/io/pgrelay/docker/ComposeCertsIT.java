package io.pgrelay.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgrelay.cluster.PgBinaries;
import io.pgrelay.cluster.ToolUser;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * TLS of the compose cluster without Docker: compose.yaml's one-shot "certs" service run as written there (its
 * entrypoint script and command, this checkout's pgrelay.jar, a local directory for the certs volume), a primary
 * started from those files by pg-entrypoint as the container starts it, psql with {@code sslmode=verify-full}
 * against the generated CA under every compose service name, and pgrelay with the image's pgrelay.toml in front.
 */
class ComposeCertsIT {

    @Test
    void theCertsServiceEnablesVerifiedTlsOnPostgresqlAndPgrelay() throws Exception {
        PgBinaries bins = PgBinaries.locate();
        for (String tool : List.of("psql", "pg_isready")) {
            assumeTrue(bins.has(tool), bins + " has no " + tool);
        }
        boolean root = ToolUser.name() != null;
        Scripts s = new Scripts(bins, "pgr-certs-");
        Process pgrelay = null;
        try {
            // the certs volume: compose.yaml's certs service fills it
            Path certs = s.base.resolve("certs");
            Scripts.Result made = PgrelayJar.composeCerts(certs);
            assertThat(made.exitCode()).as(made.toString()).isZero();
            assertThat(made.output()).contains("wrote a development CA and certificates to");
            for (String f : List.of("ca.crt", "server.crt", "client.crt")) {
                assertThat(Files.getPosixFilePermissions(certs.resolve(f))).as(f)
                        .isEqualTo(PosixFilePermissions.fromString("rw-r--r--"));
            }
            for (String f : List.of("ca.key", "server.key", "client.key")) {
                assertThat(Files.getPosixFilePermissions(certs.resolve(f))).as(f)
                        .isEqualTo(PosixFilePermissions.fromString("rw-------"));
            }
            if (root) {
                // as in the container (user "0"): given to the image's pgrelay user, who reads server.key
                assertThat(made.output()).contains("the files belong to 10001:10001 (the pgrelay user) now");
                assertThat(Files.getAttribute(certs.resolve("server.key"), "unix:uid")).isEqualTo(10001);
                assertThat(Files.getAttribute(certs.resolve("ca.crt"), "unix:gid")).isEqualTo(10001);
            }

            // the server certificate names every service of compose.yaml that serves TLS
            X509Certificate server;
            try (InputStream in = Files.newInputStream(certs.resolve("server.crt"))) {
                server = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            }
            List<String> names = new ArrayList<>();
            for (List<?> san : server.getSubjectAlternativeNames()) {
                names.add(String.valueOf(san.get(1)));
            }
            assertThat(names).contains("localhost", "127.0.0.1", "primary", "standby1", "standby2", "pgrelay");

            // every `docker compose up` runs the service again: it keeps what is there
            byte[] ca = Files.readAllBytes(certs.resolve("ca.crt"));
            byte[] key = Files.readAllBytes(certs.resolve("server.key"));
            Scripts.Result again = PgrelayJar.composeCerts(certs);
            assertThat(again.exitCode()).as(again.toString()).isZero();
            assertThat(again.output()).contains("already holds server.crt and server.key: keeping them");
            assertThat(Files.readAllBytes(certs.resolve("ca.crt"))).isEqualTo(ca);
            assertThat(Files.readAllBytes(certs.resolve("server.key"))).isEqualTo(key);

            // a primary as the container starts it, with the image's defaults /certs/server.crt, server.key, ca.crt
            Node n = s.node("primary").role("primary");
            n.env.put("PG_TLS_CERT_FILE", certs.resolve("server.crt").toString());
            n.env.put("PG_TLS_KEY_FILE", certs.resolve("server.key").toString());
            n.env.put("PG_TLS_CA_FILE", certs.resolve("ca.crt").toString());
            if (root) {
                s.startServerAsRoot(n, Map.of());
            } else {
                s.startServer(n, Map.of());
            }
            assertThat(n.tail()).contains("TLS on");
            Path copy = n.tlsDir.resolve("server.key");
            assertThat(Files.getPosixFilePermissions(copy)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
            if (root) {
                assertThat(Files.getOwner(copy).getName()).as("the postgres user's copy of the key")
                        .isEqualTo(ToolUser.name());
            }
            assertThat(n.value("SHOW ssl")).isEqualTo("on");
            assertThat(n.value("SHOW ssl_ca_file")).isEqualTo(n.tlsDir.resolve("ca.crt").toString());

            // verify-full against the generated CA, under each name a client in or outside compose uses
            for (String host : List.of("localhost", "primary", "standby1", "standby2")) {
                Scripts.Result r = psql(s, bins, conninfo(host, n.port, certs, "postgres", "postgres"),
                        Node.SUPERUSER_PASSWORD, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
                assertThat(r.exitCode()).as("%s: %s", host, r).isZero();
                assertThat(r.output().trim()).as(host).isEqualTo("t");
            }
            Scripts.Result wrongName = psql(s, bins, conninfo("elsewhere", n.port, certs, "postgres", "postgres"),
                    Node.SUPERUSER_PASSWORD, "SELECT 1");
            assertThat(wrongName.exitCode()).isNotZero();
            assertThat(wrongName.output()).contains("does not match host name \"elsewhere\"");

            // pg-rejoin in a new container (docker compose run): as root it copies the key before dropping to
            // postgres, who could not read the pgrelay user's file; here it then refuses (the server runs)
            if (root) {
                Path freshTls = s.base.resolve("tls-run");
                Scripts.Result rejoin = s.runAsIs(n, Map.of("PG_TLS_DIR", freshTls.toString(),
                        "PG_PRIMARY_HOST", "127.0.0.1", "PG_PRIMARY_PORT", Integer.toString(n.port)), "pg-rejoin");
                assertThat(rejoin.exitCode()).as(rejoin.toString()).isEqualTo(1);
                assertThat(rejoin.output()).contains("PostgreSQL is running on " + n.dataDir);
                assertThat(Files.getOwner(freshTls.resolve("server.key")).getName()).isEqualTo(ToolUser.name());
                assertThat(Files.readAllBytes(freshTls.resolve("server.key"))).isEqualTo(key);
            }

            // pgrelay with the image's config (tls_mode and server_tls_mode "prefer", /certs/server.*)
            int port = Scripts.freePort();
            int metricsPort = Scripts.freePort();
            String toml = PgrelayJar.imageConfig(port, metricsPort, certs, Map.of())
                    .replaceAll("(?m)^servers = .*$", "servers = [[\"127.0.0.1\", " + n.port + ", \"primary\"]]");
            assertThat(toml).contains("tls_mode = \"prefer\"", "server_tls_mode = \"prefer\"",
                    "tls_certificate = \"" + certs.resolve("server.crt") + "\"");
            Path config = s.base.resolve("pgrelay.toml");
            Files.writeString(config, toml);
            Path log = s.base.resolve("pgrelay.log");
            pgrelay = PgrelayJar.run(config, log);
            PgrelayJar.awaitHealthy(pgrelay, Map.of("PGRELAY_HEALTH_PORT", Integer.toString(metricsPort)), log);
            for (String host : List.of("localhost", "pgrelay")) {
                // the client's session to pgrelay verified; pgrelay's own to the primary encrypted ("prefer")
                Scripts.Result r = psql(s, bins, conninfo(host, port, certs, Node.APP_USER, Node.APP_DB),
                        Node.APP_PASSWORD, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
                assertThat(r.exitCode()).as("%s: %s\npgrelay log:\n%s", host, r, Scripts.tail(log)).isZero();
                assertThat(r.output().trim()).as("pgrelay to the primary over TLS").isEqualTo("t");
            }
            PgrelayJar.stop(pgrelay);
            pgrelay = null;
            s.stopServer(n, "fast");
        } finally {
            if (pgrelay != null) {
                PgrelayJar.stop(pgrelay);
            }
            s.close();
        }
    }

    /** verify-full for {@code host}, connecting to 127.0.0.1 (libpq checks the certificate against host). */
    private static String conninfo(String host, int port, Path certs, String user, String db) {
        return "host=" + host + " hostaddr=127.0.0.1 port=" + port + " user=" + user + " dbname=" + db
                + " sslmode=verify-full sslrootcert=" + certs.resolve("ca.crt") + " gssencmode=disable"
                + " connect_timeout=10";
    }

    private static Scripts.Result psql(Scripts s, PgBinaries bins, String conninfo, String password, String sql)
            throws Exception {
        ProcessBuilder pb = new ProcessBuilder(bins.tool("psql").toString(), "-X", "-At", "-d", conninfo, "-c", sql)
                .redirectErrorStream(true);
        Map<String, String> env = new HashMap<>();
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("HOME", s.base.toString());
        env.put("PGPASSWORD", password);
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("psql hung: " + out);
        }
        return new Scripts.Result(p.exitValue(), out);
    }
}
