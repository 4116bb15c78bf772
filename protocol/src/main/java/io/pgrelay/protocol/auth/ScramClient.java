package io.pgrelay.protocol.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * Client side of SCRAM-SHA-256 (RFC 5802, RFC 7677): pgrelay authenticating to a PostgreSQL server with a password.
 * One instance per attempt: {@link #clientFirstMessage}, {@link #handleServerFirst}, {@link #verifyServerFinal}.
 * Channel binding is not used (gs2 header "n,,").
 */
public final class ScramClient {
    private static final String GS2_HEADER = "n,,";
    private static final String CHANNEL_BINDING = ScramCrypto.base64(GS2_HEADER.getBytes(StandardCharsets.US_ASCII));

    private enum State { EXPECT_SERVER_FIRST, EXPECT_SERVER_FINAL, COMPLETE, FAILED }

    private final byte[] preparedPassword;
    private final String clientNonce;
    private final String clientFirstBare;
    private State state = State.EXPECT_SERVER_FIRST;
    private byte[] expectedServerSignature;

    public ScramClient(String password, SecureRandom random) {
        this(password, ScramCrypto.randomNonce(random));
    }

    /** Fixed client nonce, for tests. */
    ScramClient(String password, String clientNonceForTests) {
        this(password, clientNonceForTests, "");
    }

    /** Fixed nonce and SCRAM user name: RFC test vectors sign "n=user"; PostgreSQL ignores the name. */
    ScramClient(String password, String clientNonceForTests, String userName) {
        Objects.requireNonNull(password, "password");
        if (!ScramAttributes.isPrintable(clientNonceForTests)) {
            throw new IllegalArgumentException("client nonce must be printable ASCII without commas");
        }
        this.preparedPassword = SaslPrep.prepare(password); // now: the String itself need not be kept
        this.clientNonce = clientNonceForTests;
        this.clientFirstBare = "n=" + escapeName(userName) + ",r=" + clientNonce;
    }

    /** The SASLInitialResponse payload: {@code n,,n=,r=<nonce>}; the user name is empty, like libpq sends it. */
    public byte[] clientFirstMessage() {
        return (GS2_HEADER + clientFirstBare).getBytes(StandardCharsets.UTF_8);
    }

    /** Takes AuthenticationSASLContinue's payload (server-first-message), returns the client-final-message. */
    public byte[] handleServerFirst(byte[] serverFirstMessage) throws AuthException {
        expect(State.EXPECT_SERVER_FIRST);
        state = State.FAILED; // until this step succeeds
        String serverFirst = ScramAttributes.decode(serverFirstMessage, "server-first-message");

        ScramAttributes attributes = ScramAttributes.of(serverFirst);
        if (attributes.nextIs('m')) {
            throw new AuthException("server requires an unsupported SCRAM extension (m=)");
        }
        String nonce = attributes.read('r', "nonce");
        // The server must extend our nonce: anything else could be a replay of another exchange.
        if (!nonce.startsWith(clientNonce) || nonce.length() == clientNonce.length()
                || !ScramAttributes.isPrintable(nonce)) {
            throw new AuthException("SCRAM server nonce does not extend the client nonce");
        }
        byte[] salt = ScramCrypto.fromBase64(attributes.read('s', "salt"), "salt");
        if (salt.length == 0) {
            throw new AuthException("malformed SCRAM message: empty salt");
        }
        int iterations = ScramSecret.parseIterations(attributes.read('i', "iteration count"));
        if (iterations < 1) {
            throw new AuthException("malformed SCRAM message: invalid iteration count");
        }
        attributes.skipExtensions((char) 0);

        byte[] salted = ScramCrypto.hi(preparedPassword, salt, iterations);
        byte[] clientKey = ScramCrypto.clientKey(salted);
        byte[] storedKey = ScramCrypto.sha256(clientKey);
        String withoutProof = "c=" + CHANNEL_BINDING + ",r=" + nonce;
        byte[] authMessage = (clientFirstBare + ',' + serverFirst + ',' + withoutProof)
                .getBytes(StandardCharsets.UTF_8);
        byte[] proof = ScramCrypto.xor(clientKey, ScramCrypto.hmac(storedKey, authMessage));
        expectedServerSignature = ScramCrypto.hmac(ScramCrypto.serverKey(salted), authMessage);
        state = State.EXPECT_SERVER_FINAL;
        return (withoutProof + ",p=" + ScramCrypto.base64(proof)).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Checks AuthenticationSASLFinal's payload: the server proves it knows the password too. An {@code e=} reply
     * carries the server's error, which is reported in the exception.
     */
    public void verifyServerFinal(byte[] serverFinalMessage) throws AuthException {
        expect(State.EXPECT_SERVER_FINAL);
        state = State.FAILED;
        ScramAttributes attributes = ScramAttributes.of(
                ScramAttributes.decode(serverFinalMessage, "server-final-message"));
        if (attributes.nextIs('e')) {
            throw new AuthException("SCRAM authentication failed, server error: "
                    + printable(attributes.read('e', "server error")));
        }
        byte[] signature = ScramCrypto.fromBase64(attributes.read('v', "server signature"), "server signature");
        attributes.skipExtensions((char) 0);
        if (!MessageDigest.isEqual(signature, expectedServerSignature)) {
            throw new AuthException("SCRAM server signature mismatch: the server could not prove it knows the password");
        }
        state = State.COMPLETE;
    }

    /** RFC 5802 saslname: ',' and '=' are escaped. */
    private static String escapeName(String name) {
        return name.replace("=", "=3D").replace(",", "=2C");
    }

    /** The server's error text goes into logs and messages: keep it short and free of control characters. */
    private static String printable(String s) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < s.length() && out.length() < 100; i++) {
            char c = s.charAt(i);
            out.append(c < 0x20 || c == 0x7F ? '?' : c);
        }
        return out.toString();
    }

    private void expect(State expected) {
        if (state != expected) {
            throw new IllegalStateException("SCRAM exchange is in state " + state + ", expected " + expected);
        }
    }
}
