package io.pgrelay.proxy.prepared;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.ProtocolException;

import java.nio.charset.StandardCharsets;

/**
 * Reads statement names out of Parse/Bind/Describe/Close frames in place and builds renamed copies. A renamed frame
 * shares the unchanged tail of the original (a retained slice: Bind parameters are not copied).
 */
public final class Rewrites {
    private Rewrites() {
    }

    /** Index just past the NUL that ends the C string starting at {@code from}. */
    static int endOfCString(ByteBuf frame, int from) {
        int nul = from < frame.writerIndex() ? frame.indexOf(from, frame.writerIndex(), (byte) 0) : -1;
        if (nul < 0) {
            throw new ProtocolException("invalid " + MessageType.describe(Frames.type(frame))
                    + " message: missing string terminator");
        }
        return nul + 1;
    }

    static String cString(ByteBuf frame, int from, int end) {
        return frame.toString(from, end - 1 - from, StandardCharsets.UTF_8);
    }

    /**
     * Throws {@link ProtocolException}, naming the message, when a Parse, Bind, Describe or Close lacks a field pgrelay
     * reads from it (names, the query text, the parameter types a Parse announces). Called as a frame arrives, before
     * anyone takes it: pgrelay may answer a Parse itself and keep its definition, which PostgreSQL would have refused.
     */
    public static void checkFields(ByteBuf frame) {
        byte type = Frames.type(frame);
        switch (type) {
            case MessageType.PARSE -> {
                int types = endOfCString(frame, parseQueryStart(frame));
                int left = frame.writerIndex() - types;
                if (left < 2 || left != 2 + 4 * frame.getUnsignedShort(types)) {
                    throw new ProtocolException("invalid " + MessageType.describe(type)
                            + " message: the parameter types do not match their count");
                }
            }
            case MessageType.BIND -> endOfCString(frame, bindStatementStart(frame));
            case MessageType.DESCRIBE, MessageType.CLOSE -> {
                target(frame);
                endOfCString(frame, frame.readerIndex() + Frames.HEADER_LENGTH + 1);
            }
            default -> {
            }
        }
    }

    /** Parse: the statement name. */
    public static String parseName(ByteBuf frame) {
        int start = frame.readerIndex() + Frames.HEADER_LENGTH;
        return cString(frame, start, endOfCString(frame, start));
    }

    /** Parse: query text, parameter count and types, as bytes (the statement's identity). */
    public static byte[] parseDefinition(ByteBuf frame) {
        int defStart = parseQueryStart(frame);
        byte[] def = new byte[frame.writerIndex() - defStart];
        frame.getBytes(defStart, def);
        return def;
    }

    /** The query text of a Parse, for logs and checks. */
    public static String parseQuery(ByteBuf frame) {
        int q = parseQueryStart(frame);
        return cString(frame, q, endOfCString(frame, q));
    }

    /** Parse: where the query text starts, after the statement name. */
    public static int parseQueryStart(ByteBuf frame) {
        return endOfCString(frame, frame.readerIndex() + Frames.HEADER_LENGTH);
    }

    /** The length in bytes of the NUL-terminated string at {@code from}, its NUL not counted. */
    public static int cStringLength(ByteBuf frame, int from) {
        return endOfCString(frame, from) - 1 - from;
    }

    /** A Parse frame for {@code name} with a stored definition. */
    public static ByteBuf parse(ByteBufAllocator alloc, String name, byte[] definition) {
        ByteBuf out = alloc.buffer(Frames.HEADER_LENGTH + name.length() + 1 + definition.length);
        int len = Frames.begin(out, MessageType.PARSE);
        Frames.writeCString(out, name);
        out.writeBytes(definition);
        Frames.finish(out, len);
        return out;
    }

    /** Bind: the statement name (after the portal name). */
    public static String bindStatement(ByteBuf frame) {
        int stmt = bindStatementStart(frame);
        return cString(frame, stmt, endOfCString(frame, stmt));
    }

    /** Bind: where the statement name starts (after the portal name). */
    public static int bindStatementStart(ByteBuf frame) {
        return endOfCString(frame, frame.readerIndex() + Frames.HEADER_LENGTH);
    }

    /**
     * Parameters up to this size are copied into a renamed Bind, which is then one buffer (one iovec, and room for the
     * frames after it, see LoopHops); larger ones stay where they are, joined by a composite buffer.
     */
    static final int COPIED_PARAMETERS = 1024;
    /** Room left in a renamed Bind for the Describe, Execute and Sync that usually follow it. */
    private static final int ROOM_AFTER_BIND = 64;

    /** Bind renamed to {@code statement}; consumes {@code frame}. */
    public static ByteBuf renameBind(ByteBufAllocator alloc, ByteBuf frame, String statement) {
        int start = frame.readerIndex() + Frames.HEADER_LENGTH;
        int stmt = endOfCString(frame, start);
        int rest = endOfCString(frame, stmt);
        int tail = frame.writerIndex() - rest;
        int headLength = Frames.HEADER_LENGTH + (stmt - start) + statement.length() + 1;
        boolean copy = tail <= COPIED_PARAMETERS;
        ByteBuf head = alloc.buffer(copy ? headLength + tail + ROOM_AFTER_BIND : headLength);
        head.writeByte(MessageType.BIND);
        head.writeInt(0);
        Frames.append(head, frame, start, stmt - start); // portal name with its NUL
        Frames.writeCString(head, statement);
        if (!copy) {
            return join(alloc, head, frame, rest);
        }
        Frames.append(head, frame, rest, tail);
        frame.release();
        head.setInt(1, head.readableBytes() - 1);
        return head;
    }

    /** Describe/Close: 'S' or 'P'. */
    public static byte target(ByteBuf frame) {
        if (Frames.bodyLength(frame) < 1) {
            throw new ProtocolException("invalid " + MessageType.describe(Frames.type(frame))
                    + " message: no 'S' or 'P' for a statement or a portal");
        }
        return frame.getByte(frame.readerIndex() + Frames.HEADER_LENGTH);
    }

    /** Describe/Close: the statement or portal name. */
    public static String targetName(ByteBuf frame) {
        int start = frame.readerIndex() + Frames.HEADER_LENGTH + 1;
        return cString(frame, start, endOfCString(frame, start));
    }

    /** A Describe or Close of statement {@code name}. */
    public static ByteBuf statementMessage(ByteBufAllocator alloc, byte type, String name) {
        ByteBuf out = alloc.buffer(Frames.HEADER_LENGTH + 2 + name.length());
        int len = Frames.begin(out, type);
        out.writeByte('S');
        Frames.writeCString(out, name);
        Frames.finish(out, len);
        return out;
    }

    /** A bodiless reply such as ParseComplete or CloseComplete. */
    public static ByteBuf emptyReply(ByteBufAllocator alloc, byte type) {
        return alloc.buffer(5).writeByte(type).writeInt(4);
    }

    /** head + frame[from..] as one frame, with the length fixed; consumes frame. */
    private static ByteBuf join(ByteBufAllocator alloc, ByteBuf head, ByteBuf frame, int from) {
        ByteBuf tail = frame.retainedSlice(from, frame.writerIndex() - from);
        frame.release();
        CompositeByteBuf out = alloc.compositeBuffer(2);
        out.addComponents(true, head, tail);
        out.setInt(1, out.readableBytes() - 1);
        return out;
    }
}
