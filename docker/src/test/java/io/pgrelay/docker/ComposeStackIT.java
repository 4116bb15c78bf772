package io.pgrelay.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.ComposeContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The whole compose.yaml, images built from this checkout, brought up with the local {@code docker compose}:
 * queries through pgrelay reach the primary and replicate to both standbys. Runs wherever Docker runs; skipped
 * elsewhere (CI here has no Docker engine: {@link ClusterScriptsIT} runs the same scripts without it).
 */
@Testcontainers(disabledWithoutDocker = true)
class ComposeStackIT {
    private static final int PGRELAY_PORT = freePort();

    @Container
    static final ComposeContainer STACK = new ComposeContainer(new File(Scripts.repoRoot().toFile(), "compose.yaml"))
            .withBuild(true)
            .withEnv(Map.of("PGRELAY_PORT", Integer.toString(PGRELAY_PORT),
                    "PGRELAY_METRICS_PORT", Integer.toString(freePort())))
            .waitingFor("primary-1", Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(5)))
            .waitingFor("standby1-1", Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(5)))
            .waitingFor("standby2-1", Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(5)))
            .waitingFor("pgrelay-1", Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(10)))
            .withRemoveVolumes(true);

    private static int freePort() {
        try {
            return Scripts.freePort();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void queriesThroughPgrelayReachThePrimaryAndReplicate() throws Exception {
        Properties p = new Properties();
        p.setProperty("user", "app");
        p.setProperty("password", "app");
        // TLS from the certs service: to pgrelay, and from pgrelay to the primary
        p.setProperty("sslmode", "require");
        try (Connection c = new org.postgresql.Driver().connect(
                "jdbc:postgresql://127.0.0.1:" + PGRELAY_PORT + "/app", p); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery(), count(*) FROM sessions")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getBoolean(1)).isFalse();
            }
            try (ResultSet rs = st.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getBoolean(1)).as("pgrelay's connection to the server encrypted").isTrue();
            }
            st.execute("INSERT INTO sessions (id, expires_at) VALUES ('compose', now() + interval '1 day')");
        }
        for (String standby : new String[] {"standby1", "standby2"}) {
            String out = "";
            for (int i = 0; i < 50 && !out.contains("compose"); i++) {
                out = STACK.getContainerByServiceName(standby + "-1").orElseThrow()
                        .execInContainer("psql", "-U", "postgres", "-d", "app", "-Atc",
                                "SELECT id FROM sessions WHERE id = 'compose'").getStdout();
                Thread.sleep(200);
            }
            assertThat(out).as(standby).contains("compose");
        }
    }
}
