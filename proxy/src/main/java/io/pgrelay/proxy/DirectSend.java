package io.pgrelay.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelOutboundHandler;
import io.netty.channel.ChannelPromise;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.internal.SystemPropertyUtil;

import java.io.IOException;
import java.util.Map;

/**
 * Sends bytes that lie in a buffer straight to a plain epoll socket, as PgBouncer sends from its own buffer: no
 * slice, no outbound-buffer entry, no pipeline write and flush for a relayed reply or query. Only on the channel's
 * event loop, when nothing is queued on the channel (so bytes keep their order), and when no handler between the
 * writer and the socket changes the bytes (TLS, GSS encryption); otherwise, and for whatever the socket did not take
 * at once, the caller writes through the pipeline as before. {@code -Dpgrelay.directSend=false} turns it off (to
 * measure it).
 */
public final class DirectSend {
    private static final boolean ENABLED = !"false".equals(System.getProperty("pgrelay.directSend"));
    /**
     * Netty counts a fixed overhead per queued message in {@link ChannelOutboundBuffer#totalPendingWriteBytes}, so an
     * empty buffer in the queue counts too; set to 0, an empty write could hide, and {@link #nothingQueued} says no.
     */
    private static final boolean EVERY_ENTRY_COUNTS =
            SystemPropertyUtil.getInt("io.netty.transport.outboundBufferEntrySizeOverhead", 96) > 0;
    /** For a channel it cannot serve: every {@link #send} answers 0. */
    public static final DirectSend NONE = new DirectSend(null, null);

    private final Channel channel;
    private final Socket socket;

    private DirectSend(Channel channel, Socket socket) {
        this.channel = channel;
        this.socket = socket;
    }

    /**
     * For writes that {@code writer}'s handler makes with {@code writer.write}: usable when the channel is a native
     * socket and no outbound handler sits between that handler and the socket. Call once the pipeline is final
     * (after TLS or GSS negotiation).
     */
    public static DirectSend of(ChannelHandlerContext writer) {
        Channel ch = writer.channel();
        if (!ENABLED || !(ch instanceof UnixChannel unix)) {
            return NONE;
        }
        FileDescriptor fd = unix.fd();
        if (!(fd instanceof Socket socket)) {
            return NONE;
        }
        for (Map.Entry<String, ChannelHandler> e : ch.pipeline()) { // head first
            ChannelHandler h = e.getValue();
            if (h == writer.handler()) {
                return new DirectSend(ch, socket);
            }
            if (h instanceof ChannelOutboundHandler) {
                return NONE; // TLS, GSS wrapping: bytes change on their way
            }
        }
        return NONE; // the writer left the pipeline
    }

    /**
     * Sends {@code length} bytes from {@code index} of {@code buf} (not retained, not released); returns how many the
     * socket took: all, some (its buffer is full), or 0 when this path cannot be used now (bytes queued before them,
     * another thread, a heap buffer, a closed channel, or an error the pipeline write of the rest will meet and report
     * as usual).
     */
    public int send(ByteBuf buf, int index, int length) {
        if (length == 0 || !buf.hasMemoryAddress() || !nothingQueued() || !channel.isActive()) {
            return 0;
        }
        try {
            return socket.sendAddress(buf.memoryAddress(), index, index + length);
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * Sends {@code buf}'s readable bytes; when the socket took them all, releases it, completes {@code promise} and
     * answers true; otherwise skips what was sent and answers false: the caller writes the rest through the pipeline.
     */
    public boolean sendAll(ByteBuf buf, ChannelPromise promise) {
        int length = buf.readableBytes();
        int sent = send(buf, buf.readerIndex(), length);
        if (sent == length && length > 0) {
            buf.release();
            promise.trySuccess();
            return true;
        }
        buf.skipBytes(sent);
        return false;
    }

    /**
     * Whether a flush now would find nothing to write, so the caller may skip it (a flush walks the pipeline to the
     * socket: after a direct send that took everything it only finds an empty queue): true only on the channel's
     * loop, for a channel this path serves, with no message queued on it, flushed or not.
     */
    public boolean nothingQueued() {
        if (socket == null || !channel.eventLoop().inEventLoop()) {
            return false;
        }
        ChannelOutboundBuffer queued = channel.unsafe().outboundBuffer();
        return queued != null && queued.totalPendingWriteBytes() == 0 && EVERY_ENTRY_COUNTS;
    }

    /** Flushes {@code ctx}'s channel unless {@link #nothingQueued}: after direct sends that took everything. */
    public void flush(ChannelHandlerContext ctx) {
        if (!nothingQueued()) {
            ctx.flush();
        }
    }

    /** Whether {@link #send} may take bytes at all on this channel. */
    public boolean usable() {
        return socket != null;
    }
}
