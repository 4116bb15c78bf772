package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.WrappedByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.pgrelay.protocol.Frames;
import io.pgrelay.proxy.server.ServerConnection;

import java.util.ArrayList;
import java.util.function.BiConsumer;

/**
 * A relay's writes to its server, and its traffic with a server connection that lives on another event loop than its
 * client: frames for the server are written there in one task at the flush, frames from it reach the client's loop in
 * one task per read batch (Netty would otherwise queue a task per frame, and one more for each flush). On the same
 * loop, writes go to the server's channel.
 *
 * <p>Frames the client sent back to back in one read (an extended-protocol batch: Parse, Bind, Describe, Execute,
 * Sync) and forwarded unchanged go to the server as one slice of that read, one pipeline write instead of five; a
 * frame of its own (a rewritten Bind, an injected Parse) ends the slice and goes after it, and the small frames after
 * it are copied to its end (a prepared statement's Describe, Execute and Sync). Part of one {@link Relay}.
 */
final class LoopHops {
    private final ChannelHandlerContext ctx;
    /** Takes each frame that crossed, on the client's loop. */
    private final BiConsumer<ServerConnection, ByteBuf> receiver;
    /** Server frames read on the server's loop, not yet handed over (server loop only). */
    private ArrayList<ByteBuf> crossing;
    /** Frames for a server on another loop, written there at the next flush (client loop only). */
    private ArrayList<ByteBuf> outbox;
    /**
     * The pending span: its first frame (held), where it goes, and the bytes it covers in its root buffer (more than
     * the first frame's once others joined it).
     */
    private ByteBuf first;
    /**
     * Or a frame of pgrelay's own (a renamed Bind, an injected Parse: a buffer of its own that nothing else holds),
     * held so that the small frames written after it are copied to its end: it and they leave in one piece, not one
     * iovec each.
     */
    private ByteBuf own;
    private Channel spanChannel;
    private ByteBuf spanRoot;
    private int spanStart;
    private int spanEnd;

    LoopHops(ChannelHandlerContext ctx, BiConsumer<ServerConnection, ByteBuf> receiver) {
        this.ctx = ctx;
        this.receiver = receiver;
    }

    /**
     * Writes a frame to a server's channel: joined to the frames before it when it lies right after them in the same
     * buffer, else after them; on the channel at the latest by the next {@link #flushServer} or {@link #sendOutbox}.
     */
    void write(Channel ch, ByteBuf frame) {
        if (own != null) {
            if (ch == spanChannel && appends(frame)) {
                return;
            }
            endSpan();
        } else if (first != null) {
            if (ch == spanChannel && joins(frame)) {
                return;
            }
            endSpan();
        }
        ByteBuf parent = parentOf(frame);
        if (parent == null && frame.refCnt() == 1 && !frame.isReadOnly() && !composite(frame)) {
            own = frame; // copying what follows is safe from any loop: the copied frames are released here
            spanChannel = ch;
            return;
        }
        // Joined on the server's own loop only: a span written from another loop would need the tracked frame's
        // release (see endSpan) to cross back.
        ByteBuf root = ch.eventLoop().inEventLoop() ? parent : null;
        int at = root == null ? -1 : indexIn(root, frame);
        if (at < 0) {
            emit(ch, frame); // another loop's, or not comparable: nothing follows it in place
            return;
        }
        first = frame;
        spanChannel = ch;
        spanRoot = root;
        spanStart = at;
        spanEnd = at + frame.readableBytes();
    }

    /** Frames up to this size are copied to the end of a held frame of pgrelay's own. */
    static final int APPENDED_MAX = 256;

    /** Whether {@code frame} was copied to the end of the held frame (then it is released). */
    private boolean appends(ByteBuf frame) {
        int n = frame.readableBytes();
        if (n > APPENDED_MAX || own.maxWritableBytes() < n) {
            return false;
        }
        Frames.append(own, frame, frame.readerIndex(), n);
        frame.release();
        return true;
    }

    private static boolean composite(ByteBuf frame) {
        return undetected(frame) instanceof io.netty.buffer.CompositeByteBuf;
    }

    /** {@code frame} itself, or the buffer a leak detector's wrapper stands for. */
    private static ByteBuf undetected(ByteBuf frame) {
        return frame instanceof WrappedByteBuf ? frame.unwrap() : frame;
    }

    /** Whether {@code frame} continues the pending span in place (then it is released: the span covers it). */
    private boolean joins(ByteBuf frame) {
        if (parentOf(frame) != spanRoot || indexIn(spanRoot, frame) != spanEnd) {
            return false;
        }
        spanEnd += frame.readableBytes();
        frame.release();
        return true;
    }

