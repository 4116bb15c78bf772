package io.pgrelay.protocol.auth;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes SCRAM-SHA-256 message parsing: the server side (a client's messages, before it is authenticated), the client
 * side (a server's messages), the stored verifier format and SASLprep.
 *
 * <p>Exchange inputs are {@code mode byte, first message, NUL, final message}: SCRAM messages are text and never hold
 * a NUL, so the corpus files stay readable (a NUL inside the first message is the one thing this layout cannot say).
 * Properties: only {@link AuthException} escapes, and an exchange completes only with the proof RFC 5802 defines for
 * the password, checked here with the JDK's own PBKDF2 and HMAC rather than pgrelay's code.
 */
class ScramFuzzTest {
    static final String PASSWORD = "pencil";
    static final byte[] SALT = "pgrelay-fuzz-salt".getBytes(StandardCharsets.US_ASCII);
    /** Few iterations keep an execution fast; the count does not change the parsing. */
    static final int ITERATIONS = 16;
    static final String SERVER_NONCE = "3rfcNHYJY1ZVvWVs7j";
    static final String CLIENT_NONCE = "fyko+d2lbbFgONRv9qkxdawL";
    /** Stands for the hash of the server's certificate. */
    static final byte[] BINDING = new byte[32];
    /** A server-first asking for more iterations than this is skipped: hashing it would stall the fuzzer. */
    static final int MAX_CLIENT_ITERATIONS = 100_000;

    private static final ScramSecret SECRET = ScramSecret.fromPassword(PASSWORD, SALT, ITERATIONS);
    private static final byte[] CLIENT_KEY;
    private static final byte[] SERVER_KEY;

    static {
        try {
            PBEKeySpec spec = new PBEKeySpec(PASSWORD.toCharArray(), SALT, ITERATIONS, 256);
            byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
            CLIENT_KEY = hmac(salted, "Client Key");
            SERVER_KEY = hmac(salted, "Server Key");
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Byte 0 (mod 3): plaintext; TLS and the client chose SCRAM-SHA-256; TLS and it chose SCRAM-SHA-256-PLUS. */
    @FuzzTest
    void serverExchange(byte[] data) throws GeneralSecurityException {
        if (data.length < 1) {
            return;
        }
        byte[][] messages = split(data);
        ScramServer server = switch ((data[0] & 0xff) % 3) {
            case 0 -> new ScramServer(SECRET, SERVER_NONCE);
            case 1 -> new ScramServer(SECRET, SERVER_NONCE, ScramServer.MECHANISM, BINDING);
            default -> new ScramServer(SECRET, SERVER_NONCE, ScramServer.MECHANISM_PLUS, BINDING);
        };
        byte[] serverFirst;
        byte[] serverFinal;
        try {
            serverFirst = server.handleClientFirst(messages[0]);
            if (messages[1] == null) {
                return;
            }
            serverFinal = server.handleClientFinal(messages[1]);
        } catch (AuthException e) {
            assertThat(server.isComplete()).isFalse();
            return;
        }
        assertThat(server.isComplete()).isTrue();
        // Recompute what the server signed from the raw messages: client-first-bare follows the GS2 header's two
        // commas; the client-final without its proof is everything before the last ",p=".
        String first = new String(messages[0], StandardCharsets.UTF_8);
        String fin = new String(messages[1], StandardCharsets.UTF_8);
        String bare = first.substring(first.indexOf(',', first.indexOf(',') + 1) + 1);
        int p = fin.lastIndexOf(",p=");
        byte[] authMessage = (bare + ',' + new String(serverFirst, StandardCharsets.UTF_8) + ','
                + fin.substring(0, p)).getBytes(StandardCharsets.UTF_8);
        byte[] storedKey = MessageDigest.getInstance("SHA-256").digest(CLIENT_KEY);
        byte[] expectedProof = xor(CLIENT_KEY, hmac(storedKey, authMessage));
        assertThat(Base64.getDecoder().decode(fin.substring(p + 3))).as("accepted proof").isEqualTo(expectedProof);
        assertThat(new String(serverFinal, StandardCharsets.UTF_8))
                .isEqualTo("v=" + Base64.getEncoder().encodeToString(hmac(SERVER_KEY, authMessage)));
    }

    /** The valid seeds must reach the oracle above, or it guards nothing. */
    @Test
    void validSeedsComplete() throws Exception {
        for (String name : new String[] {"libpq_plaintext_valid", "named_user_extension_valid", "plus_valid",
                "y_flag_plaintext_valid"}) {
            try (InputStream in = getClass().getResourceAsStream("ScramFuzzTestInputs/serverExchange/" + name)) {
                byte[] data = in.readAllBytes();
                byte[][] messages = split(data);
                ScramServer server = data[0] == 2
                        ? new ScramServer(SECRET, SERVER_NONCE, ScramServer.MECHANISM_PLUS, BINDING)
                        : new ScramServer(SECRET, SERVER_NONCE);
                server.handleClientFirst(messages[0]);
                server.handleClientFinal(messages[1]);
                assertThat(server.isComplete()).as(name).isTrue();
                serverExchange(data); // and the oracle agrees
            }
        }
    }

    /** pgrelay logging in to a server: the server's first and final messages. */
    @FuzzTest
    void clientExchange(byte[] data) {
        byte[][] messages = split(data);
        if (asksTooManyIterations(messages[0])) {
            return;
        }
        ScramClient client = new ScramClient(PASSWORD, CLIENT_NONCE);
        try {
            byte[] clientFinal = client.handleServerFirst(messages[0]);
            assertThat(new String(clientFinal, StandardCharsets.UTF_8)).startsWith("c=biws,r=" + CLIENT_NONCE);
            if (messages[1] != null) {
                client.verifyServerFinal(messages[1]);
            }
        } catch (AuthException expected) {
            // the documented failure
        }
    }

    /** The stored {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>} form from the config. */
    @FuzzTest
    void parseVerifier(byte[] data) {
        ScramSecret secret;
        try {
            secret = ScramSecret.parse(new String(data, StandardCharsets.UTF_8));
        } catch (AuthException expected) {
            return;
        }
        assertThat(secret.iterations()).isPositive();
        assertThat(secret.salt()).isNotEmpty();
        assertThat(secret.storedKey()).hasSize(ScramCrypto.KEY_LENGTH);
        assertThat(secret.serverKey()).hasSize(ScramCrypto.KEY_LENGTH);
    }

    /** Passwords from the config and from clients; pairs of bytes make UTF-16 units, so lone surrogates occur. */
    @FuzzTest
    void saslPrep(byte[] data) {
        char[] chars = new char[data.length / 2];
        for (int i = 0; i < chars.length; i++) {
            chars[i] = (char) ((data[2 * i] & 0xff) << 8 | (data[2 * i + 1] & 0xff));
        }
        String password = new String(chars);
        byte[] prepared = SaslPrep.prepare(password);
        assertThat(prepared).isNotNull();
        if (password.chars().allMatch(c -> c < 0x80)) {
            assertThat(prepared).isEqualTo(password.getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** Skips byte 0 (the mode) and cuts at the first NUL; the second message is null when there is none. */
    private static byte[][] split(byte[] data) {
        int from = Math.min(1, data.length);
        for (int i = from; i < data.length; i++) {
            if (data[i] == 0) {
                return new byte[][] {Arrays.copyOfRange(data, from, i), Arrays.copyOfRange(data, i + 1, data.length)};
            }
        }
        return new byte[][] {Arrays.copyOfRange(data, from, data.length), null};
    }

    /** Any i= attribute at all (a superset of the one the client reads) above the cap. */
    private static boolean asksTooManyIterations(byte[] serverFirst) {
        for (String part : new String(serverFirst, StandardCharsets.UTF_8).split(",")) {
            if (part.startsWith("i=") && ScramSecret.parseIterations(part.substring(2)) > MAX_CLIENT_ITERATIONS) {
                return true;
            }
        }
        return false;
    }

    private static byte[] hmac(byte[] key, String data) throws GeneralSecurityException {
        return hmac(key, data.getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] xor(byte[] a, byte[] b) {
        byte[] out = new byte[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (byte) (a[i] ^ b[i]);
        }
        return out;
    }
}
