package io.pgrelay.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

/**
 * Helpers for one typed frame held in a ByteBuf laid out as the wire has it: type byte, int32 length (which counts
 * itself), body. Reading these never moves the buffer's reader index, so a frame can be inspected and then
 * forwarded as it is.
 */
public final class Frames {
    /** Type byte + length field. */
    public static final int HEADER_LENGTH = 5;

    private Frames() {
    }

    public static byte type(ByteBuf frame) {
        return frame.getByte(frame.readerIndex());
    }

    /** Length of the body after the 5-byte header. */
    public static int bodyLength(ByteBuf frame) {
        return frame.getInt(frame.readerIndex() + 1) - 4;
    }

    /** A read-only view of the body (no copy, no retain). */
    public static ByteBuf body(ByteBuf frame) {
        return frame.slice(frame.readerIndex() + HEADER_LENGTH, frame.readableBytes() - HEADER_LENGTH);
    }

    /** Starts a frame: writes the type and a length placeholder; returns the index to pass to {@link #finish}. */
    public static int begin(ByteBuf out, byte type) {
        out.writeByte(type);
        int lengthIndex = out.writerIndex();
        out.writeInt(0);
        return lengthIndex;
    }

    /** Fills in the length of a frame started with {@link #begin}. */
    public static void finish(ByteBuf out, int lengthIndex) {
        out.setInt(lengthIndex, out.writerIndex() - lengthIndex);
    }

    /**
     * Appends {@code length} bytes of {@code src} from {@code index} to {@code out}, leaving {@code src}'s indexes
     * alone. Not {@code out.writeBytes(src, index, length)}: with Netty's adaptive allocator and a sliced source that
     * makes two ByteBuffer views per copy, where the source's {@code getBytes} copies memory to memory.
     */
    public static void append(ByteBuf out, ByteBuf src, int index, int length) {
        out.ensureWritable(length);
        int at = out.writerIndex();
        src.getBytes(index, out, at, length);
        out.writerIndex(at + length);
    }

    /** Reads a NUL-terminated string at the reader index and moves past it. */
    public static String readCString(ByteBuf buf) {
        int end = buf.indexOf(buf.readerIndex(), buf.writerIndex(), (byte) 0);
        if (end < 0) {
            throw new ProtocolException("invalid string in message: missing terminator");
        }
        String s = buf.toString(buf.readerIndex(), end - buf.readerIndex(), StandardCharsets.UTF_8);
        buf.readerIndex(end + 1);
        return s;
    }

    public static void writeCString(ByteBuf buf, String s) {
        buf.writeCharSequence(s, StandardCharsets.UTF_8);
        buf.writeByte(0);
    }

    /** Fails when a decoded body has bytes left over: a malformed message, named by its type. */
    public static void expectEnd(ByteBuf body, String messageName) {
        if (body.isReadable()) {
            throw new ProtocolException("invalid " + messageName + " message: " + body.readableBytes()
                    + " unexpected trailing bytes");
        }
    }
}
