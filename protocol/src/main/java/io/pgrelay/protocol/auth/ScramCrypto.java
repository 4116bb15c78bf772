package io.pgrelay.protocol.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** The SCRAM-SHA-256 primitives of RFC 5802 section 3, shared by the secret, the server and the client. */
final class ScramCrypto {
    static final int KEY_LENGTH = 32;
    /** 18 random bytes: what libpq and PostgreSQL use, 24 base64 characters without padding. */
    static final int NONCE_BYTES = 18;

    private static final String HMAC = "HmacSHA256";
    private static final byte[] CLIENT_KEY = "Client Key".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SERVER_KEY = "Server Key".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INT_1 = {0, 0, 0, 1};

    private ScramCrypto() {
    }

    /** Hi(str, salt, i): PBKDF2 with HMAC-SHA-256 and one output block, written out as RFC 5802 defines it. */
    static byte[] hi(byte[] password, byte[] salt, int iterations) {
        Mac mac = mac(password);
        mac.update(salt);
        byte[] u = mac.doFinal(INT_1);
        byte[] result = u.clone();
        try {
            for (int i = 1; i < iterations; i++) {
                mac.update(u);
                mac.doFinal(u, 0); // reuse the buffer: this loop runs thousands of times per login
                for (int j = 0; j < result.length; j++) {
                    result[j] ^= u[j];
                }
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
        return result;
    }

    static byte[] hmac(byte[] key, byte[] data) {
        return mac(key).doFinal(data);
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    static byte[] clientKey(byte[] saltedPassword) {
        return hmac(saltedPassword, CLIENT_KEY);
    }

    static byte[] serverKey(byte[] saltedPassword) {
        return hmac(saltedPassword, SERVER_KEY);
    }

    static byte[] xor(byte[] a, byte[] b) {
        byte[] out = new byte[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (byte) (a[i] ^ b[i]);
        }
        return out;
    }

    static String randomNonce(SecureRandom random) {
        byte[] raw = new byte[NONCE_BYTES];
        random.nextBytes(raw);
        return base64(raw);
    }

    static String base64(byte[] data) {
        return Base64.getEncoder().encodeToString(data);
    }

    /** Decodes base64 from a peer; {@code what} names the field in the error, the value itself is never echoed. */
    static byte[] fromBase64(String value, String what) throws AuthException {
        try {
            return Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new AuthException("malformed SCRAM message: invalid base64 in " + what);
        }
    }

    private static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance(HMAC);
            // SecretKeySpec rejects an empty key; HMAC zero-pads short keys, so {0} is the same key as {}.
            mac.init(new SecretKeySpec(key.length == 0 ? new byte[1] : key, HMAC));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }
}
