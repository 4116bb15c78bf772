package io.pgrelay.protocol;

import io.netty.handler.codec.DecoderException;

/**
 * A peer broke the PostgreSQL protocol. The message is meant for the client's FATAL ErrorResponse and the operator's
 * log line, so it names the problem (message type, length) and never includes payload bytes.
 */
public class ProtocolException extends DecoderException {
    private final String sqlState;

    public ProtocolException(String message) {
        this(SqlState.PROTOCOL_VIOLATION, message);
    }

    public ProtocolException(String sqlState, String message) {
        super(message);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
