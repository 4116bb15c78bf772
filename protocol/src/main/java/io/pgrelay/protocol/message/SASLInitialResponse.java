package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.ProtocolException;

/** SASLInitialResponse: the chosen mechanism and its first message (absent when the length is -1). */
public record SASLInitialResponse(String mechanism, byte[] data) implements Message {
    public SASLInitialResponse {
        data = data == null ? null : data.clone();
    }

    @Override
    public byte[] data() {
        return data == null ? null : data.clone();
    }

    public static SASLInitialResponse decode(ByteBuf frame) {
        ByteBuf body = Frames.body(frame);
        String mechanism = Frames.readCString(body);
        if (body.readableBytes() < 4) {
            throw new ProtocolException("invalid SASLInitialResponse message: missing data length");
        }
        int length = body.readInt();
        byte[] data = null;
        if (length >= 0) {
            if (length != body.readableBytes()) {
                throw new ProtocolException("invalid SASLInitialResponse message: data length " + length
                        + " but " + body.readableBytes() + " bytes follow");
            }
            data = new byte[length];
            body.readBytes(data);
        } else if (length != -1) {
            throw new ProtocolException("invalid SASLInitialResponse message: data length " + length);
        }
        Frames.expectEnd(body, "SASLInitialResponse");
        return new SASLInitialResponse(mechanism, data);
    }

    @Override
    public void encode(ByteBuf out) {
        int len = Frames.begin(out, MessageType.PASSWORD);
        Frames.writeCString(out, mechanism);
        if (data == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(data.length);
            out.writeBytes(data);
        }
        Frames.finish(out, len);
    }

    @Override
    public String toString() {
        return "SASLInitialResponse[" + mechanism + "]";
    }
}
