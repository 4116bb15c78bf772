package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.pgrelay.protocol.message.CommandComplete;
import io.pgrelay.protocol.message.ReadyForQuery;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Frames back to back in one read buffer leave as one slice of it; anything else ends the run. */
class FrameRunTest {
    private static ByteBuf readBuffer(boolean direct) {
        // Pooled buffers are leak-tracked in tests (paranoid): the frames are then wrapped slices.
        ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
        ByteBuf b = direct ? alloc.directBuffer(256) : alloc.heapBuffer(256);
        new CommandComplete("SELECT 1").encode(b);
        new CommandComplete("SELECT 2").encode(b);
        ReadyForQuery.READY_IDLE.encode(b);
        return b;
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void adjacentFramesOfOneBufferLeaveAsOneSliceWithTheSameBytes(boolean direct) {
        ByteBuf in = readBuffer(direct);
        String expected = in.toString(StandardCharsets.ISO_8859_1);
        FrameRun run = new FrameRun();
        assertThat(run.add(in.readRetainedSlice(14))).isNull(); // C, length 13: "SELECT 1\0"
        assertThat(run.add(in.readRetainedSlice(14))).isNull();
        assertThat(run.add(in.readRetainedSlice(6))).isNull(); // Z
        in.release(); // the decoder is done with it: the run keeps it alive
        ByteBuf out = run.take();
        assertThat(out.toString(StandardCharsets.ISO_8859_1)).isEqualTo(expected);
        assertThat(run.take()).isNull();
        assertThat(out.release()).as("the last reference: nothing leaks").isTrue();
    }

    @Test
    void aFrameFromAnotherBufferOrNotNextInLineEndsTheRun() {
        ByteBuf in = readBuffer(true);
        FrameRun run = new FrameRun();
        ByteBuf first = in.readRetainedSlice(14);
        in.skipBytes(14); // the second frame was dropped (e.g. an injected Parse's reply): a gap
        assertThat(run.add(first)).isNull();
        ByteBuf ended = run.add(in.readRetainedSlice(6));
        assertThat(ended).as("not adjacent").isSameAs(first);
        ended.release();
        ByteBuf synthetic = Unpooled.wrappedBuffer(new byte[] {'Z', 0, 0, 0, 5, 'I'});
        ByteBuf z = run.add(synthetic);
        assertThat(z.readableBytes()).isEqualTo(6);
        z.release();
        assertThat(run.take()).isSameAs(synthetic);
        synthetic.release();
        in.release();
        assertThat(in.refCnt()).isZero();
    }

    @Test
    void releaseDropsAnUnwrittenRun() {
        ByteBuf in = readBuffer(true);
        FrameRun run = new FrameRun();
        run.add(in.readRetainedSlice(14));
        run.add(in.readRetainedSlice(14));
        in.release();
        run.release();
        assertThat(in.refCnt()).isZero();
        assertThat(run.take()).isNull();
    }
}
