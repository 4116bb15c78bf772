package io.pgrelay.protocol;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.message.CancelRequest;
import io.pgrelay.protocol.message.GssEncRequest;
import io.pgrelay.protocol.message.SslRequest;
import io.pgrelay.protocol.message.StartupMessage;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the first bytes an unauthenticated client sends. Input layout: byte 0 splits the stream into reads
 * ({@link FuzzStream#chunks}), byte 1 (low 4 bits) is the number of packets after which the decoder is removed as the
 * session does after SSLRequest (0: never), the rest is the byte stream.
 *
 * <p>Properties: only {@link ProtocolException} escapes; only the four packet types come out; nothing comes out after a
 * failure; bytes left when the decoder is removed are passed on, not lost or leaked; no buffer leaks.
 */
class StartupDecoderFuzzTest {

    @FuzzTest
    void decode(byte[] data) {
        if (data.length < 2) {
            return;
        }
        int removeAfter = data[1] & 0x0f;
        FuzzStream s = new FuzzStream();
        s.channel.pipeline().addLast("startup", new StartupDecoder());
        int packets = 0;
        boolean failed = false;
        boolean removed = false;
        for (byte[] chunk : FuzzStream.chunks(data[0], data, 2)) {
            boolean failedBefore = failed;
            try {
                s.channel.writeInbound(s.buffer(chunk));
            } catch (ProtocolException e) {
                assertThat(failed).as("a second error after the stream failed").isFalse();
                assertThat(e.getMessage()).isNotEmpty();
                failed = true;
            }
            Object m;
            while ((m = s.channel.readInbound()) != null) {
                if (m instanceof ByteBuf leftover) {
                    assertThat(removed).as("raw bytes before the decoder was removed").isTrue();
                    leftover.release();
                    continue;
                }
                assertThat(failedBefore).as("a packet after the stream failed").isFalse();
                assertThat(m).isInstanceOfAny(SslRequest.class, GssEncRequest.class, CancelRequest.class,
                        StartupMessage.class);
                packets++;
                if (packets == removeAfter && !removed) {
                    s.channel.pipeline().remove("startup"); // hands what it buffered to the next handler
                    removed = true;
                }
            }
        }
        try {
            s.channel.finish();
        } catch (ProtocolException expected) {
            // decodeLast on bytes left at close: the same documented error
        }
        s.assertNoLeak();
    }
}
