package io.pgrelay.proxy.gss;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.MessageToByteEncoder;
import io.pgrelay.proxy.tls.TransportSecurity;
import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSException;
import org.ietf.jgss.MessageProp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * GSSAPI encryption of a client connection, as PostgreSQL does it (be-secure-gssapi.c) after answering 'G' to a
 * GSSENCRequest. Every packet either way is a 4-byte big-endian length and that many bytes of token:
 * <ol>
 *   <li>negotiation: the client's context tokens go to {@link GSSContext#acceptSecContext}, the answers go back
 *       as packets, until the context is established;</li>
 *   <li>then every packet is {@code wrap}ped with confidentiality: inbound packets are unwrapped and passed on as
 *       plain bytes (to the startup decoder and the session); outbound bytes are cut into pieces whose wrapped
 *       packet fits libpq's 16 kB buffer, each wrapped and sent as one packet.</li>
 * </ol>
 * A token that does not verify closes the connection, with a log line.
 */
public final class GssEncryptionHandler extends ByteToMessageDecoder {
    private static final Logger log = LoggerFactory.getLogger(GssEncryptionHandler.class);
    /** libpq's PQ_GSS_SEND_BUFFER_SIZE / PQ_GSS_RECV_BUFFER_SIZE: a whole packet, length word included. */
    public static final int MAX_PACKET = 16384;
    /** Inbound packets up to this size are accepted (Kerberos tickets with large PACs exceed 16 kB). */
    private static final int MAX_INBOUND_TOKEN = 65536;

    private final GssAcceptor acceptor;
    private final TransportSecurity security;
    private final String remote;
    private GSSContext context;
    private volatile String clientPrincipal;
    private boolean failed;

    public GssEncryptionHandler(GssAcceptor acceptor, TransportSecurity security, String remote) {
        this.acceptor = acceptor;
        this.security = security;
        this.remote = remote;
    }

    /** The client's principal (with realm) once encryption is established; null before. */
    public String clientPrincipal() {
        return clientPrincipal;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws GSSException {
        context = acceptor.newContext();
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        while (in.readableBytes() >= 4) {
            long length = in.getUnsignedInt(in.readerIndex());
            if (length > MAX_INBOUND_TOKEN) {
                fail(ctx, "GSSAPI packet of " + length + " bytes is over the limit of " + MAX_INBOUND_TOKEN, null);
                in.skipBytes(in.readableBytes());
                return;
            }
            if (in.readableBytes() < 4 + length) {
                return;
            }
            in.skipBytes(4);
            byte[] token = new byte[(int) length];
            in.readBytes(token);
            try {
                if (clientPrincipal == null) {
                    negotiate(ctx, token);
                } else {
                    byte[] plain = context.unwrap(token, 0, token.length, new MessageProp(0, true));
                    out.add(ctx.alloc().buffer(plain.length).writeBytes(plain));
                }
            } catch (GSSException e) {
                fail(ctx, clientPrincipal == null ? "GSSAPI negotiation failed" : "GSSAPI unwrap failed", e);
                in.skipBytes(in.readableBytes());
                return;
            }
        }
    }

    private void negotiate(ChannelHandlerContext ctx, byte[] token) throws GSSException {
        byte[] reply = acceptor.accept(context, token);
        if (reply != null && reply.length > 0) {
            ByteBuf packet = ctx.alloc().buffer(4 + reply.length);
            packet.writeInt(reply.length).writeBytes(reply);
            ctx.writeAndFlush(packet); // written from here: passes no wrap encoder
        }
        if (context.isEstablished()) {
            if (!context.getConfState()) {
                throw new GSSException(GSSException.FAILURE, 0, "the client did not agree to confidentiality");
            }
            int limit;
            try {
                limit = context.getWrapSizeLimit(0, true, MAX_PACKET - 4);
            } catch (GSSException e) {
                limit = MAX_PACKET - 4 - 128; // a wrap token adds at most ~64 bytes for AES
            }
            ctx.pipeline().addAfter(ctx.name(), "gss-wrap", new WrapEncoder(Math.max(1, limit)));
            String principal = GssAcceptor.clientPrincipal(context);
            clientPrincipal = principal;
            security.countGssSession();
            log.info("client {}: GSSAPI encryption established for principal {}", remote, principal);
        }
    }

    private void fail(ChannelHandlerContext ctx, String what, GSSException e) {
        failed = true;
        log.warn("client {}: {}{}; closing", remote, what, e == null ? "" : ": " + e.getMessage());
        ctx.close();
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        disposeContext();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        super.channelInactive(ctx);
        disposeContext();
    }

    private void disposeContext() {
        if (context != null) {
            try {
                context.dispose();
            } catch (GSSException ignored) {
                // nothing to release that matters
            }
        }
    }

    /** Outbound: plain bytes in, wrapped packets of at most {@link #MAX_PACKET} bytes out. */
    private final class WrapEncoder extends MessageToByteEncoder<ByteBuf> {
        private final int maxPlain;

        WrapEncoder(int maxPlain) {
            super(ByteBuf.class, false);
            this.maxPlain = maxPlain;
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, ByteBuf msg, ByteBuf out) throws GSSException {
            while (msg.isReadable()) {
                int n = Math.min(maxPlain, msg.readableBytes());
                byte[] plain = new byte[n];
                msg.readBytes(plain);
                byte[] token = context.wrap(plain, 0, n, new MessageProp(0, true));
                out.writeInt(token.length).writeBytes(token);
            }
        }
    }
}
