package io.pgrelay.protocol.auth;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;

/**
 * SASLprep (RFC 4013) of a SCRAM password, the way PostgreSQL applies it: a password that is not valid SASLprep is not
 * an error but is used as its raw UTF-8 bytes. Both sides of an exchange must prepare the password identically or the
 * derived keys differ, so {@link ScramSecret} and {@link ScramClient} both go through {@link #prepare}.
 *
 * <p>Subset: the character tables of RFC 3454 that matter (C.1.2, B.1, C.2-C.9) are spelled out here; "unassigned" and
 * the bidi categories come from the JDK's Unicode data rather than Unicode 3.2, so a password that mixes characters
 * assigned after Unicode 3.2 with characters that mapping or NFKC changes may be prepared differently than by
 * PostgreSQL (which then treats it as raw bytes).
 */
final class SaslPrep {
    private SaslPrep() {
    }

    /** The bytes to feed Hi(): the SASLprep'd password, or its raw UTF-8 when it is not valid SASLprep. */
    static byte[] prepare(String password) {
        // PostgreSQL passes pure ASCII through untouched (even control characters): match it exactly.
        if (isAscii(password)) {
            return password.getBytes(StandardCharsets.US_ASCII);
        }
        String prepared = saslPrep(password);
        return (prepared != null ? prepared : password).getBytes(StandardCharsets.UTF_8);
    }

    /** RFC 4013 map, normalize, prohibit, bidi; null when the string is not valid SASLprep. */
    static String saslPrep(String input) {
        StringBuilder mapped = new StringBuilder(input.length());
        for (int i = 0; i < input.length(); ) {
            int cp = input.codePointAt(i);
            i += Character.charCount(cp);
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                return null; // an unpaired surrogate is not a character (table C.5)
            }
            // Spaces first: U+200B is in both tables and PostgreSQL maps it to a space.
            if (isNonAsciiSpace(cp)) {
                mapped.append(' ');
            } else if (!isMappedToNothing(cp)) {
                mapped.appendCodePoint(cp);
            }
        }
        if (mapped.length() == 0) {
            return null; // PostgreSQL refuses to prepare a password down to nothing
        }
        String normalized = Normalizer.normalize(mapped, Normalizer.Form.NFKC);
        boolean hasRandAL = false;
        boolean hasL = false;
        for (int i = 0; i < normalized.length(); ) {
            int cp = normalized.codePointAt(i);
            i += Character.charCount(cp);
            if (isProhibited(cp) || Character.getType(cp) == Character.UNASSIGNED) {
                return null;
            }
            byte dir = Character.getDirectionality(cp);
            hasRandAL |= isRandAL(dir);
            hasL |= dir == Character.DIRECTIONALITY_LEFT_TO_RIGHT;
        }
        // RFC 3454 section 6: right-to-left text must not contain left-to-right characters and must start and end
        // with a right-to-left character.
        if (hasRandAL) {
            int first = normalized.codePointAt(0);
            int last = normalized.codePointBefore(normalized.length());
            if (hasL || !isRandAL(Character.getDirectionality(first)) || !isRandAL(Character.getDirectionality(last))) {
                return null;
            }
        }
        return normalized;
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static boolean isRandAL(byte directionality) {
        return directionality == Character.DIRECTIONALITY_RIGHT_TO_LEFT
                || directionality == Character.DIRECTIONALITY_RIGHT_TO_LEFT_ARABIC;
    }

    /** RFC 3454 table C.1.2. */
    private static boolean isNonAsciiSpace(int cp) {
        return cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /** RFC 3454 table B.1: soft hyphen, joiners, variation selectors, BOM... */
    private static boolean isMappedToNothing(int cp) {
        return cp == 0x00AD || cp == 0x034F || cp == 0x1806 || (cp >= 0x180B && cp <= 0x180D)
                || (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF;
    }

    /** RFC 4013 section 2.3: tables C.1.2 and C.2.1 to C.9 of RFC 3454. */
    private static boolean isProhibited(int cp) {
        return isNonAsciiSpace(cp)
                // C.2.1 ASCII control, C.2.2 non-ASCII control
                || cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) || cp == 0x06DD || cp == 0x070F || cp == 0x180E
                || cp == 0x200C || cp == 0x200D || cp == 0x2028 || cp == 0x2029 || (cp >= 0x2060 && cp <= 0x2063)
                || cp == 0xFEFF || (cp >= 0x1D173 && cp <= 0x1D17A)
                // C.3 private use
                || (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xF0000 && cp <= 0xFFFFD)
                || (cp >= 0x100000 && cp <= 0x10FFFD)
                // C.4 non-character code points (U+xxFFFE, U+xxFFFF in every plane)
                || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE
                // C.5 surrogates, C.6 inappropriate for plain text, C.7 for canonical representation
                || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0xFFF9 && cp <= 0xFFFD) || (cp >= 0x2FF0 && cp <= 0x2FFB)
                // C.8 change display properties or deprecated
                || cp == 0x0340 || cp == 0x0341 || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E)
                || (cp >= 0x206A && cp <= 0x206F)
                // C.9 tagging characters
                || cp == 0xE0001 || (cp >= 0xE0020 && cp <= 0xE007F);
    }
}
