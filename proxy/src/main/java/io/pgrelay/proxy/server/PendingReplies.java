package io.pgrelay.proxy.server;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;

/**
 * What a server connection owes: a ReadyForQuery for each Query, Sync or FunctionCall sent to it, and whether
 * extended-protocol frames went since the last Sync. Updated on the connection's event loop; read from any (a
 * CancelRequest asks whether a query runs).
 */
final class PendingReplies {
    private volatile int ready;
    private volatile boolean unsynced;

    /** Whole frames written to the server, one or several back to back (a client's batch written as one slice). */
    void sent(ByteBuf frames) {
        int end = frames.writerIndex();
        int at = frames.readerIndex();
        while (end - at >= Frames.HEADER_LENGTH) {
            sent(frames.getByte(at));
            at += 1 + Math.max(4, frames.getInt(at + 1)); // lengths were checked when read: always forward
        }
    }

    private void sent(byte type) {
        switch (type) {
            case MessageType.QUERY:
            case MessageType.FUNCTION_CALL:
                ready++;
                break;
            case MessageType.SYNC:
                ready++;
                unsynced = false;
                break;
            case MessageType.PARSE:
            case MessageType.BIND:
            case MessageType.DESCRIBE:
            case MessageType.EXECUTE:
            case MessageType.CLOSE:
            case MessageType.FLUSH:
                unsynced = true;
                break;
            default:
                break;
        }
    }

    /** The server sent ReadyForQuery. */
    void readyForQuery() {
        if (ready > 0) {
            ready--;
        }
    }

    /** Whether the server still owes ReadyForQuery for something sent (a query runs or results are in flight). */
    boolean busy() {
        return ready > 0 || unsynced;
    }
}
