package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.WrappedByteBuf;

/**
 * Server frames on their way to the client that lie back to back in one read buffer (a RowDescription, its DataRows,
 * CommandComplete, ReadyForQuery) go out as one retained slice of that buffer: one pipeline write, one outbound entry
 * and one iovec instead of one per frame, with no copy. Part of one {@link Relay}, on the client's loop.
 *
 * <p>Frames are retained slices of the decoder's cumulation, which is never written to while a slice of it is alive
 * (FrameDecoder's cumulator), so the bytes of a run stay put until the merged slice is written.
 */
final class FrameRun {
    private ByteBuf first; // the run's first frame, holding the run's reference to the buffer
    private ByteBuf parent; // the buffer every frame of the run is a slice of
    private long start; // where the run starts: native address, or offset in the parent's array
    private int length;

    /**
     * Adds a frame, taking ownership: it extends the run when it starts where the run ends in the same buffer.
     * Returns the run it ended (the caller writes it), or null.
     */
    ByteBuf add(ByteBuf frame) {
        if (first != null) {
            ByteBuf p = parentOf(frame);
            if (p == parent && p != null && start(frame) == start + length
                    && start + length + frame.readableBytes() <= base(p) + p.capacity()) {
                length += frame.readableBytes();
                frame.release(); // the run's first frame keeps the buffer
                return null;
            }
        }
        ByteBuf ended = take();
        first = frame;
        parent = parentOf(frame);
        start = parent == null ? Long.MIN_VALUE : start(frame);
        length = frame.readableBytes();
        return ended;
    }

    /** The run so far as one buffer, the caller's to write; null when there is none. The run is empty after. */
    ByteBuf take() {
        ByteBuf f = first;
        if (f == null) {
            return null;
        }
        first = null;
        ByteBuf p = parent;
        parent = null;
        if (length == f.readableBytes()) {
            return f;
        }
        ByteBuf merged = p.retainedSlice((int) (start - base(p)), length);
        f.release();
        return merged;
    }

    /** The client is gone: drop what was not written. */
    void release() {
        if (first != null) {
            first.release();
            first = null;
            parent = null;
        }
    }

    /** The buffer {@code frame} is a slice of (past leak-detection wrappers), or null when it is no slice. */
    private static ByteBuf parentOf(ByteBuf frame) {
        ByteBuf b = frame;
        while (b instanceof WrappedByteBuf) {
            b = b.unwrap();
        }
        ByteBuf p = b.unwrap();
        return p != null && (p.hasMemoryAddress() || p.hasArray()) ? p : null;
    }

    private static long start(ByteBuf b) {
        if (b.hasMemoryAddress()) {
            return b.memoryAddress() + b.readerIndex();
        }
        return b.hasArray() ? (long) b.arrayOffset() + b.readerIndex() : Long.MIN_VALUE;
    }

    private static long base(ByteBuf p) {
        return p.hasMemoryAddress() ? p.memoryAddress() : p.arrayOffset();
    }
}
