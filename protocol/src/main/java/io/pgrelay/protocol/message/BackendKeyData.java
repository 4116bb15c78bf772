package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.ProtocolException;

/** BackendKeyData: the key a client needs to cancel its queries. */
public record BackendKeyData(int processId, int secretKey) implements Message {
    public static BackendKeyData decode(ByteBuf frame) {
        ByteBuf body = Frames.body(frame);
        if (body.readableBytes() != 8) {
            throw new ProtocolException("invalid BackendKeyData message: " + body.readableBytes() + " byte key");
        }
        return new BackendKeyData(body.readInt(), body.readInt());
    }

    @Override
    public void encode(ByteBuf out) {
        out.writeByte(MessageType.BACKEND_KEY_DATA);
        out.writeInt(12);
        out.writeInt(processId);
        out.writeInt(secretKey);
    }

    @Override
    public String toString() {
        return "BackendKeyData[processId=" + processId + "]";
    }
}
