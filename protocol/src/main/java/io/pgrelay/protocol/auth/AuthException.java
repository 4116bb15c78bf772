package io.pgrelay.protocol.auth;

/**
 * Authentication failed or a peer sent a malformed authentication message. The message is safe to show to a client
 * (it ends up in a FATAL ErrorResponse): it names the problem and never contains passwords, keys or proofs.
 */
public final class AuthException extends Exception {
    private static final long serialVersionUID = 1L;

    public AuthException(String message) {
        super(message);
    }
}
