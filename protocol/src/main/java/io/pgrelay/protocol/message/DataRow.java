package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.ProtocolException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * DataRow: one row of a result, each column's value as text (pgrelay's own queries ask for text), null for SQL NULL.
 * Relayed rows stay frames; this is for the rows of pgrelay's internal queries.
 */
public record DataRow(List<String> values) implements Message {
    public DataRow {
        values = Collections.unmodifiableList(new ArrayList<>(values)); // nulls allowed, unlike List.copyOf
    }

    public static DataRow decode(ByteBuf frame) {
        ByteBuf body = Frames.body(frame);
        if (body.readableBytes() < 2) {
            throw new ProtocolException("invalid DataRow message: missing column count");
        }
        int n = body.readUnsignedShort();
        List<String> values = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            if (body.readableBytes() < 4) {
                throw new ProtocolException("invalid DataRow message: column " + (i + 1) + " of " + n + " is missing");
            }
            int length = body.readInt();
            if (length < -1 || length > body.readableBytes()) {
                throw new ProtocolException("invalid DataRow message: column " + (i + 1) + " of " + n
                        + " has length " + length + " but " + body.readableBytes() + " bytes follow");
            }
            values.add(length < 0 ? null : body.readCharSequence(length, StandardCharsets.UTF_8).toString());
        }
        Frames.expectEnd(body, "DataRow");
        return new DataRow(values);
    }

    @Override
    public void encode(ByteBuf out) {
        int len = Frames.begin(out, MessageType.DATA_ROW);
        out.writeShort(values.size());
        for (String v : values) {
            if (v == null) {
                out.writeInt(-1);
            } else {
                int at = out.writerIndex();
                out.writeInt(0);
                out.setInt(at, out.writeCharSequence(v, StandardCharsets.UTF_8));
            }
        }
        Frames.finish(out, len);
    }
}
