package io.pgrelay.protocol;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the typed-frame splitter on both sides. Input layout: byte 0 splits the stream into reads
 * ({@link FuzzStream#chunks}); byte 1: bit 0 frontend (else backend), bits 1-3 pick maxFrameLength, bit 4 holds every
 * frame until the end (as a slow client write would, which exercises the cumulator's shared-buffer path); the rest is
 * the stream.
 *
 * <p>Properties: only {@link ProtocolException} escapes; the frames are the stream's bytes in order, each one whole
 * (length field + 1 bytes), within the limit and, on the frontend side, of a frontend type; nothing comes out after a
 * failure; no buffer leaks, whether frames are released at once or held.
 */
class FrameDecoderFuzzTest {
    private static final int[] MAX_FRAME = {5, 6, 9, 16, 64, 1024, 1 << 16, 1 << 24};

    @FuzzTest
    void split(byte[] data) {
        if (data.length < 2) {
            return;
        }
        boolean frontend = (data[1] & 1) != 0;
        int max = MAX_FRAME[(data[1] >> 1) & 7];
        boolean hold = (data[1] & 0x10) != 0;
        FuzzStream s = new FuzzStream();
        s.channel.pipeline().addLast(frontend ? FrameDecoder.forFrontend(max) : FrameDecoder.forBackend(max));
        List<ByteBuf> held = new ArrayList<>();
        int offset = 2; // where the next frame must start in data
        boolean failed = false;
        try {
            for (byte[] chunk : FuzzStream.chunks(data[0], data, 2)) {
                boolean failedBefore = failed;
                try {
                    s.channel.writeInbound(s.buffer(chunk));
                } catch (ProtocolException e) {
                    assertThat(failed).as("a second error after the stream failed").isFalse();
                    failed = true;
                }
                ByteBuf frame;
                while ((frame = s.channel.readInbound()) != null) {
                    try {
                        assertThat(failedBefore).as("a frame after the stream failed").isFalse();
                        offset = check(frame, data, offset, frontend, max);
                    } finally {
                        if (hold) {
                            held.add(frame);
                        } else {
                            frame.release();
                        }
                    }
                }
            }
        } finally {
            held.forEach(ByteBuf::release);
        }
        s.assertNoLeak();
    }

    private static int check(ByteBuf frame, byte[] data, int offset, boolean frontend, int max) {
        int n = frame.readableBytes();
        assertThat(n).isBetween(Frames.HEADER_LENGTH, max);
        assertThat(Frames.bodyLength(frame)).isEqualTo(n - Frames.HEADER_LENGTH);
        if (frontend) {
            assertThat(MessageType.isFrontend(Frames.type(frame))).isTrue();
        }
        assertThat(offset + n).isLessThanOrEqualTo(data.length);
        assertThat(ByteBufUtil.getBytes(frame)).as("frame bytes at stream offset " + offset)
                .isEqualTo(Arrays.copyOfRange(data, offset, offset + n));
        return offset + n;
    }
}
