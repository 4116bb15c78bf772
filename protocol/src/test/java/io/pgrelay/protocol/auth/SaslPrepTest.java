package io.pgrelay.protocol.auth;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SaslPrepTest {
    private static String prepared(String password) {
        return new String(SaslPrep.prepare(password), StandardCharsets.UTF_8);
    }

    /** RFC 4013 section 3 examples (the ones that succeed). */
    @ParameterizedTest
    @CsvSource({
            "'I\u00ADX', IX",       // soft hyphen mapped to nothing
            "user, user",
            "USER, USER",           // no case folding
            "'\u00AA', a",          // NFKC
            "'\u2168', IX",         // NFKC of ROMAN NUMERAL NINE
    })
    void rfc4013Examples(String input, String expected) {
        assertThat(prepared(input)).isEqualTo(expected);
    }

    @Test
    void asciiPassesThroughUntouchedEvenWithControlCharacters() {
        // PostgreSQL skips SASLprep for pure ASCII; RFC 4013 would reject U+0007.
        assertThat(SaslPrep.prepare("a\u0007b")).containsExactly('a', 7, 'b');
        assertThat(SaslPrep.prepare("")).isEmpty();
        assertThat(prepared("  spaced  ")).isEqualTo("  spaced  ");
    }

    @Test
    void nonAsciiSpacesBecomeSpace() {
        assertThat(prepared("a\u00A0b\u3000c\u2003d")).isEqualTo("a b c d");
    }

    @Test
    void zeroWidthSpaceIsMappedToSpaceLikePostgres() {
        // U+200B is in both C.1.2 and B.1; PostgreSQL (verified against 15) maps it to a space.
        assertThat(prepared("a\u200Bb")).isEqualTo("a b");
    }

    @Test
    void commonlyMappedToNothingIsDropped() {
        assertThat(prepared("pa\u00ADss\u200Dwo\uFE0Frd\uFEFF")).isEqualTo("password");
    }

    @Test
    void decomposedIsComposed() {
        assertThat(prepared("pa\u0308ss")).isEqualTo("p\u00E4ss");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "\u06271",          // RFC 4013 example: a RandALCat string must end in RandALCat
            "\u0627a\u0628",    // RandALCat and LCat mixed
            "x\uE000y",         // private use
            "caf\u00E9\u0007",  // ASCII control inside a non-ASCII password
            "\u00E9\u0085",     // non-ASCII control
            "\u00E9\u200E",     // left-to-right mark (C.8)
            "\u00E9\uFFFF",     // non-character
            "\u00E9\u0378",     // unassigned
            "\u00AD",           // maps to nothing at all: PostgreSQL keeps the raw bytes
    })
    void invalidSaslPrepFallsBackToRawUtf8(String input) {
        assertThat(SaslPrep.saslPrep(input)).isNull();
        assertThat(SaslPrep.prepare(input)).isEqualTo(input.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void rightToLeftStringIsValid() {
        assertThat(prepared("\u0627\u0628")).isEqualTo("\u0627\u0628");
    }

    @Test
    void loneSurrogateIsNotValidSaslPrep() {
        assertThat(SaslPrep.saslPrep("\u00E9\uD800")).isNull();
        assertThat(SaslPrep.prepare("\u00E9\uD800")).isNotEmpty();
    }

    @Test
    void supplementaryCharactersSurvive() {
        assertThat(prepared("p\u00E4ss\uD83D\uDE00")).isEqualTo("p\u00E4ss\uD83D\uDE00");
    }
}
