package io.pgrelay.proxy.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import io.pgrelay.config.SecurityConfig;
import io.pgrelay.protocol.StartupDecoder;
import io.pgrelay.protocol.message.GssEncRequest;
import io.pgrelay.protocol.message.SslRequest;
import io.pgrelay.protocol.message.StartupMessage;
import io.pgrelay.proxy.LeakTracker;
import io.pgrelay.proxy.client.StartupNegotiator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The encryption negotiation on an EmbeddedChannel: answers, TLS handler placement, bytes sent too early. */
class StartupNegotiatorTest {
    @TempDir
    static Path dir;

    @AfterAll
    static void leaks() {
        LeakTracker.assertNoLeaks();
    }

    private static TransportSecurity tls(SecurityConfig.TlsMode mode) throws Exception {
        DevCertificates.generate(dir, List.of(), "app", Duration.ofDays(1));
        SecurityConfig c = new SecurityConfig(mode, dir.resolve("server.crt").toString(),
                dir.resolve("server.key").toString(), null, SecurityConfig.ServerTlsMode.DISABLE, null, null, null,
                false);
        return new TransportSecurity(c, TlsContexts.load(c), null);
    }

    private static EmbeddedChannel channel(TransportSecurity security) {
        return new EmbeddedChannel(new StartupDecoder(), new StartupNegotiator(security));
    }

    private static ByteBuf encode(io.pgrelay.protocol.message.Message m) {
        return m.encode(Unpooled.buffer().alloc());
    }

    private static int answer(EmbeddedChannel ch) {
        ByteBuf out = ch.readOutbound();
        try {
            return out.readByte();
        } finally {
            out.release();
        }
    }

    @Test
    void withoutTlsOrGssBothRequestsAreAnsweredN() {
        EmbeddedChannel ch = channel(TransportSecurity.NONE);
        ch.writeInbound(encode(GssEncRequest.INSTANCE));
        assertThat(answer(ch)).isEqualTo('N');
        ch.writeInbound(encode(SslRequest.INSTANCE));
        assertThat(answer(ch)).isEqualTo('N');
        ch.writeInbound(encode(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "app"))));
        assertThat((Object) ch.readInbound()).isInstanceOf(StartupMessage.class);
        ch.finishAndReleaseAll();
    }

    @Test
    void sslRequestGetsSAndATlsHandlerAheadOfTheDecoder() throws Exception {
        EmbeddedChannel ch = channel(tls(SecurityConfig.TlsMode.PREFER));
        ch.writeInbound(encode(SslRequest.INSTANCE));
        assertThat(answer(ch)).isEqualTo('S');
        assertThat(ch.pipeline().names()).containsSubsequence("tls", "startup");
        assertThat(ch.pipeline().first()).isInstanceOf(SslHandler.class);
        ch.finishAndReleaseAll();
    }

    @Test
    void bytesAfterTheSslRequestCloseTheConnection() throws Exception {
        EmbeddedChannel ch = channel(tls(SecurityConfig.TlsMode.PREFER));
        ByteBuf both = Unpooled.buffer();
        ByteBuf req = encode(SslRequest.INSTANCE);
        ByteBuf startup = encode(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "app")));
        both.writeBytes(req).writeBytes(startup);
        req.release();
        startup.release();
        ch.writeInbound(both);
        assertThat(ch.isActive()).isFalse();
        assertThat((Object) ch.readInbound()).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void requireModeRefusesAPlaintextStartup() throws Exception {
        EmbeddedChannel ch = channel(tls(SecurityConfig.TlsMode.REQUIRE));
        ch.writeInbound(encode(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "app"))));
        ByteBuf error = ch.readOutbound();
        try {
            assertThat((char) error.getByte(0)).isEqualTo('E');
            assertThat(error.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("TLS is required");
        } finally {
            error.release();
        }
        assertThat((Object) ch.readInbound()).isNull();
        ch.finishAndReleaseAll();
    }
}
