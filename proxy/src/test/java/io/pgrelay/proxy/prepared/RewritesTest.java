package io.pgrelay.proxy.prepared;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.WrappedByteBuf;
import io.pgrelay.proxy.LeakTracker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** A client's Bind renamed to pgrelay's server statement name: golden bytes, and how the result is built. */
class RewritesTest {
    @AfterAll
    static void leaks() {
        LeakTracker.assertNoLeaks();
    }

    /** Bind: portal "", statement {@code name}, no format codes, one text parameter, no result format codes. */
    private static byte[] bind(String name, byte[] parameter) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte('B').writeInt(0);
        b.writeByte(0);
        b.writeBytes(name.getBytes(StandardCharsets.US_ASCII)).writeByte(0);
        b.writeShort(0).writeShort(1).writeInt(parameter.length).writeBytes(parameter).writeShort(0);
        b.setInt(1, b.readableBytes() - 1);
        return ByteBufUtil.getBytes(b);
    }

    private ByteBuf frame;

    /** The renamed Bind; {@link #frame} is the client's, which it consumes (or keeps alive, no longer). */
    private ByteBuf renamed(byte[] bind) {
        frame = ByteBufAllocator.DEFAULT.directBuffer().writeBytes(bind);
        return Rewrites.renameBind(ByteBufAllocator.DEFAULT, frame, "pgrelay_7");
    }

    private static boolean composite(ByteBuf b) {
        return (b instanceof WrappedByteBuf ? b.unwrap() : b) instanceof CompositeByteBuf;
    }

    @Test
    void aBindWithSmallParametersBecomesOneBufferWithRoomAfterIt() {
        byte[] parameter = "4242".getBytes(StandardCharsets.US_ASCII);
        ByteBuf out = renamed(bind("P0_1", parameter));
        try {
            assertThat(ByteBufUtil.getBytes(out)).isEqualTo(bind("pgrelay_7", parameter));
            assertThat(composite(out)).isFalse();
            assertThat(out.writableBytes()).as("room for Describe, Execute, Sync").isGreaterThanOrEqualTo(30);
            assertThat(frame.refCnt()).as("the client's frame, copied and released").isZero();
        } finally {
            out.release();
        }
    }

    @Test
    void largeParametersAreNotCopied() {
        byte[] parameter = new byte[Rewrites.COPIED_PARAMETERS + 1];
        java.util.Arrays.fill(parameter, (byte) 'x');
        ByteBuf out = renamed(bind("a_longer_client_name", parameter));
        try {
            assertThat(ByteBufUtil.getBytes(out)).isEqualTo(bind("pgrelay_7", parameter));
            assertThat(composite(out)).isTrue();
            assertThat(frame.refCnt()).as("the parameters are read from the client's frame").isOne();
        } finally {
            out.release();
        }
        assertThat(frame.refCnt()).isZero();
    }
    /** A frame of {@code type} with the given body bytes (its length filled in). */
    private static ByteBuf message(char type, int... body) {
        ByteBuf b = Unpooled.buffer().writeByte(type).writeInt(4 + body.length);
        for (int x : body) {
            b.writeByte(x);
        }
        return b;
    }

    /** What {@link Rewrites#checkFields} says of a frame (released after): "ok" or the ProtocolException's message. */
    private static String check(ByteBuf frame) {
        try {
            Rewrites.checkFields(frame);
            return "ok";
        } catch (io.pgrelay.protocol.ProtocolException e) {
            assertThat(e.sqlState()).isEqualTo("08P01");
            return e.getMessage();
        } finally {
            frame.release();
        }
    }

    @Test
    void checkFieldsNamesTheMessageThatLacksAFieldPgrelayReads() {
        String count = "the parameter types do not match their count";
        // Parse: name, text, then a count of parameter types and that many 4-byte types.
        assertThat(check(message('P', 'n', 0, 'x', 0, 0, 0))).isEqualTo("ok");
        assertThat(check(message('P', 'n', 0, 'x', 0, 0, 1, 0, 0, 0, 23))).isEqualTo("ok");
        assertThat(check(message('P'))).isEqualTo("invalid 'P' message: missing string terminator");
        assertThat(check(message('P', 'n', 0, 'x'))).isEqualTo("invalid 'P' message: missing string terminator");
        assertThat(check(message('P', 'n', 0, 'x', 0))).isEqualTo("invalid 'P' message: " + count);
        assertThat(check(message('P', 'n', 0, 'x', 0, 0))).isEqualTo("invalid 'P' message: " + count);
        assertThat(check(message('P', 'n', 0, 'x', 0, 0, 1, 0, 0))).isEqualTo("invalid 'P' message: " + count);
        assertThat(check(message('P', 'n', 0, 'x', 0, 0, 0, 9))).as("trailing bytes")
                .isEqualTo("invalid 'P' message: " + count);
        // Bind: portal and statement names (the rest is PostgreSQL's to check).
        assertThat(check(message('B', 0, 'S', 0))).isEqualTo("ok");
        assertThat(check(message('B', 0, 'S'))).isEqualTo("invalid 'B' message: missing string terminator");
        assertThat(check(message('B'))).isEqualTo("invalid 'B' message: missing string terminator");
        // Describe and Close: 'S' or 'P', then a name.
        for (char type : new char[] {'D', 'C'}) {
            assertThat(check(message(type, 'S', 'x', 0))).isEqualTo("ok");
            assertThat(check(message(type))).isEqualTo("invalid '" + type + "' message: no 'S' or 'P' for a statement "
                    + "or a portal");
            assertThat(check(message(type, 'S'))).isEqualTo("invalid '" + type + "' message: missing string "
                    + "terminator");
        }
        // Other messages are not read here.
        assertThat(check(message('Q'))).isEqualTo("ok");
        assertThat(check(message('E'))).isEqualTo("ok");
    }
}
