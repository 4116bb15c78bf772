package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.pgrelay.proxy.DirectSend;

/**
 * Writes replies to a client, in order: frames in buffers of their own, and frames passed on in place from a server's
 * read. Frames passed on back to back in one read become one slice and one write, so a typical answer (RowDescription,
 * DataRow, CommandComplete, ReadyForQuery) costs one pipeline write instead of four, or, on a plain socket with
 * nothing queued, one send straight from the server's read ({@link DirectSend}). Client's event loop only.
 */
final class ClientReplies {
    private final ChannelHandlerContext ctx;
    /** Looked up at the first send, when the client's pipeline is final (startup handlers gone). */
    private DirectSend direct;
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

    /** Flushes the client's channel, unless nothing is queued on it (every reply so far went straight out). */
    void flush() {
        if (direct == null) {
            ctx.flush(); // nothing sent yet: the pipeline may still change
        } else {
            direct.flush(ctx);
        }
    }

    /** Sends the pending frames from their read, or writes them (or what the socket did not take) as one slice. */
    void end() {
        ByteBuf r = run;
        if (r != null) {
            run = null;
            DirectSend d = direct;
            if (d == null) {
                direct = d = DirectSend.of(ctx);
            }
            int length = end - start;
            int sent = d.send(r, start, length);
            if (sent < length) {
                ctx.write(r.retainedSlice(start + sent, length - sent), ctx.voidPromise());
            }
        }
    }
}
