package io.pgrelay.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.pgrelay.protocol.message.CancelRequest;
import io.pgrelay.protocol.message.GssEncRequest;
import io.pgrelay.protocol.message.SslRequest;
import io.pgrelay.protocol.message.StartupMessage;

import java.util.List;

/**
 * Decodes the untyped packets a client sends first: SSLRequest, GSSENCRequest, CancelRequest and StartupMessage.
 * One packet per read event ({@code singleDecode}): what follows a packet may belong to another decoder (TLS, typed
 * frames), so the session decides what to do before anything more is read; bytes left over are handed to whatever
 * replaces this decoder in the pipeline.
 */
public final class StartupDecoder extends ByteToMessageDecoder {
    /** PostgreSQL's own limit (MAX_STARTUP_PACKET_LENGTH). */
    public static final int MAX_STARTUP_PACKET_LENGTH = 10000;

    private boolean failed;

    public StartupDecoder() {
        setSingleDecode(true);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (in.readableBytes() < 8) {
            return;
        }
        int start = in.readerIndex();
        int length = in.getInt(start);
        if (length < 8 || length > MAX_STARTUP_PACKET_LENGTH) {
            failed = true;
            in.skipBytes(in.readableBytes());
            String message = "invalid length of startup packet: " + length + " (must be 8 to "
                    + MAX_STARTUP_PACKET_LENGTH + " bytes)";
            throw length < 8 ? new ProtocolException(message)
                    : new LimitExceededException("startup_packet_size", message);
        }
        if (in.readableBytes() < length) {
            return;
        }
        int code = in.getInt(start + 4);
        ByteBuf body = in.slice(start + 8, length - 8);
        in.skipBytes(length);
        try {
            out.add(decodePacket(code, body));
        } catch (ProtocolException e) {
            failed = true;
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }

    static Object decodePacket(int code, ByteBuf body) {
        switch (code) {
            case SslRequest.CODE:
                Frames.expectEnd(body, "SSLRequest");
                return SslRequest.INSTANCE;
            case GssEncRequest.CODE:
                Frames.expectEnd(body, "GSSENCRequest");
                return GssEncRequest.INSTANCE;
            case CancelRequest.CODE:
                return CancelRequest.decodeBody(body);
            default:
                return StartupMessage.decodeBody(code, body);
        }
    }
}
