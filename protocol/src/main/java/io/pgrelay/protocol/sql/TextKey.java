package io.pgrelay.protocol.sql;

import io.netty.buffer.ByteBuf;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Cache key: the statement's UTF-8 bytes. {@link Stored} owns a copy; {@link Probe} is a reusable per-thread view of a
 * ByteBuf region, so a lookup that hits allocates nothing. Both hash the bytes the same way, eight at a time.
 */
abstract sealed class TextKey permits TextKey.Stored, TextKey.Probe {
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long M = 0x9E3779B97F4A7C15L;

    int hash;
    int length;

    @Override
    public final int hashCode() {
        return hash;
    }

    static int hash(byte[] b, int from, int length) {
        long h = length * M;
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            h = mix(h, (long) LONG_LE.get(b, from + i));
        }
        if (i < length) {
            long tail = 0;
            for (int k = length - 1; k >= i; k--) {
                tail = (tail << 8) | (b[from + k] & 0xff);
            }
            h = mix(h, tail);
        }
        return finish(h);
    }

    static int hash(ByteBuf b, int from, int length) {
        long h = length * M;
        int i = 0;
        for (; i + 8 <= length; i += 8) {
            h = mix(h, b.getLongLE(from + i));
        }
        if (i < length) {
            long tail = 0;
            for (int k = length - 1; k >= i; k--) {
                tail = (tail << 8) | b.getUnsignedByte(from + k);
            }
            h = mix(h, tail);
        }
        return finish(h);
    }

    private static long mix(long h, long v) {
        return Long.rotateLeft(h ^ (v * M), 29) * 0xBF58476D1CE4E5B9L;
    }

    private static int finish(long h) {
        h ^= h >>> 31;
        h *= 0x94D049BB133111EBL;
        return (int) (h ^ (h >>> 32));
    }

    /** A key held by the cache. */
    static final class Stored extends TextKey {
        final byte[] bytes;

        Stored(byte[] bytes) {
            this.bytes = bytes;
            this.length = bytes.length;
            this.hash = hash(bytes, 0, bytes.length);
        }

        @Override
        public boolean equals(Object o) {
            if (o instanceof Stored s) {
                return s.hash == hash && Arrays.equals(s.bytes, bytes);
            }
            return o instanceof Probe p && p.equals(this);
        }
    }

    /** A lookup key over bytes the caller owns; cleared after each lookup so it never pins a buffer. */
    static final class Probe extends TextKey {
        private ByteBuf buf;
        private int index;

        Probe set(ByteBuf buf, int index, int length) {
            this.buf = buf;
            this.index = index;
            this.length = length;
            this.hash = hash(buf, index, length);
            return this;
        }

        void clear() {
            buf = null;
        }

        @Override
        public boolean equals(Object o) {
            if (o instanceof Probe p) {
                return p == this;
            }
            if (!(o instanceof Stored s) || s.hash != hash || s.length != length) {
                return false;
            }
            byte[] b = s.bytes;
            if (buf.hasArray()) {
                int from = buf.arrayOffset() + index;
                return Arrays.equals(buf.array(), from, from + length, b, 0, length);
            }
            int i = 0;
            for (; i + 8 <= length; i += 8) {
                if (buf.getLongLE(index + i) != (long) LONG_LE.get(b, i)) {
                    return false;
                }
            }
            for (; i < length; i++) {
                if (buf.getByte(index + i) != b[i]) {
                    return false;
                }
            }
            return true;
        }
    }
}
