package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;

/**
 * Writes replies to a client, in order: frames in buffers of their own, and frames passed on in place from a server's
 * read. Frames passed on back to back in one read become one slice and one write, so a typical answer (RowDescription,
 * DataRow, CommandComplete, ReadyForQuery) costs one pipeline write instead of four. Client's event loop only.
 */
final class ClientReplies {
    private final ChannelHandlerContext ctx;
    /** The read the pending frames lie in (not retained: {@link #end} runs before the read is released). */
    private ByteBuf run;
    private int start;
    private int end;

    ClientReplies(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** Writes a frame of its own, after the frames pending before it. */
    void write(ByteBuf frame) {
        end();
        ctx.write(frame, ctx.voidPromise());
    }

    /** Passes on the frame of {@code length} bytes at {@code at} in {@code run}; written by the next {@link #end}. */
    void pass(ByteBuf run, int at, int length) {
        if (run == this.run && at == end) {
            end += length;
            return;
        }
        end();
        this.run = run;
        start = at;
        end = at + length;
    }

    /** Writes the pending frames as one retained slice of their read. */
    void end() {
        ByteBuf r = run;
        if (r != null) {
            run = null;
            ctx.write(r.retainedSlice(start, end - start), ctx.voidPromise());
        }
    }
}
