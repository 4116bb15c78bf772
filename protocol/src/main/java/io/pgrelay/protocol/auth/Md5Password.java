package io.pgrelay.protocol.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Objects;

/**
 * PostgreSQL's MD5 password authentication. The stored form is {@code "md5" + hex(md5(password + username))}; the
 * client answers AuthenticationMD5Password with {@code "md5" + hex(md5(hex-part-of-stored + salt))}, so knowing the
 * stored hash is enough to answer (which is why pgrelay can log in to a server with an md5 hash from its config).
 */
public final class Md5Password {
    private static final String PREFIX = "md5";
    private static final int HASH_LENGTH = PREFIX.length() + 32;
    private static final int SALT_LENGTH = 4;

    private Md5Password() {
    }

    /** The stored form for this user and password. */
    public static String hash(String username, String password) {
        Objects.requireNonNull(username, "username");
        Objects.requireNonNull(password, "password");
        return PREFIX + hex(md5((password + username).getBytes(StandardCharsets.UTF_8)));
    }

    /** "md5" followed by 32 lowercase hex digits, as PostgreSQL writes it. */
    public static boolean looksLikeHash(String s) {
        if (s == null || s.length() != HASH_LENGTH || !s.startsWith(PREFIX)) {
            return false;
        }
        for (int i = PREFIX.length(); i < HASH_LENGTH; i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    /** What the client sends for AuthenticationMD5Password with this 4-byte salt. */
    public static String response(String storedHash, byte[] salt) {
        if (!looksLikeHash(storedHash)) {
            throw new IllegalArgumentException("not an md5 password hash");
        }
        Objects.requireNonNull(salt, "salt");
        if (salt.length != SALT_LENGTH) {
            throw new IllegalArgumentException("md5 salt must be 4 bytes, got " + salt.length);
        }
        byte[] hexPart = storedHash.substring(PREFIX.length()).getBytes(StandardCharsets.US_ASCII);
        byte[] input = new byte[hexPart.length + SALT_LENGTH];
        System.arraycopy(hexPart, 0, input, 0, hexPart.length);
        System.arraycopy(salt, 0, input, hexPart.length, SALT_LENGTH);
        return PREFIX + hex(md5(input));
    }

    /** Checks a client's PasswordMessage; constant-time so the comparison leaks nothing about the expected value. */
    public static boolean verify(String storedHash, byte[] salt, String clientResponse) {
        if (clientResponse == null) {
            return false;
        }
        byte[] expected = response(storedHash, salt).getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(expected, clientResponse.getBytes(StandardCharsets.UTF_8));
    }

    private static byte[] md5(byte[] data) {
        try {
            return MessageDigest.getInstance("MD5").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("MD5 is not available", e);
        }
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }
}
