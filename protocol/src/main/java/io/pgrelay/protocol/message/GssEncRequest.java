package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;

/** GSSENCRequest: the client asks for GSSAPI encryption before its StartupMessage. */
public final class GssEncRequest implements Message {
    public static final int CODE = 80877104;
    public static final GssEncRequest INSTANCE = new GssEncRequest();

    private GssEncRequest() {
    }

    @Override
    public void encode(ByteBuf out) {
        out.writeInt(8);
        out.writeInt(CODE);
    }

    @Override
    public String toString() {
        return "GSSENCRequest";
    }
}
