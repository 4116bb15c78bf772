package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.pgrelay.proxy.server.ServerConnection;

import java.util.ArrayList;
import java.util.function.BiConsumer;

/**
 * A relay's traffic with a server connection that lives on another event loop than its client: frames for the server
 * are written there in one task at the flush, frames from it reach the client's loop in one task per read batch
 * (Netty would otherwise queue a task per frame, and one more for each flush). On the same loop, writes go straight
 * to the server's channel. Part of one {@link Relay}.
 */
final class LoopHops {
    private final ChannelHandlerContext ctx;
    /** Takes each frame that crossed, on the client's loop. */
    private final BiConsumer<ServerConnection, ByteBuf> receiver;
    /** Server frames read on the server's loop, not yet handed over (server loop only). */
    private ArrayList<ByteBuf> crossing;
    /** Frames for a server on another loop, written there at the next flush (client loop only). */
    private ArrayList<ByteBuf> outbox;

    LoopHops(ChannelHandlerContext ctx, BiConsumer<ServerConnection, ByteBuf> receiver) {
        this.ctx = ctx;
        this.receiver = receiver;
    }

    /** Writes a frame to {@code server}: now on the same loop, at the next {@link #flushServer} otherwise. */
    void write(ServerConnection server, ByteBuf frame) {
        Channel ch = server.channel();
        if (ch.eventLoop().inEventLoop()) {
            ch.write(frame, ch.voidPromise());
            return;
        }
        if (outbox == null) {
            outbox = new ArrayList<>(8);
        }
        outbox.add(frame);
    }

    /** Releases frames written to a server that is gone. */
    void dropOutbox() {
        if (outbox != null) {
            outbox.forEach(ByteBuf::release);
            outbox = null;
        }
    }

    /**
     * Sends frames still waiting for a flush to a server on another loop; nothing otherwise (on the same loop every
     * write is flushed at the end of its read batch), so the hand-back costs no pipeline flush per transaction.
     */
    void sendOutbox(ServerConnection conn) {
        if (outbox != null) {
            flushServer(conn);
        }
    }

    /** Flushes what was written to {@code conn}: on its loop in one task when that is another loop. */
    void flushServer(ServerConnection conn) {
        Channel ch = conn.channel();
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
