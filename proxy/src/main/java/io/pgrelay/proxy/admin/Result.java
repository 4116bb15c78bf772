package io.pgrelay.proxy.admin;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A result set the admin console sends: RowDescription, DataRows (text format), CommandComplete. Numbers are typed
 * bigint so drivers hand them out as numbers (psycopg2, the Prometheus exporters), everything else text.
 */
final class Result {
    static final int TEXT = 25;
    static final int BIGINT = 20;

    private final List<String> names = new ArrayList<>();
    private final List<Integer> types = new ArrayList<>();
    private final List<Object[]> rows = new ArrayList<>();

    /** Columns as {@code name} (text) or {@code name:n} (bigint). */
    static Result of(String... columns) {
        Result r = new Result();
        for (String c : columns) {
            if (c.endsWith(":n")) {
                r.names.add(c.substring(0, c.length() - 2));
                r.types.add(BIGINT);
            } else {
                r.names.add(c);
                r.types.add(TEXT);
            }
        }
        return r;
    }

    List<String> columns() {
        return names;
    }

    List<Object[]> rows() {
        return rows;
    }

    /** One row; null is SQL NULL, anything else is written with toString(). */
    Result row(Object... values) {
        if (values.length != names.size()) {
            throw new IllegalArgumentException(values.length + " values for " + names.size() + " columns " + names);
        }
        rows.add(values);
        return this;
    }

    /** The messages, with {@code tag} as the CommandComplete tag ("SHOW"). */
    List<ByteBuf> encode(ByteBufAllocator alloc, String tag) {
        List<ByteBuf> out = new ArrayList<>(rows.size() + 2);
        ByteBuf desc = alloc.buffer();
        int len = Frames.begin(desc, MessageType.ROW_DESCRIPTION);
        desc.writeShort(names.size());
        for (int i = 0; i < names.size(); i++) {
            Frames.writeCString(desc, names.get(i));
            int type = types.get(i);
            desc.writeInt(0).writeShort(0).writeInt(type).writeShort(type == BIGINT ? 8 : -1).writeInt(-1)
                    .writeShort(0);
        }
        Frames.finish(desc, len);
        out.add(desc);
        for (Object[] row : rows) {
            ByteBuf data = alloc.buffer();
            len = Frames.begin(data, MessageType.DATA_ROW);
            data.writeShort(row.length);
            for (Object v : row) {
                if (v == null) {
                    data.writeInt(-1);
                } else {
                    byte[] b = v.toString().getBytes(StandardCharsets.UTF_8);
                    data.writeInt(b.length).writeBytes(b);
                }
            }
            Frames.finish(data, len);
            out.add(data);
        }
        ByteBuf done = alloc.buffer();
        len = Frames.begin(done, MessageType.COMMAND_COMPLETE);
        Frames.writeCString(done, tag);
        Frames.finish(done, len);
        out.add(done);
        return out;
    }
}
