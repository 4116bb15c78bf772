package io.pgrelay.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class FramesTest {
    private static final List<ByteBufAllocator> ALLOCATORS = List.of(ByteBufAllocator.DEFAULT,
            PooledByteBufAllocator.DEFAULT, UnpooledByteBufAllocator.DEFAULT, new UnpooledByteBufAllocator(false));

    @Test
    void appendCopiesTheSpanOfASliceAndLeavesTheSourceAlone() {
        for (ByteBufAllocator alloc : ALLOCATORS) {
            for (boolean direct : new boolean[] {true, false}) {
                ByteBuf whole = direct ? alloc.directBuffer() : alloc.heapBuffer();
                whole.writeCharSequence("xxB\0\0\0\0\u0007S_1\0tail", StandardCharsets.ISO_8859_1);
                ByteBuf frame = whole.retainedSlice(2, whole.readableBytes() - 2); // as FrameDecoder slices
                ByteBuf out = alloc.directBuffer(4, 64); // grows to fit
                out.writeByte('B');
                Frames.append(out, frame, frame.readerIndex() + 5, 8);
                assertThat(ByteBufUtil.hexDump(out)).as("%s direct=%s", alloc, direct)
                        .isEqualTo(ByteBufUtil.hexDump(Unpooled.wrappedBuffer(
                                "B\u0007S_1\0tai".getBytes(StandardCharsets.ISO_8859_1))));
                assertThat(frame.readerIndex()).isZero();
                assertThat(frame.readableBytes()).isEqualTo(14);
                Frames.append(out, frame, 0, 0);
                assertThat(out.readableBytes()).isEqualTo(9);
                out.release();
                frame.release();
                whole.release();
                assertThat(whole.refCnt()).isZero();
            }
        }
    }
}
