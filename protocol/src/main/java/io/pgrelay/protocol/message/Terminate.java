package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.MessageType;

/** Terminate: the frontend closes the session. */
public final class Terminate implements Message {
    public static final Terminate INSTANCE = new Terminate();

    private Terminate() {
    }

    @Override
    public void encode(ByteBuf out) {
        out.writeByte(MessageType.TERMINATE);
        out.writeInt(4);
    }

    @Override
    public String toString() {
        return "Terminate";
    }
}
