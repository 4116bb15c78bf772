package io.pgrelay.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The pgrelay image's health check ({@code docker/pgrelay/pgrelay-healthcheck}: GET /metrics) against the real
 * pgrelay jar (metrics on, metrics off, stopped), and against fake listeners for answers pgrelay does not give.
 */
class PgrelayHealthcheckTest {
    private static Path dir;

    @BeforeAll
    static void makeDir() throws IOException {
        dir = Files.createTempDirectory("pgr-health-");
    }

    @AfterAll
    static void removeDir() throws IOException {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /** Runs the health check script with the given environment. */
    static Scripts.Result probe(Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(
                Scripts.repoRoot().resolve("docker/pgrelay/pgrelay-healthcheck").toString()).redirectErrorStream(true);
        Map<String, String> e = pb.environment();
        e.clear();
        e.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        e.putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("pgrelay-healthcheck hung: " + out);
        }
        return new Scripts.Result(p.exitValue(), out);
    }

    private static Map<String, String> port(int port) {
        return Map.of("PGRELAY_HEALTH_PORT", Integer.toString(port), "PGRELAY_HEALTH_TIMEOUT", "1");
    }

    /** A pgrelay with one pool whose server is not there (pgrelay connects to servers on demand). */
    private static Process pgrelay(String name, int port, int metricsPort, boolean metrics) throws IOException {
        Path config = dir.resolve(name + ".toml");
        Files.writeString(config, String.join("\n",
                "[general]",
                "host = \"127.0.0.1\"",
                "port = " + port,
                "enable_prometheus_exporter = " + metrics,
                "prometheus_exporter_port = " + metricsPort,
                "[pools.app.users.0]",
                "username = \"app\"",
                "password = \"app\"",
                "[pools.app.shards.0]",
                "database = \"app\"",
                "servers = [[\"127.0.0.1\", " + Scripts.freePort() + ", \"primary\"]]",
                ""));
        return PgrelayJar.run(config, dir.resolve(name + ".log"));
    }

    @Test
    void healthyWhilePgrelayServesMetricsAndUnhealthyOnceItStopped() throws Exception {
        int port = Scripts.freePort();
        int metricsPort = Scripts.freePort();
        Process p = pgrelay("metrics-on", port, metricsPort, true);
        try {
            PgrelayJar.awaitHealthy(p, port(metricsPort), dir.resolve("metrics-on.log"));
            Scripts.Result r = probe(port(metricsPort));
            assertThat(r.exitCode()).as(r.toString()).isZero();
            assertThat(r.output()).isEmpty();

            // pgrelay's PostgreSQL port is not the metrics endpoint
            Scripts.Result pg = probe(port(port));
            assertThat(pg.exitCode()).as(pg.toString()).isEqualTo(1);
            assertThat(pg.output()).contains("pgrelay-healthcheck: http://127.0.0.1:" + port + "/metrics answered \"",
                    "\", not HTTP");
        } finally {
            PgrelayJar.stop(p);
        }
        Scripts.Result down = probe(port(metricsPort));
        assertThat(down.exitCode()).as(down.toString()).isEqualTo(1);
        assertThat(down.output()).contains("pgrelay-healthcheck: nothing accepts connections on 127.0.0.1:"
                + metricsPort + ": pgrelay is not running, or not with enable_prometheus_exporter = true");
    }

    @Test
    void unhealthyWhenPgrelayRunsWithTheMetricsPortClosed() throws Exception {
        int port = Scripts.freePort();
        int metricsPort = Scripts.freePort();
        Process p = pgrelay("metrics-off", port, metricsPort, false);
        try {
            Path log = dir.resolve("metrics-off.log");
            // up: its PostgreSQL port accepts connections
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                try (Socket s = new Socket("127.0.0.1", port)) {
                    break;
                } catch (IOException notYet) {
                    assertThat(p.isAlive()).as("pgrelay runs; its log:\n%s", Scripts.tail(log)).isTrue();
                    assertThat(System.nanoTime()).as("pgrelay listens within 60 s").isLessThan(deadline);
                    Scripts.sleep(200);
                }
            }
            Scripts.Result r = probe(port(metricsPort));
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
            assertThat(r.output()).contains("pgrelay-healthcheck: nothing accepts connections on 127.0.0.1:"
                    + metricsPort + ": pgrelay is not running, or not with enable_prometheus_exporter = true and"
                    + " prometheus_exporter_port = " + metricsPort);
            assertThat(p.isAlive()).isTrue();
        } finally {
            PgrelayJar.stop(p);
        }
    }

    /** An HTTP listener that records the request and answers {@code response} (or nothing, when null). */
    private static final class Fake implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 10, InetAddress.getByName("127.0.0.1"));
        final List<String> requests = new ArrayList<>();

        Fake(String response) throws IOException {
            Thread thread = new Thread(() -> {
                while (!server.isClosed()) {
                    try (Socket s = server.accept()) {
                        InputStream in = s.getInputStream();
                        StringBuilder req = new StringBuilder();
                        while (!req.toString().endsWith("\r\n\r\n")) {
                            int b = in.read();
                            if (b < 0) {
                                break;
                            }
                            req.append((char) b);
                        }
                        synchronized (requests) {
                            requests.add(req.toString());
                        }
                        if (response != null) {
                            OutputStream out = s.getOutputStream();
                            out.write(response.getBytes(StandardCharsets.UTF_8));
                            out.flush();
                        } else {
                            in.read();   // silent until the prober goes away
                        }
                    } catch (IOException e) {
                        // closed
                    }
                }
            }, "fake-metrics");
            thread.setDaemon(true);
            thread.start();
        }

        Map<String, String> env() {
            Map<String, String> env = new HashMap<>(port(server.getLocalPort()));
            return env;
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    private static String http(String status, String body) {
        return "HTTP/1.1 " + status + "\r\ncontent-type: text/plain\r\ncontent-length: " + body.length()
                + "\r\n\r\n" + body;
    }

    @Test
    void sendsAnHttp10GetForMetrics() throws Exception {
        try (Fake fake = new Fake(http("200 OK", "# HELP x\npgrelay_pool_size{database=\"app\",user=\"app\"} 20.0\n"))) {
            Scripts.Result r = probe(fake.env());
            assertThat(r.exitCode()).as(r.toString()).isZero();
            synchronized (fake.requests) {
                assertThat(fake.requests.get(0)).startsWith("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1:"
                        + fake.server.getLocalPort() + "\r\n");
            }
        }
    }

    @Test
    void unhealthyOnAnotherStatus() throws Exception {
        try (Fake fake = new Fake(http("500 Internal Server Error", "scrape failed\n"))) {
            Scripts.Result r = probe(fake.env());
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.output()).contains("/metrics answered HTTP 500, not 200: scrape failed");
        }
    }

    @Test
    void unhealthyWithoutAPoolSeries() throws Exception {
        try (Fake fake = new Fake(http("200 OK", "# HELP jvm_threads_live_threads\njvm_threads_live_threads 9.0\n"
                + "pgrelay_bans_total 0.0\n"))) {
            Scripts.Result r = probe(fake.env());
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.output()).contains("/metrics has no pgrelay_pool_size series: pgrelay serves no pool");
        }
    }

    @Test
    void unhealthyWhenTheListenerDoesNotAnswer() throws Exception {
        try (Fake fake = new Fake(null)) {
            long t0 = System.nanoTime();
            Scripts.Result r = probe(fake.env());
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.output()).contains("http://127.0.0.1:" + fake.server.getLocalPort()
                    + "/metrics did not answer within 1 s");
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000);
        }
    }
}
