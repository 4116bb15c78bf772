package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;

/** ParameterStatus: the server reports the current value of a run-time parameter. */
public record ParameterStatus(String name, String value) implements Message {
    public static ParameterStatus decode(ByteBuf frame) {
        ByteBuf body = Frames.body(frame);
        String name = Frames.readCString(body);
        String value = Frames.readCString(body);
        Frames.expectEnd(body, "ParameterStatus");
        return new ParameterStatus(name, value);
    }

    @Override
    public void encode(ByteBuf out) {
        int len = Frames.begin(out, MessageType.PARAMETER_STATUS);
        Frames.writeCString(out, name);
        Frames.writeCString(out, value);
        Frames.finish(out, len);
    }
}
