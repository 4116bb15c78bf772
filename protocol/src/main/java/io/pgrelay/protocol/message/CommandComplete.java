package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;

/** CommandComplete with its command tag ("SELECT 1", "SET", "DISCARD ALL"...). */
public record CommandComplete(String tag) implements Message {
    public static CommandComplete decode(ByteBuf frame) {
        ByteBuf body = Frames.body(frame);
        String tag = Frames.readCString(body);
        Frames.expectEnd(body, "CommandComplete");
        return new CommandComplete(tag);
    }

    @Override
    public void encode(ByteBuf out) {
        int len = Frames.begin(out, MessageType.COMMAND_COMPLETE);
        Frames.writeCString(out, tag);
        Frames.finish(out, len);
    }
}
