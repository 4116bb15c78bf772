package io.pgrelay.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigKeysTest {

    @Test
    void transpositionsCountAsOneEdit() {
        assertThat(ConfigKeys.distance("prot", "port")).isEqualTo(1);
        assertThat(ConfigKeys.distance("pool_size", "pool_size")).isZero();
        assertThat(ConfigKeys.distance("", "abc")).isEqualTo(3);
    }

    @Test
    void suggestsOnlyPlausibleTypos() {
        List<String> general = List.copyOf(ConfigKeys.GENERAL);
        assertThat(ConfigKeys.suggest("prot", general)).isEqualTo("port");
        assertThat(ConfigKeys.suggest("Port", general)).isEqualTo("port");
        assertThat(ConfigKeys.suggest("max_client_conns", general)).isEqualTo("max_client_conn");
        assertThat(ConfigKeys.suggest("listen_addr", general)).isNull();
    }

    @Test
    void pgrelayAndPgcatKeySetsDoNotOverlap() {
        assertThat(ConfigKeys.GENERAL).doesNotContainAnyElementsOf(ConfigKeys.GENERAL_PGCAT);
        assertThat(ConfigKeys.POOL).doesNotContainAnyElementsOf(ConfigKeys.POOL_PGCAT);
        assertThat(ConfigKeys.USER).doesNotContainAnyElementsOf(ConfigKeys.USER_PGCAT);
        assertThat(ConfigKeys.SHARD).doesNotContainAnyElementsOf(ConfigKeys.SHARD_PGCAT);
    }
}
