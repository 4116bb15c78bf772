package io.pgrelay.proxy.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.config.SecurityConfig;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.SslRequest;
import io.pgrelay.proxy.PgRelayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * TLS towards a PostgreSQL server, ahead of {@link ServerConnection} in the pipeline: on connect it sends an
 * SSLRequest and holds back channelActive (so the StartupMessage waits); on 'S' it starts the TLS handshake and lets
 * the login proceed once it succeeds; on 'N' it goes on in plaintext when server_tls_mode is "prefer" and fails the
 * login otherwise. Extra bytes after the answer (CVE-2021-23222), a failed handshake or an unverifiable certificate
 * fail the login with the reason, which ServerConnection reports and logs.
 */
public final class ServerTlsNegotiator extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ServerTlsNegotiator.class);

    private final SslContext context;
    private final SecurityConfig.ServerTlsMode mode;
    private final ServerTarget target;
    private boolean answered;
    private ScheduledFuture<?> timeout;

    public ServerTlsNegotiator(SslContext context, SecurityConfig.ServerTlsMode mode, ServerTarget target) {
        this.context = context;
        this.mode = mode;
        this.target = target;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        long ms = target.connectTimeout().toMillis();
        if (ms > 0) {
            timeout = ctx.executor().schedule(() -> fail(ctx, "timeout negotiating TLS after " + ms + " ms"),
                    ms, TimeUnit.MILLISECONDS);
        }
        ctx.writeAndFlush(SslRequest.INSTANCE.encode(ctx.alloc()));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (answered) {
            ctx.fireChannelRead(msg); // only until the handshake completes and this handler is gone
            return;
        }
        ByteBuf buf = (ByteBuf) msg;
        try {
            if (!buf.isReadable()) {
                return;
            }
            answered = true;
            byte answer = buf.readByte();
            if (buf.isReadable()) {
                fail(ctx, "the server sent data after its answer to SSLRequest (possible injection attempt)");
                return;
            }
            if (answer == 'S') {
                SslHandler ssl = context.newHandler(ctx.alloc(), target.host(), target.port());
                ctx.pipeline().addBefore(ctx.name(), "tls", ssl);
                ssl.handshakeFuture().addListener(f -> {
                    if (f.isSuccess()) {
                        proceed(ctx);
                    } else {
                        fail(ctx, "TLS handshake failed: " + rootMessage(f.cause()));
                    }
                });
            } else if (answer == 'N') {
                if (mode == SecurityConfig.ServerTlsMode.PREFER) {
                    proceed(ctx);
                } else {
                    fail(ctx, "the server does not support TLS, and server_tls_mode is \"" + mode.configName()
                            + "\"");
                }
            } else if (answer == 'E') {
                fail(ctx, "the server answered the SSLRequest with an error");
            } else {
                fail(ctx, "invalid answer to SSLRequest: byte " + (answer & 0xff));
            }
        } finally {
            buf.release();
        }
    }

    /** Lets ServerConnection start its login over the (now encrypted or plain) connection. */
    private void proceed(ChannelHandlerContext ctx) {
        cancelTimeout();
        if (!ctx.channel().isActive() || ctx.isRemoved()) {
            return;
        }
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }

    private void fail(ChannelHandlerContext ctx, String why) {
        cancelTimeout();
        if (ctx.isRemoved()) {
            return;
        }
        // ServerConnection is still in LOGIN: it fails the login with this message and closes.
        ctx.fireExceptionCaught(new PgRelayException(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE,
                "TLS to server " + target.address() + ": " + why)));
        ctx.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Handshake errors also fail the handshake future, which reports them; keep them from ServerConnection.
        if (!ctx.isRemoved() && answered) {
            log.debug("server {}: TLS error: {}", target.address(), rootMessage(cause));
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    private void cancelTimeout() {
        if (timeout != null) {
            timeout.cancel(false);
            timeout = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimeout();
        ctx.fireChannelInactive();
    }

    static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return m == null ? root.getClass().getSimpleName() : m;
    }
}
