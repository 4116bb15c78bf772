package io.pgrelay.protocol.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Known answers computed independently with python3 hashlib.pbkdf2_hmac / hmac. */
class ScramCryptoTest {
    private static final byte[] RFC_SALT = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    private static final byte[] SALT_0_TO_15 = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

    private static byte[] hex(String s) {
        return HexFormat.of().parseHex(s);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void hiMatchesPbkdf2ForRfc7677Example() {
        byte[] salted = ScramCrypto.hi(ascii("pencil"), RFC_SALT, 4096);
        assertThat(salted).isEqualTo(hex("c4a49510323ab4f952cac1fa99441939e78ea74d6be81ddf7096e87513dc615d"));
        byte[] clientKey = ScramCrypto.clientKey(salted);
        assertThat(clientKey).isEqualTo(hex("a60fc923d67e8644a92d16b96eda5ef4656b0c725c484374be25535576996e8b"));
        assertThat(ScramCrypto.sha256(clientKey))
                .isEqualTo(hex("586e5df283e6dceb5c3e791d8b8528ec191e664045ce971792e2e6b5bb13e2a6"));
        assertThat(ScramCrypto.serverKey(salted))
                .isEqualTo(hex("c1f3cbc1c13a9d35a14c0990eed97629ea225863e566a4314ab99f3f00e5d9d5"));
    }

    @Test
    void hiWithOneIterationIsOneHmac() {
        assertThat(ScramCrypto.hi(ascii("app"), SALT_0_TO_15, 1))
                .isEqualTo(hex("ef3a30e7aa6d0b0dd15c033ce844e29db9d2d97720a93318cef71af64657a163"));
    }

    @Test
    void emptyPasswordIsAValidHmacKey() {
        // pbkdf2_hmac('sha256', b'', salt, 2): SecretKeySpec alone would refuse the empty key.
        assertThat(ScramCrypto.hi(new byte[0], SALT_0_TO_15, 2))
                .isEqualTo(hex("b01769faf6a2ed2eb6258f32dca850daa77c443f81273b0efb782e1023abdb25"));
    }

    @Test
    void xorIsBytewise() {
        assertThat(ScramCrypto.xor(new byte[] {0x0F, (byte) 0xF0}, new byte[] {(byte) 0xFF, (byte) 0xFF}))
                .containsExactly(0xF0, 0x0F);
    }

    @Test
    void randomNonceIs18BytesOfBase64() {
        String nonce = ScramCrypto.randomNonce(new java.security.SecureRandom());
        assertThat(nonce).hasSize(24);
        assertThat(Base64.getDecoder().decode(nonce)).hasSize(18);
        assertThat(ScramAttributes.isPrintable(nonce)).isTrue();
    }

    @Test
    void badBase64IsAnAuthExceptionNamingTheFieldNotTheValue() {
        assertThatThrownBy(() -> ScramCrypto.fromBase64("sec!ret", "proof"))
                .isInstanceOf(AuthException.class)
                .hasMessageContaining("proof")
                .hasMessageNotContaining("sec!ret");
    }
}
