package io.pgrelay.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigHealthTest {
    private static final String POOL = "\n[pools.app]\n[pools.app.users.0]\nusername = \"app\"\npassword = \"app\"\n"
            + "[pools.app.shards.0]\ndatabase = \"app\"\nservers = [[\"127.0.0.1\", 5432, \"primary\"]]\n";

    @Test
    void defaults() throws ConfigException {
        HealthConfig h = ConfigLoader.parse("[general]" + POOL, "t.toml").health();
        assertThat(h).isEqualTo(new HealthConfig(Duration.ofSeconds(1), Duration.ofSeconds(1), 3,
                Duration.ofSeconds(60), Duration.ofSeconds(30), false, Duration.ofSeconds(10)));
    }

    @Test
    void valuesAreRead() throws ConfigException {
        HealthConfig h = ConfigLoader.parse("[general]\nhealthcheck_interval = 250\nhealthcheck_timeout = 400\n"
                + "ban_after_failures = 2\nban_time = 5\nfailover_timeout = 8000\nauto_promote = true\n"
                + "promote_after = 1500" + POOL, "t.toml").health();
        assertThat(h).isEqualTo(new HealthConfig(Duration.ofMillis(250), Duration.ofMillis(400), 2,
                Duration.ofSeconds(5), Duration.ofSeconds(8), true, Duration.ofMillis(1500)));
    }

    @Test
    void badValuesNameTheKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("[general]\nhealthcheck_interval = 5\nban_after_failures = 0\n"
                + "auto_promote = \"yes\"\nhealthcheck_timeout = 0" + POOL, "t.toml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("t.toml:2: general.healthcheck_interval: must be at least 10 ms")
                .hasMessageContaining("t.toml:3: general.ban_after_failures: must be between 1 and 1000, got 0")
                .hasMessageContaining("t.toml:4: general.auto_promote: expected true or false")
                .hasMessageContaining("t.toml:5: general.healthcheck_timeout: must be more than 0 ms");
    }
}
