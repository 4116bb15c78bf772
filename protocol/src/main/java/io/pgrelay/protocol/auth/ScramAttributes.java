package io.pgrelay.protocol.auth;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads a SCRAM message as its comma-separated attributes ({@code x=value}, RFC 5802 section 5.1) in order. Values
 * never contain a comma (names escape it as {@code =2C}, base64 and nonces exclude it), so splitting is exact.
 */
final class ScramAttributes {
    private final String[] parts;
    private int next;

    private ScramAttributes(String text) {
        this.parts = text.split(",", -1); // -1: keep trailing empty parts, "r=x," is malformed
    }

    static ScramAttributes of(String text) {
        return new ScramAttributes(text);
    }

    /** Strict UTF-8: a message that is not valid UTF-8 is malformed, not silently repaired. */
    static String decode(byte[] message, String what) throws AuthException {
        if (message == null || message.length == 0) {
            throw new AuthException("malformed SCRAM message: empty " + what);
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(message))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new AuthException("malformed SCRAM message: " + what + " is not valid UTF-8");
        }
    }

    /** True when the next attribute is present and named {@code name}. */
    boolean nextIs(char name) {
        return next < parts.length && parts[next].length() >= 2 && parts[next].charAt(0) == name
                && parts[next].charAt(1) == '=';
    }

    boolean atEnd() {
        return next >= parts.length;
    }

    /** Reads the next attribute, which must be {@code name}; returns its value. */
    String read(char name, String what) throws AuthException {
        if (atEnd()) {
            throw new AuthException("malformed SCRAM message: missing attribute " + name + " (" + what + ")");
        }
        String part = parts[next];
        checkWellFormed(part);
        if (part.charAt(0) != name) {
            throw new AuthException("malformed SCRAM message: expected attribute " + name + " (" + what + "), got "
                    + part.charAt(0));
        }
        next++;
        return part.substring(2);
    }

    /**
     * Skips optional extension attributes up to the end or up to attribute {@code stop} (0: to the end). They must
     * be well formed; a mandatory extension ({@code m=}) is one we cannot honour.
     */
    void skipExtensions(char stop) throws AuthException {
        while (!atEnd() && !(stop != 0 && nextIs(stop))) {
            String part = parts[next];
            checkWellFormed(part);
            if (part.charAt(0) == 'm') {
                throw new AuthException("unsupported SCRAM extension (m=) requested");
            }
            next++;
        }
    }

    void requireEnd() throws AuthException {
        if (!atEnd()) {
            throw new AuthException("malformed SCRAM message: unexpected data after the last attribute");
        }
    }

    /** RFC 5802 "printable" (0x21-0x7E except comma), non-empty: the only characters allowed in a nonce. */
    static boolean isPrintable(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7E || c == ',') {
                return false;
            }
        }
        return true;
    }

    private static void checkWellFormed(String part) throws AuthException {
        if (part.length() < 2 || part.charAt(1) != '=' || !isAsciiLetter(part.charAt(0))) {
            throw new AuthException("malformed SCRAM message: attribute is not of the form x=value");
        }
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
