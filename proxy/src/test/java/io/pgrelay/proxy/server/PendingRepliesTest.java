package io.pgrelay.proxy.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static io.pgrelay.proxy.PgbenchBatch.P;
import static io.pgrelay.proxy.PgbenchBatch.B;
import static io.pgrelay.proxy.PgbenchBatch.E;
import static io.pgrelay.proxy.PgbenchBatch.S;
import static org.assertj.core.api.Assertions.assertThat;

/** What a server owes, counted from the frames written to it, one per write or several in one. */
class PendingRepliesTest {
    private static final String Q = "510000000d53454c454354203100";

    private static void send(PendingReplies pending, String hex) {
        ByteBuf frames = Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(hex));
        pending.sent(frames);
        assertThat(frames.readableBytes()).isEqualTo(hex.length() / 2); // counted, not consumed
    }

    @Test
    void anExtendedBatchInOneWriteOwesOneReady() {
        PendingReplies pending = new PendingReplies();
        send(pending, P + B + E);
        assertThat(pending.busy()).isTrue(); // unsynced
        send(pending, S);
        assertThat(pending.busy()).isTrue(); // its ReadyForQuery is owed
        pending.readyForQuery();
        assertThat(pending.busy()).isFalse();
    }

    @Test
    void everySyncAndQueryInOneWriteIsCounted() {
        PendingReplies pending = new PendingReplies();
        send(pending, P + B + E + S + Q + B + E + S);
        pending.readyForQuery();
        pending.readyForQuery();
        assertThat(pending.busy()).isTrue();
        pending.readyForQuery();
        assertThat(pending.busy()).isFalse();
    }

    @Test
    void frameByFrameCountsTheSame() {
        PendingReplies pending = new PendingReplies();
        for (String f : new String[] {P, B, E, S, Q}) {
            send(pending, f);
        }
        pending.readyForQuery();
        assertThat(pending.busy()).isTrue();
        pending.readyForQuery();
        assertThat(pending.busy()).isFalse();
        pending.readyForQuery(); // an unexpected extra one does not go below nothing owed
        send(pending, Q);
        assertThat(pending.busy()).isTrue();
    }
}
