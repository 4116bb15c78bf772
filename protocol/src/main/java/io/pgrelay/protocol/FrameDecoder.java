package io.pgrelay.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Splits a stream of typed messages into frames. Only the 5-byte header is read: each frame is emitted as a retained
 * slice of the cumulation (type byte, length, body), so forwarding it costs no copy.
 *
 * <p>A frame longer than {@code maxFrameLength} or, on the frontend side, a type byte no frontend sends fails the
 * stream at the header, before its body is buffered. After the first failure every later byte is discarded: the
 * stream is out of step and the connection is about to close.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private final int maxFrameLength;
    private final boolean frontend;
    /** Emit all complete frames of a read as one slice (see {@link #forBackendRuns}). */
    private final boolean runs;
    private boolean failed;

    private FrameDecoder(int maxFrameLength, boolean frontend, boolean runs) {
        if (maxFrameLength < Frames.HEADER_LENGTH) {
            throw new IllegalArgumentException("maxFrameLength " + maxFrameLength);
        }
        this.maxFrameLength = maxFrameLength;
        this.frontend = frontend;
        this.runs = runs;
        setCumulator(FrameDecoder::cumulate);
    }

    /**
     * Emitted frames are retained slices of the cumulation, so while any is still being written its buffer cannot
     * drop the bytes already read. Netty's merge cumulator would keep appending to that buffer and, during a long
     * stream (COPY, big result sets), grow it without bound. Here a shared buffer is never appended to: only its
     * unread tail (at most one partial frame) moves to a new buffer. An unshared one is compacted and appended to,
     * so a single huge frame arriving in pieces is still assembled in linear time.
     */
    static ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
        if (!cumulation.isReadable()) {
            cumulation.release();
            return in;
        }
        try {
            if (cumulation.refCnt() == 1 && !cumulation.isReadOnly()
                    && cumulation.maxCapacity() - cumulation.readableBytes() >= in.readableBytes()) {
                cumulation.discardReadBytes();
                cumulation.writeBytes(in);
                return cumulation;
            }
            ByteBuf fresh = alloc.buffer(cumulation.readableBytes() + in.readableBytes());
            fresh.writeBytes(cumulation).writeBytes(in);
            cumulation.release();
            return fresh;
        } finally {
            in.release();
        }
    }

    /** Decoder for what a client sends after its startup packet. */
    public static FrameDecoder forFrontend(int maxFrameLength) {
        return new FrameDecoder(maxFrameLength, true, false);
    }

    /** Decoder for what a PostgreSQL server sends. */
    public static FrameDecoder forBackend(int maxFrameLength) {
        return new FrameDecoder(maxFrameLength, false, false);
    }

    /**
     * Decoder for what a PostgreSQL server sends, emitting the complete frames of each read together as one retained
     * slice (a run: whole frames back to back, at least one). Its reader walks the headers in place, so a reply of
     * several frames costs one slice, one pipeline pass and, when all of it is forwarded, one write.
     */
    public static FrameDecoder forBackendRuns(int maxFrameLength) {
        return new FrameDecoder(maxFrameLength, false, true);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int runStart = in.readerIndex();
        while (in.readableBytes() >= Frames.HEADER_LENGTH) {
            int start = in.readerIndex();
            byte type = in.getByte(start);
            int length = in.getInt(start + 1);
            if (frontend && !MessageType.isFrontend(type)) {
                throw fail(in, runStart, out, "invalid frontend message type " + MessageType.describe(type));
            }
            if (length < 4) {
                throw fail(in, runStart, out, "invalid message length " + length + " for message type "
                        + MessageType.describe(type));
            }
            if (length > maxFrameLength - 1) {
                emitRun(in, runStart, out);
                failed = true;
                in.skipBytes(in.readableBytes());
                throw new LimitExceededException("max_packet_size", "message of type " + MessageType.describe(type)
                        + " is " + (length + 1) + " bytes, more than the maximum of " + maxFrameLength);
            }
            int frameLength = length + 1;
            if (in.readableBytes() < frameLength) {
                break;
            }
            if (runs) {
                in.skipBytes(frameLength);
            } else {
                out.add(in.readRetainedSlice(frameLength));
            }
        }
        emitRun(in, runStart, out);
    }

    /** Runs only: the whole frames read since {@code runStart}, if any, as one slice (frames before a bad header too). */
    private void emitRun(ByteBuf in, int runStart, List<Object> out) {
        if (runs && in.readerIndex() > runStart) {
            out.add(in.retainedSlice(runStart, in.readerIndex() - runStart));
        }
    }

    private ProtocolException fail(ByteBuf in, int runStart, List<Object> out, String message) {
        emitRun(in, runStart, out);
        failed = true;
        in.skipBytes(in.readableBytes());
        return new ProtocolException(message);
    }
}
