package io.pgrelay.proxy.client;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.pgrelay.protocol.message.GssEncRequest;
import io.pgrelay.protocol.message.SslRequest;

/**
 * Answers the encryption requests a client may send before its StartupMessage (SSLRequest, GSSENCRequest) and
 * passes everything else (StartupMessage, CancelRequest) on to the session. Encryption is negotiated here, apart
 * from the session, so the session sees the same messages whether the transport is plain, TLS or GSS.
 *
 * <p>Neither TLS nor GSS encryption is implemented yet: both are answered 'N', which libpq and JDBC take as "go on
 * in plaintext" (their default modes, prefer/allow, then connect).
 */
public final class StartupNegotiator extends ChannelInboundHandlerAdapter {
    private static final byte[] NO = {'N'};

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof SslRequest || msg instanceof GssEncRequest) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(NO));
            return;
        }
        ctx.fireChannelRead(msg);
    }
}
