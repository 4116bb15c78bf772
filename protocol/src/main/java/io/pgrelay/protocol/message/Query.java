package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;

/** Query: a simple-protocol query string (one or more statements). */
public record Query(String sql) implements Message {
    public static Query decode(ByteBuf frame) {
        ByteBuf body = Frames.body(frame);
        String sql = Frames.readCString(body);
        Frames.expectEnd(body, "Query");
        return new Query(sql);
    }

    @Override
    public void encode(ByteBuf out) {
        int len = Frames.begin(out, MessageType.QUERY);
        Frames.writeCString(out, sql);
        Frames.finish(out, len);
    }
}
