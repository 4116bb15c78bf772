package io.pgrelay.docker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What the pgrelay image runs, run here with this checkout's {@code proxy/target/pgrelay.jar} (built by the reactor
 * before this module): the image's ENTRYPOINT with {@code run --config}, and compose.yaml's one-shot "certs" service.
 */
final class PgrelayJar {
    private PgrelayJar() {
    }

    static Path jar() {
        Path jar = Scripts.repoRoot().resolve("proxy/target/pgrelay.jar");
        assertThat(jar).as("the pgrelay image's jar (built by the proxy module first)").exists();
        return jar;
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** The image's ENTRYPOINT and CMD with another config file; output goes to {@code log}. */
    static Process run(Path config, Path log) throws IOException {
        return new ProcessBuilder(java(), "-XX:MaxRAMPercentage=75", "-jar", jar().toString(), "run",
                "--config", config.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.to(log.toFile())).start();
    }

    /** Waits until the image's health check passes against {@code probeEnv}, failing if pgrelay exits first. */
    static void awaitHealthy(Process pgrelay, Map<String, String> probeEnv, Path log) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        Scripts.Result last;
        while ((last = PgrelayHealthcheckTest.probe(probeEnv)).exitCode() != 0) {
            assertThat(pgrelay.isAlive()).as("pgrelay runs; its log:\n%s", Scripts.tail(log)).isTrue();
            assertThat(System.nanoTime()).as("pgrelay healthy within 60 s; last check: %s; log:\n%s", last,
                    Scripts.tail(log)).isLessThan(deadline);
            Scripts.sleep(200);
        }
    }

    /** SIGTERM, as docker stop, and waits for the exit. */
    static void stop(Process pgrelay) throws InterruptedException {
        pgrelay.destroy();
        if (!pgrelay.waitFor(30, TimeUnit.SECONDS)) {
            pgrelay.destroyForcibly();
            pgrelay.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** compose.yaml's "certs" service as written there (raw file, Jackson's YAML parser). */
    static JsonNode composeCertsService() throws IOException {
        JsonNode compose = new ObjectMapper(new YAMLFactory())
                .readTree(Files.readString(Scripts.repoRoot().resolve("compose.yaml")));
        JsonNode certs = compose.path("services").path("certs");
        assertThat(certs.isObject()).as("compose.yaml has a certs service").isTrue();
        return certs;
    }

    /**
     * Runs compose.yaml's "certs" service the way the container does (its entrypoint script from docker/pgrelay,
     * its command, as the current user, which in CI is root as in the container), with this checkout's jar and
     * {@code dir} in place of the volume mounted at /certs.
     */
    static Scripts.Result composeCerts(Path dir) throws IOException, InterruptedException {
        JsonNode service = composeCertsService();
        List<String> cmd = new ArrayList<>();
        for (JsonNode part : service.path("entrypoint")) {
            cmd.add(part.asText());
        }
        assertThat(cmd).as("the certs service's entrypoint").containsExactly("pgrelay-certs");
        cmd.set(0, Scripts.repoRoot().resolve("docker/pgrelay/pgrelay-certs").toString());
        assertThat(service.path("volumes").toString()).as("the certs volume at /certs").contains(":/certs\"");
        for (JsonNode part : service.path("command")) {
            String arg = part.asText();
            cmd.add(arg.equals("/certs") ? dir.toString()
                    : arg.startsWith("/certs/") ? dir.resolve(arg.substring(7)).toString() : arg);
        }
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("PGRELAY_JAR", jar().toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(cmd + " hung: " + out);
        }
        return new Scripts.Result(p.exitValue(), out);
    }

    /**
     * docker/pgrelay/pgrelay.toml as compose mounts it, with local ports, {@code certs} for /certs, and the
     * compose service names replaced by what {@code servers} maps them to ("name" to "host\", port").
     */
    static String imageConfig(int port, int metricsPort, Path certs, Map<String, String> servers) throws IOException {
        String toml = Files.readString(Scripts.repoRoot().resolve("docker/pgrelay/pgrelay.toml"))
                .replace("port = 6432", "port = " + port)
                .replace("prometheus_exporter_port = 9930", "prometheus_exporter_port = " + metricsPort)
                .replace("\"/certs/", "\"" + certs + "/");
        for (Map.Entry<String, String> e : servers.entrySet()) {
            toml = toml.replace("[\"" + e.getKey() + "\", 5432,", "[\"" + e.getValue() + ",");
        }
        return toml;
    }
}
