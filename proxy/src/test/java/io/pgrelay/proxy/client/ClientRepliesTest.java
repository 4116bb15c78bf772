package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgrelay.proxy.LeakTracker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Replies to a client on an EmbeddedChannel: frames passed on in place join into one write only when back to back. */
class ClientRepliesTest {
    private static final String T = "54000000210001" + "3f636f6c756d6e3f00" + "00000000" + "0000" + "00000017" + "0004"
            + "ffffffff" + "0000";
    private static final String D = "440000000b00010000000131";
    private static final String C = "430000000d53454c454354203100";
    private static final String Z = "5a0000000549";

    private EmbeddedChannel channel;
    private ClientReplies replies;

    @AfterAll
    static void leaks() {
        LeakTracker.assertNoLeaks();
    }

    @BeforeEach
    void setUp() {
        channel = new EmbeddedChannel(new ChannelInboundHandlerAdapter() {
            @Override
            public void handlerAdded(ChannelHandlerContext ctx) {
                replies = new ClientReplies(ctx);
            }
        });
    }

    private static ByteBuf run(String hex) {
        return Unpooled.directBuffer().writeBytes(ByteBufUtil.decodeHexDump(hex));
    }

    /** Passes every frame of {@code run}, in place. */
    private void passAll(ByteBuf run) {
        int at = run.readerIndex();
        while (at < run.writerIndex()) {
            int length = run.getInt(at + 1) + 1;
            replies.pass(run, at, length);
            at += length;
        }
    }

    private List<String> written() {
        channel.flush();
        List<String> out = new ArrayList<>();
        ByteBuf b;
        while ((b = channel.readOutbound()) != null) {
            out.add(ByteBufUtil.hexDump(b));
            b.release();
        }
        return out;
    }

    @Test
    void framesBackToBackInOneReadAreOneWrite() {
        ByteBuf run = run(T + D + C + Z);
        passAll(run);
        replies.end();
        run.release(); // the read's owner lets go; the write holds its own reference
        assertThat(written()).containsExactly(T + D + C + Z);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void aFrameOfItsOwnGoesOutInOrder() {
        ByteBuf run = run(T + D + C + Z);
        replies.pass(run, 0, 34);
        replies.pass(run, 34, 12);
        replies.write(run(C)); // e.g. a CommandComplete replaced by pgrelay
        replies.pass(run, 60, 6);
        replies.end();
        run.release();
        assertThat(written()).containsExactly(T + D, C, Z);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void aSkippedFrameSplitsTheWrite() {
        ByteBuf run = run(T + D + C + Z);
        replies.pass(run, 0, 34);
        replies.pass(run, 46, 14); // the DataRow between was swallowed
        replies.pass(run, 60, 6);
        replies.end();
        run.release();
        assertThat(written()).containsExactly(T, C + Z);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void framesOfTwoReadsAreTwoWrites() {
        ByteBuf first = run(T + D);
        ByteBuf second = run(C + Z);
        passAll(first);
        passAll(second);
        replies.end();
        first.release();
        second.release();
        assertThat(written()).containsExactly(T + D, C + Z);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void endWithNothingPendingWritesNothing() {
        replies.end();
        assertThat(written()).isEmpty();
        assertThat(channel.finish()).isFalse();
    }
}
