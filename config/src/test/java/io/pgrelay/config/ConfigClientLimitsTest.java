package io.pgrelay.config;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigClientLimitsTest {
    private static final String POOLS = "\n[pools.app]\n[pools.app.users.0]\nusername = \"app\"\npassword = \"app\"\n"
            + "[pools.app.shards.0]\ndatabase = \"app\"\nservers = [[\"127.0.0.1\", 5432, \"primary\"]]\n"
            + "[pools.other]\n[pools.other.users.0]\nusername = \"app\"\npassword = \"app\"\n"
            + "[pools.other.shards.0]\ndatabase = \"app\"\nservers = [[\"127.0.0.1\", 5432, \"primary\"]]\n";

    @Test
    void defaultsAreUnlimitedClientsAndTenThousandStatements() throws ConfigException {
        LimitsConfig l = ConfigLoader.parse("[general]" + POOLS, "t.toml").limits();
        assertThat(l).isEqualTo(LimitsConfig.DEFAULTS);
        assertThat(l.maxDbClientConnections("app")).isZero();
        assertThat(l.maxUserClientConnections("app", "app")).isZero();
        assertThat(l.maxClientPreparedStatements()).isEqualTo(10_000);
    }

    @Test
    void generalValuesAndOverridesAreRead() throws ConfigException {
        String pools = POOLS.replace("[pools.other]\n", "[pools.other]\nmax_db_client_connections = 7\n")
                .replace("[pools.other.users.0]\nusername = \"app\"\n",
                        "[pools.other.users.0]\nusername = \"app\"\nmax_user_client_connections = 3\n");
        LimitsConfig l = ConfigLoader.parse("[general]\nmax_user_client_connections = 20\n"
                + "max_db_client_connections = 50\nmax_client_prepared_statements = 100" + pools, "t.toml").limits();
        assertThat(l.maxClientPreparedStatements()).isEqualTo(100);
        assertThat(l.maxDbClientConnections("app")).isEqualTo(50);
        assertThat(l.maxDbClientConnections("other")).isEqualTo(7);
        assertThat(l.maxUserClientConnections("app", "app")).isEqualTo(20);
        assertThat(l.maxUserClientConnections("other", "app")).isEqualTo(3);
        assertThat(l.dbOverrides()).isEqualTo(Map.of("other", 7));
    }

    @Test
    void negativeLimitsNameTheKey() {
        assertThatThrownBy(() -> ConfigLoader.parse("[general]\nmax_user_client_connections = -1\n"
                + "max_client_prepared_statements = \"many\"" + POOLS.replace("[pools.app]\n",
                "[pools.app]\nmax_db_client_connections = -5\n"), "t.toml"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("t.toml:2: general.max_user_client_connections: must not be negative")
                .hasMessageContaining("t.toml:3: general.max_client_prepared_statements: expected an integer")
                .hasMessageContaining("t.toml:5: pools.app.max_db_client_connections: must not be negative");
    }
}
