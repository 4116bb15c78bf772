package io.pgrelay.proxy.it;

import io.pgrelay.protocol.message.ErrorResponse;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Frontend messages built by hand for raw clients, and reading answers back. */
final class Frontend {
    private Frontend() {
    }

    static byte[] msg(char type, byte[]... parts) {
        int len = 4;
        for (byte[] p : parts) {
            len += p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(len + 1).put((byte) type).putInt(len);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }

    static byte[] cstr(String s) {
        byte[] raw = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(raw, raw.length + 1);
    }

    static byte[] shorts(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2);
        for (int v : values) {
            b.putShort((short) v);
        }
        return b.array();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static byte[] parse(String name, String sql) {
        return msg('P', cstr(name), cstr(sql), shorts(0));
    }

    static byte[] bindExecute(String statement) {
        return concat(msg('B', cstr(""), cstr(statement), shorts(0, 0, 0)), msg('E', cstr(""), new byte[4]));
    }

    static byte[] sync() {
        return msg('S');
    }

    static byte[] query(String sql) {
        return msg('Q', cstr(sql));
    }

    /** What a raw client read up to and including ReadyForQuery. */
    record Answer(String types, ErrorResponse error, char status) {
    }

    static Answer untilReady(RawClient raw) throws Exception {
        StringBuilder types = new StringBuilder();
        ErrorResponse error = null;
        byte[][] body = new byte[1][];
        while (true) {
            char t = (char) raw.readMessage(body);
            types.append(t);
            if (t == 'E' && error == null) {
                ByteBuf frame = Unpooled.buffer().writeByte('E').writeInt(body[0].length + 4).writeBytes(body[0]);
                try {
                    error = ErrorResponse.decode(frame);
                } finally {
                    frame.release();
                }
            }
            if (t == 'Z') {
                return new Answer(types.toString(), error, (char) body[0][0]);
            }
        }
    }
}
