package io.pgrelay.config;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigLimitsTest {
    private static final String POOL = "\n[pools.app]\n[pools.app.users.0]\nusername = \"app\"\npassword = \"app\"\n"
            + "[pools.app.shards.0]\ndatabase = \"app\"\nservers = [[\"127.0.0.1\", 5432, \"primary\"]]\n";

    @Test
    void defaults() throws ConfigException {
        General g = ConfigLoader.parse("[general]" + POOL, "t.toml").general();
        assertThat(g.clientLoginTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(g.idleClientInTransactionTimeout()).isEqualTo(Duration.ZERO);
        assertThat(g.maxPacketSize()).isEqualTo(1 << 30);
    }

    @Test
    void valuesAreRead() throws ConfigException {
        General g = ConfigLoader.parse("[general]\nclient_login_timeout = 1500\n"
                + "idle_client_in_transaction_timeout = 2500\nmax_packet_size = 4096" + POOL, "t.toml").general();
        assertThat(g.clientLoginTimeout()).isEqualTo(Duration.ofMillis(1500));
        assertThat(g.idleClientInTransactionTimeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(g.maxPacketSize()).isEqualTo(4096);
    }

    @Test
    void tinyMaxPacketSizeIsRefused() {
        assertThatThrownBy(() -> ConfigLoader.parse("[general]\nmax_packet_size = 10" + POOL, "t.toml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("t.toml:2: general.max_packet_size: must be between 64 and 1073741824, got 10");
    }

    @Test
    void routingKeys() throws ConfigException {
        String pool = POOL.replace("[pools.app]\n", "[pools.app]\nquery_parser_read_write_splitting = false\n"
                + "primary_reads_enabled = false\ndefault_role = \"primary\"\nload_balancing_mode = \"round_robin\"\n"
                + "read_your_writes = \"window\"\nread_your_writes_window_ms = 2500\n");
        Routing r = ConfigLoader.parse("[general]" + pool, "t.toml").pools().get("app").routing();
        assertThat(r).isEqualTo(new Routing(true, false, false, Routing.DefaultRole.PRIMARY,
                Routing.LoadBalancingMode.ROUND_ROBIN, Routing.ReadYourWrites.WINDOW, Duration.ofMillis(2500)));
    }

    @Test
    void unknownLoadBalancingModeListsTheChoices() {
        assertThatThrownBy(() -> ConfigLoader.parse("[general]" + POOL.replace("[pools.app]\n",
                "[pools.app]\nload_balancing_mode = \"fastest\"\n"), "t.toml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("pools.app.load_balancing_mode")
                .hasMessageContaining("round_robin");
    }

    @Test
    void serverWeights() throws ConfigException {
        String pool = POOL.replace("servers = [[\"127.0.0.1\", 5432, \"primary\"]]",
                "servers = [[\"127.0.0.1\", 5432, \"primary\", 0], [\"127.0.0.1\", 5433, \"replica\", 3],"
                        + " [\"127.0.0.1\", 5434, \"replica\"]]");
        var servers = ConfigLoader.parse("[general]" + pool, "t.toml").pools().get("app").shards().get(0).servers();
        assertThat(servers).extracting(ServerConfig::weight).containsExactly(0, 3, 1);
        assertThatThrownBy(() -> ConfigLoader.parse("[general]" + pool.replace(", 3]", ", 5000]"), "t.toml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("weight: must be between 0 and 1000, got 5000");
    }
}
