package io.pgrelay.proxy.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Debian's prometheus-pgbouncer-exporter, pointed at pgrelay's admin console, exports pool and stats metrics
 * without errors (runs when the package is installed; .ci/run installs it).
 */
class AdminExporterIT {
    private static final Path EXPORTER = Path.of("/usr/bin/prometheus-pgbouncer-exporter");
    private static TestProxy proxy;

    @BeforeAll
    static void start() {
        Assumptions.assumeTrue(Files.isExecutable(EXPORTER), "prometheus-pgbouncer-exporter is not installed");
        proxy = TestProxy.start(AdminIT.config(SharedCluster.get(), 3, ""));
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    @Test
    void exporterReadsPoolsAndStats() throws Exception {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            for (int i = 0; i < 3; i++) {
                st.execute("select " + i);
            }
            int port = TestProxy.freePort();
            ProcessBuilder pb = new ProcessBuilder(List.of(EXPORTER.toString(), "--host", "127.0.0.1",
                    "--port", Integer.toString(port), "--pgbouncer-host", "127.0.0.1",
                    "--pgbouncer-port", Integer.toString(proxy.port()), "--pgbouncer-user", "admin"))
                    .redirectErrorStream(true);
            pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
            pb.environment().put("PGPASSWORD", "adminpw");
            Process p = pb.start();
            StringBuffer out = new StringBuffer();
            Thread reader = new Thread(() -> {
                try {
                    out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
                } catch (java.io.IOException ignored) {
                    // gone
                }
            });
            reader.setDaemon(true);
            reader.start();
            try {
                HttpClient http = HttpClient.newHttpClient();
                HttpResponse<String> res = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (System.nanoTime() < deadline && p.isAlive()) {
                    try {
                        res = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                                .build(), HttpResponse.BodyHandlers.ofString());
                        break;
                    } catch (java.io.IOException notYet) {
                        Thread.sleep(200);
                    }
                }
                assertThat(res).as("exporter answered; its output:\n%s", out).isNotNull();
                assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
                assertThat(res.body())
                        .contains("pgbouncer_active_clients{database=\"app\",user=\"app\"} 1.0")
                        .contains("pgbouncer_waiting_clients{database=\"app\",user=\"app\"}")
                        .containsPattern("pgbouncer_requests_total\\{database=\"app\"\\} [1-9]")
                        .contains("pgbouncer_received_bytes_total{database=\"app\"}")
                        .contains("pgbouncer_pool_size{database=\"app\"} 3.0")
                        .contains("pgbouncer_databases 1.0");
            } finally {
                p.toHandle().destroy(); // SIGTERM; Process.destroy() would close our end of its output
                p.waitFor(10, TimeUnit.SECONDS);
                reader.join(5000);
            }
            assertThat(out.toString()).contains("Listing on port").doesNotContain("Traceback").doesNotContain("ERROR");
        }
    }
}
