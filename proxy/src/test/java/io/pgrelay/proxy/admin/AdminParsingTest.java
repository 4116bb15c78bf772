package io.pgrelay.proxy.admin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AdminParsingTest {
    @Test
    void splitsStatementsOutsideQuotes() {
        assertThat(AdminSession.split("SHOW POOLS; show stats ;; SET x = 'a;b'"))
                .containsExactly("SHOW POOLS", "show stats", "SET x = 'a;b'");
        assertThat(AdminSession.split(" ; ")).isEmpty();
    }

    @Test
    void resultEncodesDescriptionRowsAndTag() {
        Result r = Result.of("name", "n:n").row("a", 1).row(null, 22);
        List<ByteBuf> frames = r.encode(UnpooledByteBufAllocator.DEFAULT, "SHOW");
        try {
            assertThat(frames).extracting(Frames::type).containsExactly(MessageType.ROW_DESCRIPTION,
                    MessageType.DATA_ROW, MessageType.DATA_ROW, MessageType.COMMAND_COMPLETE);
            ByteBuf second = frames.get(2);
            // DataRow: 2 columns, NULL (-1), then "22"
            assertThat(second.getShort(5)).isEqualTo((short) 2);
            assertThat(second.getInt(7)).isEqualTo(-1);
            assertThat(second.getInt(11)).isEqualTo(2);
        } finally {
            frames.forEach(ByteBuf::release);
        }
        assertThatThrownBy(() -> Result.of("a").row(1, 2)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void unknownCommandsListWhatExists() {
        assertThat(AdminSession.unknown("FROB").response.fields().get('H'))
                .contains("SHOW POOLS|STATS").contains("KILL_CLIENT id").contains("BAN host:port");
    }

    @Test
    void setChangesOnlyLiveSettings() throws Exception {
        io.pgrelay.config.PgRelayConfig c = io.pgrelay.config.ConfigLoader.parse("""
                [pools.app.users.0]
                username = "app"
                password = "app"
                [pools.app.shards.0]
                database = "app"
                servers = [["127.0.0.1", 5432, "primary"]]
                """, "t.toml");
        assertThat(AdminSettings.set(c, "QUERY_WAIT_TIMEOUT", "5").general().queryWaitTimeout().toMillis())
                .isEqualTo(5);
        assertThat(AdminSettings.set(c, "max_client_conn", "7").general().maxClientConn()).isEqualTo(7);
        assertThatThrownBy(() -> AdminSettings.set(c, "port", "1")).hasMessageContaining("cannot be changed");
        assertThatThrownBy(() -> AdminSettings.set(c, "nope", "1")).hasMessageContaining("unknown setting");
        assertThatThrownBy(() -> AdminSettings.set(c, "idle_timeout", "x")).hasMessageContaining("integer");
        assertThat(AdminSettings.all(c)).extracting(AdminSettings.Setting::key)
                .contains("query_wait_timeout", "shutdown_timeout", "prometheus_exporter_port");
    }
}
