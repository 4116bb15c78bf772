package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;

/** SASLResponse: a later SASL message from the client; the whole body is mechanism data. */
public record SASLResponse(byte[] data) implements Message {
    public SASLResponse {
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    public static SASLResponse decode(ByteBuf frame) {
        return new SASLResponse(ByteBufUtil.getBytes(Frames.body(frame)));
    }

    @Override
    public void encode(ByteBuf out) {
        int len = Frames.begin(out, MessageType.PASSWORD);
        out.writeBytes(data);
        Frames.finish(out, len);
    }

    @Override
    public String toString() {
        return "SASLResponse[" + data.length + " bytes]";
    }
}
