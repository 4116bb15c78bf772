package io.pgrelay.config;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** worker_threads (pgcat's name): how many event-loop threads serve clients and servers. */
class ConfigWorkerThreadsTest {
    private static final String POOL = "\n[pools.app]\n[pools.app.users.0]\nusername = \"app\"\npassword = \"app\"\n"
            + "[pools.app.shards.0]\ndatabase = \"app\"\nservers = [[\"127.0.0.1\", 5432, \"primary\"]]\n";

    @Test
    void unsetMeansHalfTheCpus() throws ConfigException {
        PgRelayConfig c = ConfigLoader.parse("[general]" + POOL, "t.toml");
        assertThat(c.workerThreads()).isZero();
        assertThat(c.ioThreads()).isEqualTo(PgRelayConfig.defaultIoThreads(Runtime.getRuntime().availableProcessors()));
        assertThat(c.warnings()).isEmpty();
        assertThat(PgRelayConfig.defaultIoThreads(1)).isEqualTo(1);
        assertThat(PgRelayConfig.defaultIoThreads(2)).isEqualTo(1);
        assertThat(PgRelayConfig.defaultIoThreads(3)).isEqualTo(1);
        assertThat(PgRelayConfig.defaultIoThreads(4)).isEqualTo(2);
        assertThat(PgRelayConfig.defaultIoThreads(16)).isEqualTo(8);
    }

    @Test
    void aCountIsTaken() throws ConfigException {
        PgRelayConfig c = ConfigLoader.parse("[general]\nworker_threads = 1" + POOL, "t.toml");
        assertThat(c.workerThreads()).isEqualTo(1);
        assertThat(c.ioThreads()).isEqualTo(1);
        assertThat(c.warnings()).as("no longer an ignored pgcat key").isEmpty();
    }

    @Test
    void badValuesNameTheLine() {
        assertThatThrownBy(() -> ConfigLoader.parse("[general]\nworker_threads = -2" + POOL, "t.toml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("t.toml:2: general.worker_threads: must be between 0 and 1024, got -2");
        assertThatThrownBy(() -> ConfigLoader.parse("[general]\nworker_threads = \"four\"" + POOL, "t.toml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("t.toml:2: general.worker_threads");
    }
}
