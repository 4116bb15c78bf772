package io.pgrelay.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shared by the decoder fuzz tests: cuts a fuzz input into the reads a socket might deliver, and counts every byte
 * the channel allocates so a leak shows up as memory still in use at the end (the leak detector only reports a leak
 * after a GC, too late and too rarely for a fuzzer).
 */
final class FuzzStream {
    /** Unpooled heap buffers keep an exact count of the bytes not yet released. */
    final UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
    final EmbeddedChannel channel = new EmbeddedChannel();

    FuzzStream() {
        channel.config().setAllocator(alloc);
    }

    /**
     * Cuts {@code data} from {@code from} on into chunks. Seed 0 is one chunk; otherwise the low 3 bits bound the chunk
     * size (1 to 2..256 bytes) and the seed drives a small LCG, so the fuzzer can reach any splitting by mutating one
     * byte while the stream bytes stay readable in the corpus.
     */
    static List<byte[]> chunks(byte seed, byte[] data, int from) {
        List<byte[]> out = new ArrayList<>();
        if (from >= data.length) {
            return out;
        }
        if (seed == 0) {
            out.add(Arrays.copyOfRange(data, from, data.length));
            return out;
        }
        int bound = 2 << (seed & 7);
        int state = seed & 0xff;
        for (int i = from; i < data.length; ) {
            state = state * 1103515245 + 12345;
            int size = 1 + ((state >>> 16) % bound);
            int end = Math.min(data.length, i + size);
            out.add(Arrays.copyOfRange(data, i, end));
            i = end;
        }
        return out;
    }

    ByteBuf buffer(byte[] bytes) {
        return alloc.heapBuffer(bytes.length).writeBytes(bytes);
    }

    /** Closes the channel, releasing whatever it still holds; every allocated byte must have been given back. */
    void assertNoLeak() {
        channel.finishAndReleaseAll();
        Object m;
        while ((m = channel.readInbound()) != null) {
            ReferenceCountUtil.release(m);
        }
        assertThat(alloc.metric().usedHeapMemory()).as("bytes still allocated (a leaked ByteBuf)").isZero();
        assertThat(alloc.metric().usedDirectMemory()).as("direct bytes still allocated").isZero();
    }
}
