package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.proxy.server.ServerConnection;

import java.nio.charset.StandardCharsets;

/**
 * Commands whose effect outlives the transaction (DISCARD ALL, DEALLOCATE ALL, SET, RESET, LISTEN), which
 * transaction pooling must account for when their CommandComplete comes back. Used by {@link Relay}.
 */
final class OutlivingCommands {
    private OutlivingCommands() {
    }

    /**
     * Whether the CommandComplete at {@code at} in {@code buf} may be one of these commands, by its tag's first
     * letter and length: SELECT 1, INSERT 0 1, UPDATE 1... are not, and are told apart without a String.
     */
    static boolean mayMatter(ByteBuf buf, int at) {
        byte first = buf.getByte(at + Frames.HEADER_LENGTH);
        int length = buf.getInt(at + 1) - 5; // the tag without its NUL
        return (first == 'D' || first == 'S' || first == 'R' || first == 'L')
                && (length == 3 || length == 5 || length == 6 || length == 11 || length == 14);
    }

    /**
     * What a CommandComplete from {@code server} means for transaction pooling: the frame to pass on (this one, or
     * an error that replaces it, {@code frame} then released).
     */
    static ByteBuf onCommandComplete(ByteBuf frame, PreparedStatements prepared, ServerConnection server,
            ByteBufAllocator alloc) {
        if (!mayMatter(frame, frame.readerIndex())) {
            return frame;
        }
        int length = Frames.bodyLength(frame) - 1; // the tag without its NUL
        String tag = frame.toString(frame.readerIndex() + Frames.HEADER_LENGTH, length, StandardCharsets.UTF_8);
        switch (tag) {
            case "DISCARD ALL" -> {
                prepared.clear();
                server.discarded();
            }
            case "DEALLOCATE ALL" -> {
                prepared.clear();
                server.statements().clear();
            }
            case "SET", "RESET" -> server.markDirty(); // a setting pgrelay cannot follow: reset before reuse
            case "LISTEN" -> {
                // Notifications would go to whichever client holds this connection next: refuse, loudly.
                server.markDirty();
                frame.release();
                return ErrorResponse.error(SqlState.FEATURE_NOT_SUPPORTED,
                                "LISTEN is not supported in transaction pooling mode: notifications would be lost")
                        .withHint("use a pool with pool_mode = \"session\" for LISTEN/NOTIFY")
                        .encode(alloc);
            }
            default -> {
            }
        }
        return frame;
    }
}
