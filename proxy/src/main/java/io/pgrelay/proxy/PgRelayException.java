package io.pgrelay.proxy;

import io.pgrelay.protocol.message.ErrorResponse;

/**
 * A failure that ends in an ErrorResponse to the client: it carries the response to send (SQLSTATE and message
 * already chosen where the failure was understood best).
 */
public class PgRelayException extends Exception {
    private final ErrorResponse response;

    public PgRelayException(ErrorResponse response) {
        this(response, null);
    }

    public PgRelayException(ErrorResponse response, Throwable cause) {
        super(response.message(), cause, false, false);
        this.response = response;
    }

    public ErrorResponse response() {
        return response;
    }

    public String sqlState() {
        return response.sqlState();
    }
}
