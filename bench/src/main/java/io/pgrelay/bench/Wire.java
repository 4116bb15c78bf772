package io.pgrelay.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Golden protocol bytes for the benchmarks, written out by hand as libpq and PostgreSQL would send them, so the
 * benchmarks do not depend on pgrelay's own encoders for their input.
 */
final class Wire {
    private Wire() {
    }

    /** Concatenates frames into one read, as a socket would deliver a batch. */
    static byte[] concat(byte[]... frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] f : frames) {
            out.writeBytes(f);
        }
        return out.toByteArray();
    }

    /** A pooled direct buffer holding {@code bytes}: hand out retainedDuplicate()s, as a decoder hands out slices. */
    static ByteBuf direct(byte[] bytes) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(bytes.length);
        return b.writeBytes(bytes);
    }

    static byte[] frame(char type, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + 5);
        out.write(type);
        writeInt(out, body.length + 4);
        out.writeBytes(body);
        return out.toByteArray();
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }

    private static void writeShort(ByteArrayOutputStream out, int v) {
        out.write(v >>> 8);
        out.write(v);
    }

    private static void cstring(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }

    // ---- frontend ----------------------------------------------------------------------------------------

    /** StartupMessage 3.0 with only user and database (no settings, so no SET runs per server assignment). */
    static byte[] startup(String user, String database) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        writeInt(body, 196608);
        cstring(body, "user");
        cstring(body, user);
        cstring(body, "database");
        cstring(body, database);
        body.write(0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeInt(out, body.size() + 4);
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    static byte[] query(String sql) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, sql);
        return frame('Q', b.toByteArray());
    }

    static byte[] parse(String name, String sql, int... paramTypes) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, name);
        cstring(b, sql);
        writeShort(b, paramTypes.length);
        for (int t : paramTypes) {
            writeInt(b, t);
        }
        return frame('P', b.toByteArray());
    }

    /** Bind with text parameters and text results, as libpq's PQexecPrepared/PQexecParams send it. */
    static byte[] bind(String portal, String statement, String... params) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, portal);
        cstring(b, statement);
        writeShort(b, 0); // all parameters text
        writeShort(b, params.length);
        for (String p : params) {
            byte[] v = p.getBytes(StandardCharsets.UTF_8);
            writeInt(b, v.length);
            b.writeBytes(v);
        }
        writeShort(b, 0); // all results text
        return frame('B', b.toByteArray());
    }

    static byte[] describePortal(String portal) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write('P');
        cstring(b, portal);
        return frame('D', b.toByteArray());
    }

    static byte[] execute(String portal) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, portal);
        writeInt(b, 0);
        return frame('E', b.toByteArray());
    }

    static byte[] sync() {
        return frame('S', new byte[0]);
    }

    static byte[] terminate() {
        return frame('X', new byte[0]);
    }

    // ---- backend -----------------------------------------------------------------------------------------

    static byte[] authenticationOk() {
        return frame('R', new byte[] {0, 0, 0, 0});
    }

    static byte[] parameterStatus(String name, String value) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, name);
        cstring(b, value);
        return frame('S', b.toByteArray());
    }

    static byte[] backendKeyData(int pid, int secret) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeInt(b, pid);
        writeInt(b, secret);
        return frame('K', b.toByteArray());
    }

    /** One column of type int4 (oid 23), text format. */
    static byte[] rowDescriptionInt4(String column) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeShort(b, 1);
        cstring(b, column);
        writeInt(b, 0); // no table
        writeShort(b, 0);
        writeInt(b, 23);
        writeShort(b, 4);
        writeInt(b, -1);
        writeShort(b, 0);
        return frame('T', b.toByteArray());
    }

    static byte[] dataRow(String value) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeShort(b, 1);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        writeInt(b, v.length);
        b.writeBytes(v);
        return frame('D', b.toByteArray());
    }

    static byte[] commandComplete(String tag) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        cstring(b, tag);
        return frame('C', b.toByteArray());
    }

    static byte[] readyForQuery(char status) {
        return frame('Z', new byte[] {(byte) status});
    }

    static byte[] parseComplete() {
        return frame('1', new byte[0]);
    }

    static byte[] bindComplete() {
        return frame('2', new byte[0]);
    }
}
