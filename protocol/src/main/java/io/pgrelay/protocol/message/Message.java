package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** A protocol message pgrelay writes itself. Messages it only forwards stay as frames and never become objects. */
public interface Message {
    /** Writes the whole message as on the wire (type byte and length included where the message has them). */
    void encode(ByteBuf out);

    default ByteBuf encode(ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer();
        try {
            encode(out);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }
}
