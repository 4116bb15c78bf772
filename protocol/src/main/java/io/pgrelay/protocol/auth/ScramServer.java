package io.pgrelay.protocol.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * Server side of SCRAM-SHA-256 (RFC 5802, RFC 7677): pgrelay authenticating a client against a stored
 * {@link ScramSecret}. One instance per authentication attempt; calls must come in order: {@link #handleClientFirst},
 * then {@link #handleClientFinal}. Any {@link AuthException} ends the attempt.
 *
 * <p>Behaves like PostgreSQL: the SCRAM user name (n=) is ignored (the startup packet names the user). Without
 * channel binding data (a plaintext connection) the client may say "n" or "y" but not "p=". Over TLS the server offers
 * {@link #MECHANISM_PLUS} too and is given the {@code tls-server-end-point} data: a client that chose the PLUS
 * mechanism must bind to it ("p=tls-server-end-point"), and one that says "y" (it could bind but thinks the server
 * cannot) is refused, since the server did offer binding: that is a downgrade.
 */
public final class ScramServer {
    public static final String MECHANISM = "SCRAM-SHA-256";
    public static final String MECHANISM_PLUS = "SCRAM-SHA-256-PLUS";

    private enum State { EXPECT_CLIENT_FIRST, EXPECT_CLIENT_FINAL, COMPLETE, FAILED }

    private final ScramSecret secret;
    private final String serverNonce;
    /** tls-server-end-point data when the connection is TLS (PLUS was offered); null on plaintext. */
    private byte[] bindingData;
    private boolean plusSelected;
    private State state = State.EXPECT_CLIENT_FIRST;

    // Remembered from the first round trip: they make up the AuthMessage that both proofs sign.
    private String gs2Header;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;

    public ScramServer(ScramSecret secret, SecureRandom random) {
        this(secret, ScramCrypto.randomNonce(random));
    }

    /** Fixed server nonce (appended to the client's), for RFC test vectors. */
    ScramServer(ScramSecret secret, String serverNonceForTests) {
        this.secret = Objects.requireNonNull(secret, "secret");
        if (!ScramAttributes.isPrintable(serverNonceForTests)) {
            throw new IllegalArgumentException("server nonce must be printable ASCII without commas");
        }
        this.serverNonce = serverNonceForTests;
    }

    /**
     * Server over TLS: the SCRAM-SHA-256-PLUS mechanism was offered with {@code bindingData}
     * ({@link ChannelBinding#tlsServerEndPoint}); {@code mechanism} is what the client selected.
     */
    public ScramServer(ScramSecret secret, SecureRandom random, String mechanism, byte[] bindingData) {
        this(secret, random);
        configureBinding(mechanism, bindingData);
    }

    /** The same with a fixed server nonce, for tests. */
    ScramServer(ScramSecret secret, String serverNonceForTests, String mechanism, byte[] bindingData) {
        this(secret, serverNonceForTests);
        configureBinding(mechanism, bindingData);
    }

    private void configureBinding(String mechanism, byte[] data) {
        if (!MECHANISM.equals(mechanism) && !MECHANISM_PLUS.equals(mechanism)) {
            throw new IllegalArgumentException("not a SCRAM mechanism: " + mechanism);
        }
        this.bindingData = data == null ? null : data.clone();
        this.plusSelected = MECHANISM_PLUS.equals(mechanism);
        if (plusSelected && data == null) {
            throw new IllegalArgumentException(MECHANISM_PLUS + " needs channel binding data");
        }
    }

    /** Takes the SASLInitialResponse payload (client-first-message), returns the server-first-message. */
    public byte[] handleClientFirst(byte[] clientFirstMessage) throws AuthException {
        expect(State.EXPECT_CLIENT_FIRST);
        state = State.FAILED; // until this step succeeds
        String message = ScramAttributes.decode(clientFirstMessage, "client-first-message");

        // gs2-header = cbind-flag "," [authzid] ","
        int flagEnd = message.indexOf(',');
        int authzidEnd = flagEnd < 0 ? -1 : message.indexOf(',', flagEnd + 1);
        if (authzidEnd < 0) {
            throw new AuthException("malformed SCRAM message: missing GS2 header");
        }
        String flag = message.substring(0, flagEnd);
        if (flag.startsWith("p=")) {
            if (!plusSelected) {
                throw new AuthException(bindingData == null ? "channel binding not supported"
                        : "channel binding is required with " + MECHANISM_PLUS + ", not " + MECHANISM);
            }
            if (!flag.substring(2).equals(ChannelBinding.TLS_SERVER_END_POINT)) {
                throw new AuthException("unsupported SCRAM channel-binding type \"" + flag.substring(2) + "\"");
            }
        } else if (flag.equals("n") || flag.equals("y")) {
            if (plusSelected) {
                throw new AuthException("channel binding negotiation error: " + MECHANISM_PLUS
                        + " selected without channel binding");
            }
            if (flag.equals("y") && bindingData != null) {
                // The client could bind and thinks we cannot, yet we offered PLUS: someone removed it in between.
                throw new AuthException("SCRAM channel binding negotiation error: the client supports channel "
                        + "binding but thinks the server does not");
            }
        } else {
            throw new AuthException("malformed SCRAM message: invalid channel binding flag");
        }
        if (authzidEnd != flagEnd + 1) {
            throw new AuthException("SCRAM authorization identity (a=) is not supported");
        }
        gs2Header = message.substring(0, authzidEnd + 1);
        clientFirstBare = message.substring(authzidEnd + 1);

        ScramAttributes attributes = ScramAttributes.of(clientFirstBare);
        if (attributes.nextIs('m')) {
            throw new AuthException("unsupported SCRAM extension (m=) requested");
        }
        attributes.read('n', "user name"); // ignored, as PostgreSQL does: libpq sends it empty
        String clientNonce = attributes.read('r', "nonce");
        if (!ScramAttributes.isPrintable(clientNonce)) {
            throw new AuthException("malformed SCRAM message: invalid client nonce");
        }
        attributes.skipExtensions((char) 0);

        nonce = clientNonce + serverNonce;
        serverFirst = "r=" + nonce + ",s=" + ScramCrypto.base64(secret.salt()) + ",i=" + secret.iterations();
        state = State.EXPECT_CLIENT_FINAL;
        return serverFirst.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Takes the SASLResponse payload (client-final-message), checks the channel binding echo, the nonce and the
     * proof; returns the server-final-message ({@code v=<ServerSignature>}) for AuthenticationSASLFinal.
     */
    public byte[] handleClientFinal(byte[] clientFinalMessage) throws AuthException {
        expect(State.EXPECT_CLIENT_FINAL);
        state = State.FAILED;
        String message = ScramAttributes.decode(clientFinalMessage, "client-final-message");

        ScramAttributes attributes = ScramAttributes.of(message);
        byte[] channelBinding = ScramCrypto.fromBase64(attributes.read('c', "channel binding"), "channel binding");
        byte[] header = gs2Header.getBytes(StandardCharsets.UTF_8);
        byte[] expected = header;
        if (plusSelected) {
            expected = new byte[header.length + bindingData.length];
            System.arraycopy(header, 0, expected, 0, header.length);
            System.arraycopy(bindingData, 0, expected, header.length, bindingData.length);
        }
        if (!MessageDigest.isEqual(channelBinding, expected)) {
            throw new AuthException("SCRAM channel binding check failed");
        }
        if (!attributes.read('r', "nonce").equals(nonce)) {
            throw new AuthException("SCRAM nonce mismatch");
        }
        attributes.skipExtensions('p');
        byte[] proof = ScramCrypto.fromBase64(attributes.read('p', "proof"), "proof");
        attributes.requireEnd();
        if (proof.length != ScramCrypto.KEY_LENGTH) {
            throw new AuthException("malformed SCRAM message: invalid proof length");
        }

        // The proof is the last attribute and its base64 holds no comma: the message up to ",p=" is what was signed.
        String withoutProof = message.substring(0, message.lastIndexOf(",p="));
        byte[] authMessage = (clientFirstBare + ',' + serverFirst + ',' + withoutProof)
                .getBytes(StandardCharsets.UTF_8);
        byte[] storedKey = secret.storedKey();
        byte[] clientKey = ScramCrypto.xor(proof, ScramCrypto.hmac(storedKey, authMessage));
        if (!MessageDigest.isEqual(ScramCrypto.sha256(clientKey), storedKey)) { // constant time
            throw new AuthException("password authentication failed");
        }
        byte[] serverSignature = ScramCrypto.hmac(secret.serverKey(), authMessage);
        state = State.COMPLETE;
        return ("v=" + ScramCrypto.base64(serverSignature)).getBytes(StandardCharsets.UTF_8);
    }

    /** True after a successful {@link #handleClientFinal}. */
    public boolean isComplete() {
        return state == State.COMPLETE;
    }

    /** Calling out of order is a bug in the caller's state machine, not something a client can cause. */
    private void expect(State expected) {
        if (state != expected) {
            throw new IllegalStateException("SCRAM exchange is in state " + state + ", expected " + expected);
        }
    }
}
