package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.pgrelay.config.SecurityConfig;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.StartupDecoder;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.GssEncRequest;
import io.pgrelay.protocol.message.SslRequest;
import io.pgrelay.protocol.message.StartupMessage;
import io.pgrelay.proxy.gss.GssEncryptionHandler;
import io.pgrelay.proxy.tls.TlsContexts;
import io.pgrelay.proxy.tls.TransportSecurity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.net.InetSocketAddress;

/**
 * Negotiates the encryption of a client connection before its StartupMessage, apart from the session, so the session
 * sees the same messages whether the transport is plain, TLS or GSS:
 * <ul>
 *   <li>SSLRequest: 'S' and a TLS handshake when tls_mode allows it, 'N' otherwise;</li>
 *   <li>GSSENCRequest: 'G' and GSSAPI encryption when a keytab is configured, 'N' otherwise;</li>
 *   <li>PostgreSQL 17's direct TLS (a TLS ClientHello as the very first bytes, ALPN "postgresql");</li>
 *   <li>tls_mode = "require": a StartupMessage that arrives unencrypted gets a FATAL error.</li>
 * </ul>
 * A client that sends bytes after its SSLRequest/GSSENCRequest before the answer (they would be read as if
 * encrypted: CVE-2021-23214), a failed handshake or a second request once encrypted each close that connection,
 * with one log line saying why. CancelRequests and StartupMessages pass on to the session.
 */
