package io.pgrelay.protocol.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ScramSecretTest {
    private static final byte[] SALT_0_TO_15 = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

    @Test
    void knownAnswerComputedWithPython() {
        // python3: pbkdf2_hmac('sha256', b'app', bytes(range(16)), 4096) -> StoredKey, ServerKey
        assertThat(ScramSecret.fromPassword("app", SALT_0_TO_15, 4096).toString()).isEqualTo(
                "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA="
                        + ":8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=");
    }

    @Test
    void rfc7677Keys() {
        ScramSecret secret = ScramSecret.fromPassword("pencil",
                Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096);
        assertThat(Base64.getEncoder().encodeToString(secret.storedKey()))
                .isEqualTo("WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=");
        assertThat(Base64.getEncoder().encodeToString(secret.serverKey()))
                .isEqualTo("wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
    }

    /**
     * Verifiers written by PostgreSQL 15.18 (CREATE ROLE ... PASSWORD with password_encryption=scram-sha-256, read
     * from pg_authid). Recomputing with the same salt must give the same keys, which also pins down SASLprep.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "app|SCRAM-SHA-256$4096:fBSiR74Bo/3PvUyWmU75Lg==$e6I5fYM18i9v0JVDDUe/eJPfwwy6huGPRyu1kuc6Ebg=:7NTrk+qfzgzvKU8pY0f+MONpgLufEGhsUCGEaJtHaR8=",
            "pencil|SCRAM-SHA-256$4096:bX+uSs0it6T+1t94oZB6hw==$txQb4/+X9iZsvgZwkuI9EwSpnk+9CQhuYfkizmHial4=:HW78RWDYa95/sHoagQrlab79rqiED9QSP0RZK0GVKuk=",
            // NFKC: U+2168 -> "IX"
            "\u2168|SCRAM-SHA-256$4096:31S7OG8TM40xvfG5mVfibA==$StsA0w8rVzzyTwr8rUs5C08qdoWnhHvVx7TU6Clzz8U=:TQF6V9sETJRJ2tzQ5wR/tH5lasZRfStg9UZ9tzrceBc=",
            // soft hyphen mapped to nothing
            "pass\u00ADword|SCRAM-SHA-256$4096:2c4ub+3NFx0HAasdqXCtlg==$2L8+K5+la5lcSJBcz15Wr33FF0WlMY9BCVxoeLsf86s=:Ys/WMwLwKJVpPDrZuINodgbB2P4AXZzsvtdkgSvonzc=",
            // non-ASCII space mapped to U+0020
            "a\u00A0b|SCRAM-SHA-256$4096:vIxKyAYgYr5RqbtRLK9RpQ==$ob/fzafQcSgSCRjeLQFf5amoB383uAeiaxkQTCOzGXQ=:/6Pf8LfcbJRuHFVqFGGqygbffPORph3xn9dIl0/8/Iw=",
            // zero width space: space, not nothing
            "a\u200Bb|SCRAM-SHA-256$4096:TfWSv06QSXRE8Mljd5qf6g==$j/1Z+/mzpGGaufsm1qFiz+r8iVBzGpv5cqdgRhKcFfo=:KUPy6sh8FObwyqg5p8mlSeDczBP5CTauCXzLFOfMl00=",
            // bidi violation: raw bytes
            "\u06271|SCRAM-SHA-256$4096:1dwt38j3jhecIURq3oIp+A==$hkVd3Fj9kW0BAbFMuJ4PA+irEcNr19ssqAXiPE2K9AQ=:3pc6Z56ny1qARJFTAd1REGysGwB+kFMRp/2fOc+Z+QU=",
            // mapped to empty: raw bytes
            "\u00AD|SCRAM-SHA-256$4096:7kbegIlGDTsIJLOfYZR3bQ==$hd3nTHecfiFPCYkez1GXX7V3jnr/r8h+lTy5NRVBcXY=:cBVdZkTCbZH6tZ1MsBhc7qVTkG4aqcU/C5CdUIMbdeQ=",
            // decomposed a-umlaut is composed
            "pa\u0308ss|SCRAM-SHA-256$4096:MPFY1eUmNkfZDRZj1rMhqw==$5i1VCOhfIcB0CI6rV2sl1tM8+9qSbLVNt+OJLSpOD/A=:SPZBfTf6X0Ak5PpO5mqeGv8q5qlTFrZGSYFluLIyhPM=",
            "p\u00E4ss|SCRAM-SHA-256$4096:aR2irm1JH5G/RQHtTLA1MA==$yqcR5mOI1kcA5wjRbO3qXlBP3W1GeKhJlqvPLO6auPk=:e5GT4bqpWYQwEwivKW6P6/roKzME7WDfedsj4Ck9Zfs=",
            // private use: raw bytes
            "x\uE000y|SCRAM-SHA-256$4096:HA3HSmJYP5db0KR0xD8+6g==$C1+0PtOfsm4iavR1jfKLPOy7hiFkVvTwt3jQe1nTUrA=:mGWCHuJRCRTvzY2fywvykGMMaVHqg/EfZzUYEEJiyf0=",
            "\u0627\u0628|SCRAM-SHA-256$4096:TpvTZ5ITA1PZjpFQQSy3uQ==$Qy2FPS/SAhpVuvLh4K0xBrBvANN/tk1RzoGUXF8nj3s=:vg3xCIC6Lm4VS5PcYNDPgetFq8VHgp5khNAC3dbFS8A=",
    })
    void matchesVerifiersWrittenByPostgres(String password, String verifier) throws AuthException {
        ScramSecret fromPostgres = ScramSecret.parse(verifier);
        ScramSecret ours = ScramSecret.fromPassword(password, fromPostgres.salt(), fromPostgres.iterations());
        assertThat(ours).isEqualTo(fromPostgres);
        assertThat(ours.toString()).isEqualTo(verifier);
    }

    @Test
    void parseAndFormatRoundTrip() throws AuthException {
        ScramSecret secret = ScramSecret.fromPassword("secret", new SecureRandom());
        ScramSecret parsed = ScramSecret.parse(secret.toString());
        assertThat(parsed).isEqualTo(secret).hasSameHashCodeAs(secret);
        assertThat(parsed.toString()).isEqualTo(secret.toString());
        assertThat(parsed.iterations()).isEqualTo(4096);
        assertThat(parsed.salt()).hasSize(16);
        assertThat(parsed.storedKey()).hasSize(32);
        assertThat(parsed.serverKey()).hasSize(32);
    }

    @Test
    void randomSaltsDiffer() {
        SecureRandom random = new SecureRandom();
        assertThat(ScramSecret.fromPassword("x", random)).isNotEqualTo(ScramSecret.fromPassword("x", random));
    }

    @Test
    void accessorsReturnCopies() {
        ScramSecret secret = ScramSecret.fromPassword("app", SALT_0_TO_15.clone(), 4096);
        String before = secret.toString();
        secret.salt()[0] = 99;
        secret.storedKey()[0] = 99;
        secret.serverKey()[0] = 99;
        assertThat(secret.toString()).isEqualTo(before);
    }

    @Test
    void saltArgumentIsCopied() {
        byte[] salt = SALT_0_TO_15.clone();
        ScramSecret secret = ScramSecret.fromPassword("app", salt, 1);
        salt[0] = 99;
        assertThat(secret.salt()[0]).isZero();
    }

    @Test
    void looksLikeVerifier() {
        assertThat(ScramSecret.looksLikeVerifier("SCRAM-SHA-256$4096:abc")).isTrue();
        assertThat(ScramSecret.looksLikeVerifier("md5fe63fea7be31b0200b496d08bc6b517d")).isFalse();
        assertThat(ScramSecret.looksLikeVerifier("plain")).isFalse();
        assertThat(ScramSecret.looksLikeVerifier(null)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",
            "SCRAM-SHA-1$4096:AAECAwQFBgcICQoLDA0ODw==$a:b",
            "SCRAM-SHA-256$",
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==",
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=",
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=$x",
            "SCRAM-SHA-256$0:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=",
            "SCRAM-SHA-256$-1:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=",
            "SCRAM-SHA-256$+4096:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=",
            "SCRAM-SHA-256$99999999999:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=",
            "SCRAM-SHA-256$abc:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=",
            "SCRAM-SHA-256$4096:$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=",
            "SCRAM-SHA-256$4096:!!!$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=",
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJ:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=",
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:not*base64",
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==:extra$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=",
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$Ov10FhoJDgyPwFGGVtPcliBKDNfmhAGqDKlPg/G8vNA=:8wmqSjsOogMr3p5iQyagmHRQJNKhgdZqBxdAszv4x1E=:extra",
            "md5fe63fea7be31b0200b496d08bc6b517d",
    })
    void malformedVerifiersAreRejectedWithoutEchoingThem(String verifier) {
        assertThatThrownBy(() -> ScramSecret.parse(verifier))
                .isInstanceOf(AuthException.class)
                .hasMessageStartingWith("invalid SCRAM verifier: ")
                .satisfies(e -> {
                    if (verifier.length() > 20) {
                        assertThat(e.getMessage()).doesNotContain(verifier.substring(verifier.length() - 20));
                    }
                });
    }

    @Test
    void invalidArgumentsToFromPassword() {
        assertThatThrownBy(() -> ScramSecret.fromPassword("x", new byte[0], 4096))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ScramSecret.fromPassword("x", SALT_0_TO_15, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