    /**
     * The buffer {@code frame} is a slice of (a read of the client's, for the decoder's frames), looking through a
     * leak detector's wrapper; null for a buffer of its own. A derived buffer keeps its parent alive, so the span's
     * first frame keeps alive what the span covers.
     */
    static ByteBuf parentOf(ByteBuf frame) {
        ByteBuf b = undetected(frame);
        return b == null ? null : b.unwrap();
    }

    /**
     * Where {@code frame}'s readable bytes start in {@code root}, the buffer it was sliced from; -1 when that cannot be
     * told (no address or array to compare).
     */
    static int indexIn(ByteBuf root, ByteBuf frame) {
        long at;
        if (frame.hasMemoryAddress() && root.hasMemoryAddress()) {
            at = frame.memoryAddress() + frame.readerIndex() - root.memoryAddress();
        } else if (frame.hasArray() && root.hasArray() && frame.array() == root.array()) {
            at = (long) frame.arrayOffset() + frame.readerIndex() - root.arrayOffset();
        } else {
            return -1;
        }
        return at >= 0 && at + frame.readableBytes() <= root.capacity() ? (int) at : -1;
    }

    /**
     * Writes the pending span: its first frame as it is, or one retained slice over the frames joined to it; or the
     * held frame of pgrelay's own, with what was copied to it.
     */
    private boolean endSpan() {
        if (own != null) {
            ByteBuf o = own;
            own = null;
            emit(spanChannel, o);
            return true;
        }
        ByteBuf f = first;
        if (f == null) {
            return false;
        }
        first = null;
        ByteBuf root = spanRoot;
        spanRoot = null;
        if (spanEnd - spanStart == f.readableBytes()) {
            emit(spanChannel, f); // nothing joined it
            return true;
        }
        Channel ch = spanChannel; // on its loop: only then do frames join
        ByteBuf span = root.retainedSlice(spanStart, spanEnd - spanStart);
        if (f instanceof WrappedByteBuf) {
            // A leak detector's (sampled reads; every read in the tests): the read is released through it last, once
            // the span is written, or the detector would report the read as leaked.
            ch.write(span).addListener(written -> f.release());
        } else {
            f.release();
            ch.write(span, ch.voidPromise());
        }
        return true;
    }

    private void emit(Channel ch, ByteBuf buf) {
        if (ch.eventLoop().inEventLoop()) {
            ch.write(buf, ch.voidPromise());
            return;
        }
        if (outbox == null) {
            outbox = new ArrayList<>(8);
        }
        outbox.add(buf);
    }

    /** Releases frames written to a server that is gone. */
    void dropOutbox() {
        if (own != null) {
            own.release();
            own = null;
        }
        if (first != null) {
            first.release(); // the frames joined to it were released when they joined
            first = null;
            spanRoot = null;
        }
        if (outbox != null) {
            outbox.forEach(ByteBuf::release);
            outbox = null;
        }
    }

    /**
     * Writes what is pending for a server's channel before the connection is given back: the span, and frames waiting
     * for a flush to a server on another loop; no flush on the same loop (there every write is flushed at the end of
     * its read batch), so the hand-back costs no pipeline flush per transaction.
     */
    void sendOutbox(Channel ch) {
        boolean wrote = endSpan(); // only when frames came in since the last flush (rare: a hand-back mid-read)
        if (outbox != null) {
            flushServer(ch);
        } else if (wrote) {
            ch.flush();
        }
    }

    /** Flushes what was written to a server's channel: on its loop in one task when that is another loop. */
    void flushServer(Channel ch) {
        endSpan();
        if (ch.eventLoop().inEventLoop()) {
            ch.flush();
            return;
        }
        ArrayList<ByteBuf> batch = outbox;
        if (batch == null) {
            return; // nothing written since the last flush
        }
        outbox = null;
        ch.eventLoop().execute(() -> {
            for (int i = 0; i < batch.size(); i++) {
                ch.write(batch.get(i), ch.voidPromise()); // a closed channel releases them
            }
            ch.flush();
        });
    }

    /** On the server's loop: keeps a frame for the client's loop until {@link #handOver}. */
    void cross(ByteBuf frame) {
        if (crossing == null) {
            crossing = new ArrayList<>(8);
        }
        crossing.add(frame); // one task per read batch, not one per frame
    }

    /** On the server's loop: gives the frames read so far to the client's loop, in order, in one task. */
    void handOver(ServerConnection conn, boolean flush) {
        ArrayList<ByteBuf> batch = crossing;
        crossing = null;
        if (batch == null && !flush) {
            return;
        }
        ctx.executor().execute(() -> {
            if (batch != null) {
                int i = 0;
                try {
                    for (; i < batch.size(); i++) {
                        receiver.accept(conn, batch.get(i));
                    }
                } finally {
                    for (i++; i < batch.size(); i++) {
                        batch.get(i).release(); // only after a failure above
                    }
                }
            }
            if (flush) {
                ctx.flush();
            }
        });
    }
}
