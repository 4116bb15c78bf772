package io.pgrelay.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LocalClusterTest {

    @Test
    void quotesLiteralsAndIdentifiers() {
        assertThat(LocalCluster.literal("it's")).isEqualTo("'it''s'");
        assertThat(LocalCluster.ident("we\"ird")).isEqualTo("\"we\"\"ird\"");
    }

    @Test
    void builderRejectsReservedNames() {
        assertThatThrownBy(() -> LocalCluster.builder().setting("port", "5432"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LocalCluster.builder().setting("bad key", "1"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LocalCluster.builder().appUser("repl", "x"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LocalCluster.builder().appDatabase("template1"))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LocalCluster.builder().standbys(-1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void freePortsAreDistinctAndBindable() throws IOException {
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            int p = LocalCluster.freePort();
            assertThat(ports.add(p)).isTrue();
            try (ServerSocket s = new ServerSocket(p, 1, InetAddress.getByName("127.0.0.1"))) {
                assertThat(s.getLocalPort()).isEqualTo(p);
            }
        }
    }

    @Test
    void serverUrlAndToString() {
        PgServer s = new PgServer("standby1", 5433, Path.of("/d"), Path.of("/l"));
        assertThat(s.host()).isEqualTo("127.0.0.1");
        assertThat(s.jdbcUrl("app")).isEqualTo("jdbc:postgresql://127.0.0.1:5433/app");
        assertThat(s).hasToString("standby1@127.0.0.1:5433");
    }
}
