package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;

/** SSLRequest: the client asks for TLS before its StartupMessage. */
public final class SslRequest implements Message {
    public static final int CODE = 80877103;
    public static final SslRequest INSTANCE = new SslRequest();

    private SslRequest() {
    }

    @Override
    public void encode(ByteBuf out) {
        out.writeInt(8);
        out.writeInt(CODE);
    }

    @Override
    public String toString() {
        return "SSLRequest";
    }
}
