package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** /metrics over HTTP: valid Prometheus text with the series the issue lists, moving as queries run. */
class MetricsIT {
    /** A sample line: name, optional {labels}, value (Prometheus text format 0.0.4). */
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\]|\\\\.)*\",?)*\\})? "
                    + "(-?[0-9.eE+-]+|NaN|[+-]Inf)( -?[0-9]+)?");
    private static final Pattern META = Pattern.compile("# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .*");

    private static LocalCluster cluster;
    private static TestProxy proxy;
    private static int metricsPort;

    @BeforeAll
    static void start() {
        cluster = SharedCluster.get();
        metricsPort = TestProxy.freePort();
        proxy = TestProxy.start(AdminIT.config(cluster, 3, "enable_prometheus_exporter = true\n"
                + "prometheus_exporter_port = " + metricsPort + "\n"));
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    private static HttpResponse<String> get(String path) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + metricsPort + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Parses the exposition: every line a comment or a sample; samples keyed by name{labels}. */
    static Map<String, Double> parse(String text) {
        Map<String, Double> samples = new HashMap<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("#")) {
                assertThat(META.matcher(line).matches()).as("comment line: %s", line).isTrue();
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.matches()).as("sample line: %s", line).isTrue();
            samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(
                    m.group(3).replace("+Inf", "Infinity").replace("-Inf", "-Infinity")));
        }
        return samples;
    }

    private static Set<String> names(Map<String, Double> samples) {
        Set<String> names = new HashSet<>();
        for (String k : samples.keySet()) {
            int brace = k.indexOf('{');
            names.add(brace < 0 ? k : k.substring(0, brace));
        }
        return names;
    }

    private static double sum(Map<String, Double> samples, String name, String... labelParts) {
        double total = 0;
        for (Map.Entry<String, Double> e : samples.entrySet()) {
            String k = e.getKey();
            if (!k.equals(name) && !k.startsWith(name + "{")) {
                continue;
            }
            boolean all = true;
            for (String part : labelParts) {
                all &= k.contains(part);
            }
            if (all) {
                total += e.getValue();
            }
        }
        return total;
    }

    @Test
    void metricsParseAndHoldTheSeries() throws Exception {
        Map<String, Double> before = parse(get("/metrics").body());
        try (Connection c = proxy.connect("app", "app")) {
            try (Statement st = c.createStatement()) {
                for (int i = 0; i < 5; i++) {
                    st.execute("select " + i);
                }
                assertThatThrownBy(() -> st.execute("select 1/0")).isInstanceOf(SQLException.class);
            }
            c.setAutoCommit(false); // one transaction: the named statement and its Binds stay on one server
            try (PreparedStatement ps = c.prepareStatement("select ?::int")) {
                for (int i = 0; i < 8; i++) { // past JDBC's prepareThreshold: a named server statement
                    ps.setInt(1, i);
                    ps.executeQuery().close();
                }
            }
            c.commit();
            c.setAutoCommit(true);
            HttpResponse<String> res = get("/metrics");
            assertThat(res.statusCode()).isEqualTo(200);
            assertThat(res.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
            Map<String, Double> after = parse(res.body());
            assertThat(names(after)).contains(
                    "pgrelay_clients", "pgrelay_servers", "pgrelay_pool_size",
                    "pgrelay_transactions_seconds_count", "pgrelay_transactions_seconds_bucket",
                    "pgrelay_queries_seconds_count", "pgrelay_queries_seconds_bucket",
                    "pgrelay_client_received_bytes_total", "pgrelay_client_sent_bytes_total",
                    "pgrelay_client_wait_seconds_count", "pgrelay_errors_total",
                    "pgrelay_routing_decisions_total", "pgrelay_prepared_cache_hits_total",
                    "pgrelay_prepared_cache_misses_total", "pgrelay_bans_total", "pgrelay_failovers_total",
                    "pgrelay_server_up", "pgrelay_server_probe_latency_seconds", "pgrelay_replication_lag_bytes",
                    "pgrelay_replication_lag_time_seconds",
                    "jvm_memory_used_bytes", "jvm_threads_live_threads", "jvm_gc_memory_allocated_bytes_total");
            String pool = "database=\"app\"";
            assertThat(sum(after, "pgrelay_clients", pool, "state=\"active\"", "user=\"app\"")).isEqualTo(1);
            assertThat(sum(after, "pgrelay_transactions_seconds_count", pool)
                    - sum(before, "pgrelay_transactions_seconds_count", pool)).isGreaterThanOrEqualTo(6);
            assertThat(sum(after, "pgrelay_errors_total", pool, "class=\"22\"")).isEqualTo(1);
            assertThat(sum(after, "pgrelay_prepared_cache_hits_total", pool)
                    + sum(after, "pgrelay_prepared_cache_misses_total", pool)).isPositive();
            assertThat(sum(after, "pgrelay_queries_seconds_bucket", pool, "le=\"+Inf\""))
                    .isEqualTo(sum(after, "pgrelay_queries_seconds_count", pool)).isPositive();
            assertThat(sum(after, "pgrelay_server_up", "role=\"primary\"")).isEqualTo(1);
        }
        assertThat(get("/nope").statusCode()).isEqualTo(404);
    }
}
