package io.pgrelay.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** stats_users, enable_prometheus_exporter, prometheus_exporter_port and shutdown_timeout. */
class ConfigAdminKeysTest {
    private static final String POOL = """
            [pools.app.users.0]
            username = "app"
            password = "app"
            [pools.app.shards.0]
            database = "app"
            servers = [["127.0.0.1", 5432, "primary"]]
            """;

    @Test
    void defaults() throws ConfigException {
        General g = ConfigLoader.parse(POOL, "t.toml").general();
        assertThat(g.statsUsers()).isEmpty();
        assertThat(g.enablePrometheusExporter()).isFalse();
        assertThat(g.prometheusExporterPort()).isEqualTo(9930);
        assertThat(g.shutdownTimeout()).isEqualTo(Duration.ofSeconds(60));
    }

    @Test
    void readsTheKeysWithoutWarnings() throws ConfigException {
        PgRelayConfig c = ConfigLoader.parse("""
                [general]
                stats_users = ["app", "watcher"]
                enable_prometheus_exporter = true
                prometheus_exporter_port = 9931
                shutdown_timeout = 5000
                """ + POOL, "t.toml");
        assertThat(c.general().statsUsers()).containsExactly("app", "watcher");
        assertThat(c.general().enablePrometheusExporter()).isTrue();
        assertThat(c.general().prometheusExporterPort()).isEqualTo(9931);
        assertThat(c.general().shutdownTimeout()).isEqualTo(Duration.ofMillis(5000));
        assertThat(c.warnings()).isEmpty();
    }

    @Test
    void reportsBadValues() {
        assertThatThrownBy(() -> ConfigLoader.parse("""
                [general]
                stats_users = "app"
                enable_prometheus_exporter = "yes"
                prometheus_exporter_port = 70000
                shutdown_timeout = -1
                """ + POOL, "t.toml")).isInstanceOf(ConfigException.class)
                .hasMessageContaining("t.toml:2: general.stats_users: expected an array of strings")
                .hasMessageContaining("t.toml:3: general.enable_prometheus_exporter: expected true or false")
                .hasMessageContaining("t.toml:4: general.prometheus_exporter_port: must be between 1 and 65535")
                .hasMessageContaining("t.toml:5: general.shutdown_timeout: must not be negative");
        assertThatThrownBy(() -> ConfigLoader.parse("""
                [general]
                port = 7000
                enable_prometheus_exporter = true
                prometheus_exporter_port = 7000
                """ + POOL, "t.toml")).hasMessageContaining("general.prometheus_exporter_port: must differ from port");
    }

    @Test
    void olderConstructorsKeepTheirDefaults() {
        General g = new General("h", 1, null, null, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, 1,
                AuthType.TRUST);
        assertThat(g.statsUsers()).isEqualTo(List.of());
        assertThat(g.prometheusExporterPort()).isEqualTo(General.DEFAULT_PROMETHEUS_EXPORTER_PORT);
        assertThat(g.shutdownTimeout()).isEqualTo(General.DEFAULT_SHUTDOWN_TIMEOUT);
    }
}
