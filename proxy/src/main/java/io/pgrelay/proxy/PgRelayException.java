package io.pgrelay.proxy;

import io.pgrelay.protocol.message.ErrorResponse;

/**
 * A failure that ends in an ErrorResponse to the client: it carries the response to send (SQLSTATE and message
 * already chosen where the failure was understood best).
 */
public class PgRelayException extends Exception {
    private final ErrorResponse response;
    private final boolean serverUnavailable;

    public PgRelayException(ErrorResponse response) {
        this(response, null);
    }

    public PgRelayException(ErrorResponse response, Throwable cause) {
        this(response, cause, false);
    }

    private PgRelayException(ErrorResponse response, Throwable cause, boolean serverUnavailable) {
        super(response.message(), cause, false, false);
        this.response = response;
        this.serverUnavailable = serverUnavailable;
    }

    /**
     * The server cannot be reached or is not taking connections (refused, timed out, closed during login): what a
     * failover explains, so a client may wait for another server rather than fail. Not for configuration errors
     * such as a wrong password or TLS mismatch, which waiting does not fix.
     */
    public static PgRelayException serverUnavailable(ErrorResponse response, Throwable cause) {
        return new PgRelayException(response, cause, true);
    }

    public boolean isServerUnavailable() {
        return serverUnavailable || "57P03".equals(response.sqlState()) || "57P01".equals(response.sqlState());
    }

    public ErrorResponse response() {
        return response;
    }

    public String sqlState() {
        return response.sqlState();
    }
}
