package io.pgrelay.protocol.message;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.ProtocolException;

/** CancelRequest: sent on a new connection; names the backend by the key from BackendKeyData. */
public record CancelRequest(int processId, int secretKey) implements Message {
    public static final int CODE = 80877102;

    /** Decodes what follows the length and code. */
    public static CancelRequest decodeBody(ByteBuf body) {
        if (body.readableBytes() != 8) {
            throw new ProtocolException("invalid length of CancelRequest: " + (body.readableBytes() + 8)
                    + " bytes, expected 16");
        }
        return new CancelRequest(body.readInt(), body.readInt());
    }

    @Override
    public void encode(ByteBuf out) {
        out.writeInt(16);
        out.writeInt(CODE);
        out.writeInt(processId);
        out.writeInt(secretKey);
    }

    @Override
    public String toString() {
        return "CancelRequest[processId=" + processId + "]"; // the secret stays out of logs
    }
}
