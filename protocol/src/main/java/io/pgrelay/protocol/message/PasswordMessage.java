package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;

/** PasswordMessage: a cleartext password or an MD5 response ("md5..."), NUL-terminated. */
public record PasswordMessage(String password) implements Message {
    public static PasswordMessage decode(ByteBuf frame) {
        ByteBuf body = Frames.body(frame);
        String password = Frames.readCString(body);
        Frames.expectEnd(body, "PasswordMessage");
        return new PasswordMessage(password);
    }

    @Override
    public void encode(ByteBuf out) {
        int len = Frames.begin(out, MessageType.PASSWORD);
        Frames.writeCString(out, password);
        Frames.finish(out, len);
    }

    @Override
    public String toString() {
        return "PasswordMessage[***]";
    }
}
