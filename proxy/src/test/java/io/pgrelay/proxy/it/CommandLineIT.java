package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.proxy.tls.DevCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The commands as a user runs them: the runnable jar with a pgcat-style file, and the README's
 * {@code bin/pgrelay demo}, driven with psql.
 */
class CommandLineIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final Path JAR = ROOT.resolve("proxy/target/pgrelay.jar");

    @Test
    void runServesAPgcatStyleFileUntilSigterm(@TempDir Path dir) throws Exception {
        LocalCluster cluster = SharedCluster.get();
        int port = TestProxy.freePort();
        Path config = dir.resolve("pgcat.toml");
        Files.writeString(config, String.join("\n",
                "[general]",
                "host = \"127.0.0.1\"",
                "port = " + port,
                "admin_username = \"admin\"",
                "admin_password = \"admin\"",
                "healthcheck_timeout = 1000",
                "ban_time = 60",
                "[pools.app]",
                "pool_mode = \"transaction\"",
                "query_parser_enabled = true",
                "[pools.app.users.0]",
                "username = \"app\"",
                "password = \"app\"",
                "pool_size = 5",
                "[pools.app.shards.0]",
                "database = \"app\"",
                "servers = " + TestProxy.servers(cluster),
                ""));
        Process p = start(List.of(java(), "-jar", JAR.toString(), "run", "--config", config.toString()));
        try {
            waitForLine(p, "pgrelay listening on 127.0.0.1:" + port, 30);
            Psql.Result r = Psql.run("postgresql://app:app@127.0.0.1:" + port + "/app", Map.of(),
                    "select 40 + 2");
            assertThat(r.stderr()).isEmpty();
            assertThat(r.stdout().trim()).isEqualTo("42");
        } finally {
            p.toHandle().destroy(); // SIGTERM; Process.destroy() would also close our end of its output
        }
        assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("pgrelay stops on SIGTERM").isTrue();
        assertThat(output(p)).as("exit code %d", p.exitValue()).contains("pgrelay stopped");
    }

    @Test
    void runReloadsCertificatesOnSighup(@TempDir Path dir) throws Exception {
        LocalCluster cluster = SharedCluster.get();
        int port = TestProxy.freePort();
        Path certs = dir.resolve("certs");
        DevCertificates.generate(certs, List.of(), "app", Duration.ofDays(2));
        Path oldCa = dir.resolve("old-ca.crt");
        Files.copy(certs.resolve("ca.crt"), oldCa);
        Path config = dir.resolve("pgrelay.toml");
        Files.writeString(config, appConfig(port, cluster, 2,
                "tls_mode = \"require\"",
                "tls_certificate = \"" + certs.resolve("server.crt") + "\"",
                "tls_private_key = \"" + certs.resolve("server.key") + "\""));
        String url = "postgresql://app:app@localhost:" + port + "/app?sslmode=verify-full&sslrootcert=";
        Process p = start(List.of(java(), "-jar", JAR.toString(), "run", "--config", config.toString()));
        try {
            waitForLine(p, "pgrelay listening on 127.0.0.1:" + port, 30);
            assertThat(Psql.run(url + oldCa, Map.of(), "select 1").exitCode()).isZero();
            Path fresh = dir.resolve("new");
            DevCertificates.generate(fresh, List.of(), "app", Duration.ofDays(2));
            for (String f : new String[] {"server.crt", "server.key", "ca.crt"}) {
                Files.copy(fresh.resolve(f), certs.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            Process hup = new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start();
            assertThat(hup.waitFor(10, TimeUnit.SECONDS) && hup.exitValue() == 0).isTrue();
            waitForLine(p, "reload: config " + config + " applied", 30);
            Psql.Result old = Psql.run(url + oldCa, Map.of(), "select 1");
            assertThat(old.exitCode()).isNotZero();
            assertThat(old.stderr()).contains("certificate verify failed");
            Psql.Result r = Psql.run(url + fresh.resolve("ca.crt"), Map.of(), "select 'renewed'");
            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout()).isEqualTo("renewed\n");
        } finally {
            p.toHandle().destroy();
        }
        assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("pgrelay stops on SIGTERM").isTrue();
        assertThat(output(p)).contains("SIGHUP: reloading the config").doesNotContain("not reloaded");
    }

    @Test
    void runUnderNohupSaysSighupWillNotReload(@TempDir Path dir) throws Exception {
        LocalCluster cluster = SharedCluster.get();
        int port = TestProxy.freePort();
        Path config = dir.resolve("pgrelay.toml");
        Files.writeString(config, appConfig(port, cluster, 1));
        // nohup execs java with SIGHUP ignored, which the JVM then leaves ignored.
        Process p = start(List.of("nohup", java(), "-jar", JAR.toString(), "run", "--config", config.toString()));
        try {
            List<String> seen = waitForLine(p, "pgrelay listening on 127.0.0.1:" + port, 30);
            assertThat(seen).anySatisfy(line -> assertThat(line)
                    .contains("SIGHUP was ignored when pgrelay started (nohup?): it will not reload the config"));
            assertThat(seen).noneMatch(line -> line.contains("SIGTERM was ignored"));
        } finally {
            p.toHandle().destroy();
        }
        assertThat(p.waitFor(15, TimeUnit.SECONDS)).as("pgrelay stops on SIGTERM").isTrue();
    }

    @Test
    void runRefusesAnInvalidConfig(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("bad.toml");
        Files.writeString(config, "[general]\nport = 70000\n");
        Process p = start(List.of(java(), "-jar", JAR.toString(), "run", "--config", config.toString()));
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(1);
        assertThat(output(p)).contains(config + ":2: general.port:").contains("not starting");
    }

    @Test
    void demoServesPsqlWithDefaultsAndCleansUpOnSigterm() throws Exception {
        int port = TestProxy.freePort();
        Process p = start(List.of(ROOT.resolve("bin/pgrelay").toString(), "demo", "--port", Integer.toString(port)));
        String removed;
        try {
            List<String> lines = waitForLine(p, "Ctrl-C stops pgrelay and the cluster and removes ", 120);
            String last = lines.get(lines.size() - 1);
            removed = last.substring(last.indexOf("removes ") + "removes ".length()).trim();
            assertThat(String.join("\n", lines))
                    .contains("psql postgresql://app:app@localhost:" + port + "/app")
                    .contains("jdbc:postgresql://localhost:" + port + "/app");
            assertThat(Path.of(removed)).isDirectory();
            // The README's command, with psql's default sslmode and gssencmode.
            Psql.Result r = Psql.run("postgresql://app:app@localhost:" + port + "/app", Map.of(), "select 1");
            assertThat(r.stderr()).isEmpty();
            assertThat(r.stdout().trim()).isEqualTo("1");
        } finally {
            p.toHandle().destroy();
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("demo stops on SIGTERM").isTrue();
        assertThat(Path.of(removed)).doesNotExist();
    }

    @Test
    void demoWithTlsServesVerifyFullPsql() throws Exception {
        int port = TestProxy.freePort();
        Process p = start(List.of(ROOT.resolve("bin/pgrelay").toString(), "demo", "--tls", "--port",
                Integer.toString(port)));
        String removed;
        try {
            List<String> lines = waitForLine(p, "Ctrl-C stops pgrelay and the cluster and removes ", 120);
            String last = lines.get(lines.size() - 1);
            removed = last.substring(last.indexOf("removes ") + "removes ".length()).trim();
            // The printed TLS command names the demo's CA, inside the directory removed at the end.
            String tlsLine = lines.stream().filter(l -> l.contains("sslmode=verify-full")).findFirst()
                    .orElseThrow(() -> new AssertionError("no verify-full line in:\n" + String.join("\n", lines)));
            assertThat(tlsLine).contains("postgresql://app:app@localhost:" + port + "/app?");
            String rootCert = tlsLine.substring(tlsLine.indexOf("sslrootcert=") + "sslrootcert=".length())
                    .replaceAll("'.*$", "").trim();
            assertThat(Path.of(rootCert)).isRegularFile().startsWith(Path.of(removed));
            assertThat(String.join("\n", lines))
                    .contains("psql postgresql://admin:admin@localhost:" + port + "/pgbouncer");

            String url = "postgresql://app:app@localhost:" + port + "/app?sslmode=verify-full&sslrootcert=" + rootCert;
            Psql.Result r = Psql.run(url, Map.of(), "select 1", "\\conninfo");
            assertThat(r.exitCode()).as(r.stderr()).isZero();
            assertThat(r.stdout()).startsWith("1\n").contains("SSL connection (protocol: TLSv1.3");
            Psql.Result bound = Psql.run(url + "&channel_binding=require", Map.of(), "select 'bound'");
            assertThat(bound.exitCode()).as(bound.stderr()).isZero();
            assertThat(bound.stdout()).isEqualTo("bound\n");
            // The demo's tls_mode is prefer: plaintext still works, as the first psql line promises.
            Psql.Result plain = Psql.run("postgresql://app:app@localhost:" + port + "/app?sslmode=disable", Map.of(),
                    "select 'plain'");
            assertThat(plain.exitCode()).as(plain.stderr()).isZero();
            // The admin console the demo prints, over TLS too.
            Psql.Result admin = Psql.run("postgresql://admin:admin@localhost:" + port
                    + "/pgbouncer?sslmode=verify-full&sslrootcert=" + rootCert, Map.of(), "SHOW VERSION");
            assertThat(admin.exitCode()).as(admin.stderr()).isZero();
            assertThat(admin.stdout()).contains("pgrelay");
        } finally {
            p.toHandle().destroy(); // SIGTERM to the java process (bin/pgrelay execs it)
        }
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("demo stops on SIGTERM").isTrue();
        assertThat(Path.of(removed)).as("the demo's directory, certificates and keys included").doesNotExist();
        assertThat(output(p)).contains("cluster stopped").contains("pgrelay stopped");
    }

    /** A config with one transaction-mode pool "app" (user app/app) on the cluster; extra lines go in [general]. */
    private static String appConfig(int port, LocalCluster cluster, int poolSize, String... general) {
        List<String> lines = new ArrayList<>(List.of("[general]", "host = \"127.0.0.1\"", "port = " + port));
        lines.addAll(List.of(general));
        lines.addAll(List.of("[pools.app]", "pool_mode = \"transaction\"", "[pools.app.users.0]",
                "username = \"app\"", "password = \"app\"", "pool_size = " + poolSize, "[pools.app.shards.0]",
                "database = \"app\"", "servers = " + TestProxy.servers(cluster), ""));
        return String.join("\n", lines);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private final Map<Process, Thread> readers = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<Process, StringBuffer> outputs = new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<Process, LinkedBlockingQueue<String>> lines = new java.util.concurrent.ConcurrentHashMap<>();

    private Process start(List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        StringBuffer all = new StringBuffer();
        LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
        outputs.put(p, all);
        lines.put(p, queue);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    all.append(line).append('\n');
                    queue.add(line);
                }
            } catch (IOException ignored) {
                // process gone
            }
        }, "output-of-" + cmd.get(0));
        reader.setDaemon(true);
        reader.start();
        readers.put(p, reader);
        return p;
    }

    private List<String> waitForLine(Process p, String needle, int seconds) throws InterruptedException {
        List<String> seen = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            String line = lines.get(p).poll(200, TimeUnit.MILLISECONDS);
            if (line != null) {
                seen.add(line);
                if (line.contains(needle)) {
                    return seen;
                }
            } else if (!p.isAlive()) {
                break;
            }
        }
        throw new AssertionError("no line containing \"" + needle + "\" within " + seconds + " s; output:\n"
                + output(p));
    }

    /** Everything the process printed; waits for the end of its output once it has exited. */
    private String output(Process p) throws InterruptedException {
        if (!p.isAlive()) {
            readers.get(p).join(5000);
        }
        return outputs.get(p).toString();
    }
}
