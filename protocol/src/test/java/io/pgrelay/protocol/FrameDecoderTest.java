package io.pgrelay.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgrelay.protocol.message.Query;
import io.pgrelay.protocol.message.ReadyForQuery;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FrameDecoderTest {
    /** Q "select 1" followed by S (Sync): golden bytes as libpq sends them. */
    private static final byte[] QUERY_THEN_SYNC = ByteBufUtil.decodeHexDump(
            "510000000d73656c656374203100" + "5300000004");

    @Test
    void splitsFramesFedOneByteAtATime() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forFrontend(1 << 20));
        for (byte b : QUERY_THEN_SYNC) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        List<String> frames = drainHex(ch);
        assertThat(frames).containsExactly("510000000d73656c656374203100", "5300000004");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void splitsManyFramesInOneRead() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forFrontend(1 << 20));
        ByteBuf in = Unpooled.buffer();
        for (int i = 0; i < 100; i++) {
            in.writeBytes(QUERY_THEN_SYNC);
        }
        ch.writeInbound(in);
        assertThat(drainHex(ch)).hasSize(200);
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void emittedFrameIsTheWholeMessageAndDecodes() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forFrontend(1 << 20));
        ch.writeInbound(new Query("select 1").encode(ch.alloc()));
        ByteBuf frame = ch.readInbound();
        try {
            assertThat(Frames.type(frame)).isEqualTo(MessageType.QUERY);
            assertThat(Frames.bodyLength(frame)).isEqualTo(9);
            assertThat(Query.decode(frame).sql()).isEqualTo("select 1");
        } finally {
            frame.release();
        }
    }

    @Test
    void backendFramesWithAnyTypePass() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackend(1 << 20));
        ch.writeInbound(ReadyForQuery.READY_IDLE.encode(ch.alloc()));
        ByteBuf frame = ch.readInbound();
        assertThat(ReadyForQuery.statusOf(frame)).isEqualTo(ReadyForQuery.IDLE);
        frame.release();
    }

    @Test
    void unknownFrontendTypeFailsAtTheHeader() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forFrontend(1 << 20));
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'z', 0, 0, 0, 4})))
                .isInstanceOf(ProtocolException.class)
                .hasMessage("invalid frontend message type 'z'");
        // Whatever comes after is dropped, not decoded out of step.
        ch.writeInbound(Unpooled.wrappedBuffer(QUERY_THEN_SYNC));
        assertThat((Object) ch.readInbound()).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void oversizedFrameFailsBeforeItsBodyIsBuffered() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forFrontend(1024));
        ByteBuf header = Unpooled.buffer().writeByte('Q').writeInt(100_000);
        assertThatThrownBy(() -> ch.writeInbound(header))
                .isInstanceOf(ProtocolException.class)
                .hasMessage("message of type 'Q' is 100001 bytes, more than the maximum of 1024");
        ch.finishAndReleaseAll();
    }

    @Test
    void lengthBelowFourIsRejected() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackend(1024));
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'Z', 0, 0, 0, 3})))
                .isInstanceOf(ProtocolException.class)
                .hasMessage("invalid message length 3 for message type 'Z'");
        ch.finishAndReleaseAll();
    }

    @Test
    void partialFrameAtCloseIsReleased() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forFrontend(1024));
        ch.writeInbound(Unpooled.wrappedBuffer(QUERY_THEN_SYNC, 0, 7));
        assertThat(ch.finish()).isFalse();
    }

    /** T, D, C, Z of "select 1" as PostgreSQL 15 sends them: golden bytes. */
    private static final String SELECT_ONE_REPLY = "540000002100013f636f6c756d6e3f00000000000000000000170004ffffffff0000"
            + "440000000b00010000000131" + "430000000d53454c454354203100" + "5a0000000549";

    @Test
    void runsJoinTheCompleteFramesOfARead() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackendRuns(1 << 20));
        ch.writeInbound(Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump(SELECT_ONE_REPLY)));
        assertThat(drainHex(ch)).containsExactly(SELECT_ONE_REPLY);
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void runsFedOneByteAtATimeAreSingleFrames() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackendRuns(1 << 20));
        for (byte b : ByteBufUtil.decodeHexDump(SELECT_ONE_REPLY)) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        assertThat(drainHex(ch)).containsExactly(SELECT_ONE_REPLY.substring(0, 68), "440000000b00010000000131",
                "430000000d53454c454354203100", "5a0000000549");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void runStopsBeforeAPartialFrame() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackendRuns(1 << 20));
        byte[] all = ByteBufUtil.decodeHexDump(SELECT_ONE_REPLY);
        int split = 34 + 12 + 3; // T, D and three bytes of C's header
        ch.writeInbound(Unpooled.wrappedBuffer(all, 0, split));
        ch.writeInbound(Unpooled.wrappedBuffer(all, split, all.length - split));
        assertThat(drainHex(ch)).containsExactly(SELECT_ONE_REPLY.substring(0, 2 * (34 + 12)),
                SELECT_ONE_REPLY.substring(2 * (34 + 12)));
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void runBeforeABadHeaderIsStillEmitted() {
        EmbeddedChannel ch = new EmbeddedChannel(FrameDecoder.forBackendRuns(1 << 20));
        ByteBuf in = Unpooled.buffer().writeBytes(ByteBufUtil.decodeHexDump("5a0000000549"))
                .writeBytes(new byte[] {'Z', 0, 0, 0, 3});
        assertThatThrownBy(() -> ch.writeInbound(in))
                .isInstanceOf(ProtocolException.class)
                .hasMessage("invalid message length 3 for message type 'Z'");
        assertThat(drainHex(ch)).containsExactly("5a0000000549");
        ch.finishAndReleaseAll();
    }

    static List<String> drainHex(EmbeddedChannel ch) {
        List<String> out = new ArrayList<>();
        ByteBuf f;
        while ((f = ch.readInbound()) != null) {
            out.add(ByteBufUtil.hexDump(f));
            f.release();
        }
        return out;
    }
}