public final class StartupNegotiator extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(StartupNegotiator.class);
    private static final byte[] NO = {'N'};
    private static final byte[] SSL_YES = {'S'};
    private static final byte[] GSS_YES = {'G'};
    /** The first byte of a TLS record carrying a handshake (ClientHello). */
    private static final int TLS_HANDSHAKE_RECORD = 0x16;

    private final TransportSecurity security;
    private boolean sslAnswered;
    private boolean gssAnswered;
    /** Set while the startup decoder is being removed: bytes it still held arrive then, and are not allowed. */
    private boolean swapping;
    private boolean trailingBytes;
    private boolean closing;

    public StartupNegotiator() {
        this(TransportSecurity.NONE);
    }

    public StartupNegotiator(TransportSecurity security) {
        this.security = security;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        security.attach(ctx.channel());
        if (security.tls() != null && security.config().clientTls()) {
            ctx.pipeline().addFirst("direct-tls", new DirectTlsDetector());
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (swapping && msg instanceof ByteBuf extra) {
            trailingBytes = true;
            extra.release();
            return;
        }
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof SslRequest) {
            onSslRequest(ctx);
        } else if (msg instanceof GssEncRequest) {
            onGssEncRequest(ctx);
        } else if (msg instanceof StartupMessage startup && mustRefusePlaintext(ctx)) {
            refusePlaintext(ctx, startup);
        } else {
            ctx.fireChannelRead(msg);
        }
    }

    private void onSslRequest(ChannelHandlerContext ctx) {
        if (TransportSecurity.encrypted(ctx.channel()) || sslAnswered) {
            violation(ctx, "SSLRequest on a connection that already negotiated encryption");
            return;
        }
        sslAnswered = true;
        SslContext context = security.tls() == null || !security.config().clientTls() ? null
                : security.tls().forClients();
        if (context == null) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(NO));
            return;
        }
        if (!removeStartupDecoder(ctx, "SSLRequest")) {
            return;
        }
        ctx.writeAndFlush(Unpooled.wrappedBuffer(SSL_YES));
        SslHandler ssl = context.newHandler(ctx.alloc());
        ChannelPipeline p = ctx.pipeline();
        p.addBefore(ctx.name(), "tls", ssl);
        p.addAfter("tls", "startup", new StartupDecoder());
        watchHandshake(ctx, ssl, false);
    }

    private void onGssEncRequest(ChannelHandlerContext ctx) {
        if (TransportSecurity.encrypted(ctx.channel()) || gssAnswered) {
            violation(ctx, "GSSENCRequest on a connection that already negotiated encryption");
            return;
        }
        gssAnswered = true;
        if (security.gss() == null) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(NO));
            return;
        }
        if (!removeStartupDecoder(ctx, "GSSENCRequest")) {
            return;
        }
        ctx.writeAndFlush(Unpooled.wrappedBuffer(GSS_YES));
        ChannelPipeline p = ctx.pipeline();
        GssEncryptionHandler gss = new GssEncryptionHandler(security.gss(), security, remote(ctx));
        p.addBefore(ctx.name(), "gss", gss);
        p.addAfter("gss", "startup", new StartupDecoder());
    }

    /**
     * Takes the startup decoder out (it is put back behind the TLS/GSS handler): bytes it still holds were sent
     * after the request without waiting for the answer, and end the connection.
     */
    private boolean removeStartupDecoder(ChannelHandlerContext ctx, String request) {
        swapping = true;
        try {
            ctx.pipeline().remove(StartupDecoder.class);
        } finally {
            swapping = false;
        }
        if (trailingBytes) {
            closing = true;
            log.warn("client {}: sent data after its {} before the answer; closing (possible injection attempt)",
                    remote(ctx), request);
            ctx.close();
            return false;
        }
        return true;
    }

    private void watchHandshake(ChannelHandlerContext ctx, SslHandler ssl, boolean direct) {
        ssl.handshakeFuture().addListener(f -> {
            if (!f.isSuccess()) {
                closing = true;
                log.warn("client {}: TLS handshake failed: {}", remote(ctx), reason(f.cause()));
                ctx.close();
                return;
            }
            if (direct && !TlsContexts.ALPN_POSTGRESQL.equals(ssl.applicationProtocol())) {
                closing = true;
                log.warn("client {}: direct TLS connection without ALPN protocol \"postgresql\"; closing",
                        remote(ctx));
                ctx.close();
                return;
            }
            security.countTlsSession();
            if (log.isDebugEnabled()) {
                log.debug("client {}: TLS established ({}, {}{})", remote(ctx), ssl.engine().getSession().getProtocol(),
                        ssl.engine().getSession().getCipherSuite(), direct ? ", direct" : "");
            }
        });
    }

    private boolean mustRefusePlaintext(ChannelHandlerContext ctx) {
        return security.config().tlsMode() == SecurityConfig.TlsMode.REQUIRE
                && !TransportSecurity.encrypted(ctx.channel());
    }

    private void refusePlaintext(ChannelHandlerContext ctx, StartupMessage startup) {
        closing = true;
        String user = startup.parameter("user");
        log.warn("client {}: refused plaintext login of user \"{}\": tls_mode is \"require\"", remote(ctx), user);
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION,
                        "TLS is required: pgrelay does not accept unencrypted connections (tls_mode = \"require\")")
                .withHint("connect with sslmode=require (or verify-ca / verify-full)").encode(ctx.alloc()))
                .addListener(ChannelFutureListener.CLOSE);
    }

    private void violation(ChannelHandlerContext ctx, String what) {
        closing = true;
        log.warn("client {}: protocol violation: {}; closing", remote(ctx), what);
        ctx.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A failed handshake surfaces here too: its listener logs it once and closes; the session need not know.
        if (sslFailure(cause)) {
            if (!closing) {
                closing = true;
                log.warn("client {}: TLS error: {}", remote(ctx), reason(cause));
            }
            ctx.close();
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    private static boolean sslFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SSLException || c instanceof io.netty.handler.ssl.NotSslRecordException) {
                return true;
            }
        }
        return false;
    }

    static String reason(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        return m == null ? root.getClass().getSimpleName() : m;
    }

    static String remote(ChannelHandlerContext ctx) {
        if (ctx.channel().remoteAddress() instanceof InetSocketAddress a) {
            return a.getAddress().getHostAddress() + ":" + a.getPort();
        }
        return "?";
    }

    /**
     * Looks at the first byte a client sends: a TLS handshake record means PostgreSQL 17's direct TLS (no
     * SSLRequest). Then TLS starts right away, and must negotiate ALPN "postgresql". Removes itself either way.
     */
    private final class DirectTlsDetector extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext dctx, Object msg) {
            ChannelPipeline p = dctx.pipeline();
            if (msg instanceof ByteBuf buf && buf.isReadable()
                    && buf.getUnsignedByte(buf.readerIndex()) == TLS_HANDSHAKE_RECORD) {
                SslContext context = security.tls() == null ? null : security.tls().forClients();
                if (context == null) {
                    buf.release();
                    log.warn("client {}: direct TLS attempted but TLS is not enabled; closing", remote(dctx));
                    dctx.close();
                    return;
                }
                sslAnswered = true;
                SslHandler ssl = context.newHandler(dctx.alloc());
                p.addAfter(dctx.name(), "tls", ssl);
                watchHandshake(p.context(StartupNegotiator.this), ssl, true);
                dctx.fireChannelRead(buf); // the ClientHello goes to the TLS handler
                p.remove(this);
                return;
            }
            dctx.fireChannelRead(msg);
            if (dctx.pipeline().context(this) != null) {
                p.remove(this);
            }
        }
    }
}
