package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.ProtocolException;

/** ReadyForQuery with its transaction status: 'I' idle, 'T' in a transaction block, 'E' in a failed one. */
public record ReadyForQuery(byte status) implements Message {
    public static final byte IDLE = 'I';
    public static final byte IN_TRANSACTION = 'T';
    public static final byte FAILED_TRANSACTION = 'E';

    public static final ReadyForQuery READY_IDLE = new ReadyForQuery(IDLE);

    public ReadyForQuery {
        if (status != IDLE && status != IN_TRANSACTION && status != FAILED_TRANSACTION) {
            throw new ProtocolException("invalid ReadyForQuery status " + MessageType.describe(status));
        }
    }

    /** The status byte of the ReadyForQuery frame at {@code at} in {@code buf} (a run of frames), as {@link #statusOf}. */
    public static byte statusAt(ByteBuf buf, int at) {
        int length = buf.getInt(at + 1);
        if (length != 5) {
            throw new ProtocolException("invalid ReadyForQuery message length " + (length - 4));
        }
        return buf.getByte(at + Frames.HEADER_LENGTH);
    }

    /** The status byte of a ReadyForQuery frame, read in place. */
    public static byte statusOf(ByteBuf frame) {
        return statusAt(frame, frame.readerIndex());
    }

    @Override
    public void encode(ByteBuf out) {
        out.writeByte(MessageType.READY_FOR_QUERY);
        out.writeInt(5);
        out.writeByte(status);
    }
}
