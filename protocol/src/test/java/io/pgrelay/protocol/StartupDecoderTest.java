package io.pgrelay.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgrelay.protocol.message.CancelRequest;
import io.pgrelay.protocol.message.GssEncRequest;
import io.pgrelay.protocol.message.SslRequest;
import io.pgrelay.protocol.message.StartupMessage;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StartupDecoderTest {
    @Test
    void decodesSslRequestGoldenBytes() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ch.writeInbound(Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump("0000000804d2162f")));
        assertThat((Object) ch.readInbound()).isSameAs(SslRequest.INSTANCE);
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void decodesGssEncRequestGoldenBytes() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ch.writeInbound(Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump("0000000804d21630")));
        assertThat((Object) ch.readInbound()).isSameAs(GssEncRequest.INSTANCE);
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void decodesCancelRequest() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ch.writeInbound(Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump("0000001004d2162e0000303900000007")));
        assertThat((Object) ch.readInbound()).isEqualTo(new CancelRequest(12345, 7));
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void decodesStartupMessageFedOneByteAtATime() {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", "app");
        params.put("database", "app");
        params.put("application_name", "psql");
        ByteBuf encoded = new StartupMessage(StartupMessage.PROTOCOL_3_0, params).encode(Unpooled.buffer().alloc());
        // Golden prefix: length 53, version 3.0, "user\0app\0".
        assertThat(ByteBufUtil.hexDump(encoded, 0, 17)).isEqualTo("00000035" + "00030000" + "757365720061707000");
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        while (encoded.isReadable()) {
            ch.writeInbound(encoded.readRetainedSlice(1));
        }
        encoded.release();
        StartupMessage m = ch.readInbound();
        assertThat(m.majorVersion()).isEqualTo(3);
        assertThat(m.minorVersion()).isZero();
        assertThat(m.parameters()).containsExactlyEntriesOf(params);
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void decodesOnlyOnePacketPerRead() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ch.writeInbound(Unpooled.wrappedBuffer(ByteBufUtil.decodeHexDump("0000000804d2162f" + "0000000804d21630")));
        assertThat((Object) ch.readInbound()).isSameAs(SslRequest.INSTANCE);
        assertThat((Object) ch.readInbound()).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void rejectsOversizedStartupPacket() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ByteBuf in = Unpooled.buffer().writeInt(10001).writeInt(StartupMessage.PROTOCOL_3_0);
        assertThatThrownBy(() -> ch.writeInbound(in))
                .isInstanceOf(ProtocolException.class)
                .hasMessage("invalid length of startup packet: 10001 (must be 8 to 10000 bytes)");
        ch.finishAndReleaseAll();
    }

    @Test
    void rejectsHttpRequest() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.copiedBuffer("GET / HTTP/1.1\r\n\r\n".getBytes())))
                .isInstanceOf(ProtocolException.class)
                .hasMessageStartingWith("invalid length of startup packet");
        ch.finishAndReleaseAll();
    }

    @Test
    void rejectsStartupMessageWithoutTerminator() {
        ByteBuf in = Unpooled.buffer().writeInt(17).writeInt(StartupMessage.PROTOCOL_3_0);
        in.writeBytes("user\0app\0".getBytes());
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        assertThatThrownBy(() -> ch.writeInbound(in))
                .isInstanceOf(ProtocolException.class)
                .hasMessage("invalid startup packet layout: expected terminator as last byte");
        ch.finishAndReleaseAll();
    }

    @Test
    void keepsOtherProtocolVersionsForTheSessionToRefuse() {
        ByteBuf in = Unpooled.buffer().writeInt(8).writeInt(2 << 16);
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ch.writeInbound(in);
        StartupMessage m = ch.readInbound();
        assertThat(m.majorVersion()).isEqualTo(2);
        ch.finishAndReleaseAll();
    }
}
