package io.pgrelay.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.ConfigSummary;
import io.pgrelay.config.PgRelayConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What can be checked of the compose setup without a Docker engine: docker-compose validates compose.yaml, the
 * Dockerfiles pass a linter, the scripts pass shellcheck, .env.example documents every variable, and the pgrelay
 * config the image mounts is valid. The linters come from .ci/run; on a machine without one, its check is skipped,
 * except in CI (CI=true), where a missing linter fails.
 */
class ComposeFilesTest {
    private static final Path ROOT = Scripts.repoRoot();

    record Run(int exitCode, String output) {
    }

    private static Run run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(cmd + " hung: " + out);
        }
        return new Run(p.exitValue(), out);
    }

    /** The tool's path; skips the test when it is missing, unless in CI, where .ci/run must have installed it. */
    private static String tool(String name, String installedBy) {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/local/bin:/usr/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name).toString();
            }
        }
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        assertThat(ci).as("%s is missing; .ci/run installs it (%s)", name, installedBy).isFalse();
        assumeTrue(false, name + " is not installed (" + installedBy + "): check skipped");
        return null;
    }

    private static List<Path> scripts() throws IOException {
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.list(ROOT.resolve("docker/postgres/bin"))) {
            s.sorted().forEach(all::add);
        }
        all.add(ROOT.resolve("docker/pgrelay/pgrelay-healthcheck"));
        all.add(ROOT.resolve("docker/pgrelay/pgrelay-certs"));
        // not a Docker script, but checked the same way: the side-by-side benchmark (bench/README.md)
        all.add(ROOT.resolve("bench/compare"));
        return all;
    }

    @Test
    void composeFileIsValidAndWiredAsDocumented() throws Exception {
        String compose = tool("docker-compose", "Debian package docker-compose");
        for (List<String> args : List.<List<String>>of(List.of(), List.of("--env-file", ".env.example"))) {
            List<String> cmd = new ArrayList<>(List.of(compose, "-f", "compose.yaml"));
            cmd.addAll(args);
            cmd.addAll(List.of("config", "-q"));
            Run r = run(cmd);
            assertThat(r.exitCode()).as("%s:\n%s", cmd, r.output()).isZero();
        }
        Run config = run(List.of(compose, "-f", "compose.yaml", "--env-file", ".env.example", "config"));
        assertThat(config.exitCode()).as(config.output()).isZero();
        JsonNode services = new ObjectMapper(new YAMLFactory()).readTree(config.output()).path("services");

        for (String pg : List.of("primary", "standby1", "standby2")) {
            JsonNode s = services.path(pg);
            assertThat(s.path("healthcheck").path("test").toString()).as(pg).contains("pg-healthcheck");
            assertThat(s.path("environment").path("PG_NODE_NAME").asText()).isEqualTo(pg);
            assertThat(s.path("environment").path("PG_ROLE").asText()).isEqualTo(pg.equals("primary") ? "primary" : "standby");
            assertThat(s.path("volumes").toString()).contains(pg + "-data", "/var/lib/postgresql/data", "/certs", "/backups");
            if (!pg.equals("primary")) {
                assertThat(s.path("depends_on").path("primary").path("condition").asText()).isEqualTo("service_healthy");
                assertThat(s.path("environment").path("PG_PRIMARY_HOST").asText()).isEqualTo("primary");
            }
        }
        for (String pg : List.of("primary", "standby1", "standby2")) {
            // ssl on from the certificates the one-shot certs service writes first
            assertThat(services.path(pg).path("depends_on").path("certs").path("condition").asText()).as(pg)
                    .isEqualTo("service_completed_successfully");
            assertThat(services.path(pg).path("volumes").toString()).as(pg).contains("certs:/certs:ro");
        }
        JsonNode certs = services.path("certs");
        assertThat(certs.path("image").asText()).isEqualTo("pgrelay/pgrelay:dev");
        assertThat(certs.path("entrypoint").toString()).isEqualTo("[\"pgrelay-certs\"]");
        assertThat(certs.path("command").toString()).startsWith("[\"/certs\",\"--host\",")
                .contains("primary", "standby1", "standby2", "pgrelay");
        assertThat(certs.path("restart").asText()).isEqualTo("no");
        assertThat(certs.path("volumes").toString()).contains("certs:/certs:rw");
        JsonNode pgrelay = services.path("pgrelay");
        assertThat(pgrelay.path("depends_on").path("certs").path("condition").asText())
                .isEqualTo("service_completed_successfully");
        assertThat(pgrelay.path("volumes").toString()).contains("certs:/certs:ro");
        assertThat(pgrelay.path("healthcheck").path("test").toString()).contains("pgrelay-healthcheck");
        assertThat(pgrelay.path("depends_on").path("primary").path("condition").asText()).isEqualTo("service_healthy");
        assertThat(pgrelay.path("ports").toString()).contains("127.0.0.1:6432:6432", "127.0.0.1:9930:9930");
        assertThat(pgrelay.path("volumes").toString()).contains("/etc/pgrelay/pgrelay.toml");
        for (String m : List.of("prometheus", "grafana")) {
            assertThat(services.path(m).path("profiles").toString()).isEqualTo("[\"monitoring\"]");
            assertThat(services.path(m).path("image").asText()).doesNotEndWith(":latest").contains(":");
        }
    }

    @Test
    void envExampleDocumentsExactlyTheVariablesComposeUses() throws IOException {
        Set<String> used = new TreeSet<>();
        Matcher m = Pattern.compile("\\$\\{([A-Z0-9_]+)").matcher(Files.readString(ROOT.resolve("compose.yaml")));
        while (m.find()) {
            used.add(m.group(1));
        }
        Set<String> documented = new TreeSet<>();
        List<String> lines = Files.readAllLines(ROOT.resolve(".env.example"));
        for (int i = 0; i < lines.size(); i++) {
            Matcher v = Pattern.compile("^([A-Z0-9_]+)=(.*)$").matcher(lines.get(i));
            if (v.matches()) {
                documented.add(v.group(1));
                int above = i - 1;   // variables of one group share their comment
                while (above > 0 && lines.get(above).matches("^[A-Z0-9_]+=.*")) {
                    above--;
                }
                assertThat(lines.get(above)).as("a comment above %s says what it is", v.group(1)).startsWith("#");
                assertThat(v.group(2)).as("%s: no quotes (docker-compose v1 keeps them)", v.group(1))
                        .doesNotContain("\"", "'");
            }
        }
        assertThat(documented).isEqualTo(used);
    }

    @Test
    void dockerfilesPassTheLinter() throws Exception {
        String lint = tool("dockerfilelint", "npm package dockerfilelint");
        for (String f : List.of("docker/postgres/Dockerfile", "docker/pgrelay/Dockerfile")) {
            Run r = run(List.of(lint, f));
            assertThat(r.exitCode()).as("%s:\n%s", f, r.output()).isZero();
        }
    }

    @Test
    void scriptsPassShellcheck() throws Exception {
        String shellcheck = tool("shellcheck", "Debian package shellcheck");
        List<String> cmd = new ArrayList<>(List.of(shellcheck, "-x"));
        for (Path p : scripts()) {
            cmd.add(ROOT.relativize(p).toString());
        }
        Run r = run(cmd);
        assertThat(r.exitCode()).as(r.output()).isZero();
    }

    @Test
    void scriptsAreExecutableBashWithStrictMode() throws IOException {
        for (Path p : scripts()) {
            String text = Files.readString(p);
            if (p.getFileName().toString().equals("pg-lib.sh")) {
                assertThat(text).startsWith("# shellcheck shell=bash");
                continue;
            }
            assertThat(Files.isExecutable(p)).as(p + " executable").isTrue();
            assertThat(text).as(p.toString()).startsWith("#!/usr/bin/env bash\n").contains("\nset -euo pipefail\n");
        }
    }

    @Test
    void theImagesPgrelayConfigIsValid() throws Exception {
        // its TLS files must exist: those the certs service writes, in a directory standing for /certs
        Path dir = Files.createTempDirectory("pgr-compose-");
        try {
            Scripts.Result certs = PgrelayJar.composeCerts(dir.resolve("certs"));
            assertThat(certs.exitCode()).as(certs.toString()).isZero();
            String toml = Files.readString(ROOT.resolve("docker/pgrelay/pgrelay.toml"));
            assertThat(toml).contains("tls_certificate = \"/certs/server.crt\"",
                    "tls_private_key = \"/certs/server.key\"");
            Path local = dir.resolve("pgrelay.toml");
            Files.writeString(local, toml.replace("\"/certs/", "\"" + dir.resolve("certs") + "/"));
            PgRelayConfig config = ConfigLoader.load(local);
            String summary = ConfigSummary.describe(config);
            assertThat(summary).contains("6432", "primary:5432", "standby1:5432", "standby2:5432");
            assertThat(config.pools()).containsOnlyKeys("app");
            assertThat(config.security().tlsMode().configName()).isEqualTo("prefer");
            assertThat(config.security().serverTlsMode().configName()).isEqualTo("prefer");
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
