package io.pgrelay.protocol.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** SCRAM-SHA-256-PLUS with tls-server-end-point, and the downgrade checks around it. */
class ScramChannelBindingTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final byte[] CERT_HASH = ChannelBinding.tlsServerEndPoint("certificate".getBytes(), "SHA256withECDSA");

    private static ScramSecret secret() {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return ScramSecret.fromPassword("pw", salt, 16);
    }

    /** A PLUS client as libpq does it: gs2 header p=tls-server-end-point,, and c = base64(header + data). */
    private static byte[] clientFinal(String password, ScramSecret ignored, String gs2, byte[] cbData, String bare,
                                      String serverFirst) {
        ScramAttributes a = ScramAttributes.of(serverFirst);
        try {
            String nonce = a.read('r', "nonce");
            byte[] salt = ScramCrypto.fromBase64(a.read('s', "salt"), "salt");
            int it = Integer.parseInt(a.read('i', "iterations"));
            byte[] header = gs2.getBytes(StandardCharsets.UTF_8);
            byte[] c = new byte[header.length + cbData.length];
            System.arraycopy(header, 0, c, 0, header.length);
            System.arraycopy(cbData, 0, c, header.length, cbData.length);
            String withoutProof = "c=" + ScramCrypto.base64(c) + ",r=" + nonce;
            byte[] salted = ScramCrypto.hi(SaslPrep.prepare(password), salt, it);
            byte[] clientKey = ScramCrypto.clientKey(salted);
            byte[] auth = (bare + "," + serverFirst + "," + withoutProof).getBytes(StandardCharsets.UTF_8);
            byte[] proof = ScramCrypto.xor(clientKey, ScramCrypto.hmac(ScramCrypto.sha256(clientKey), auth));
            return (withoutProof + ",p=" + ScramCrypto.base64(proof)).getBytes(StandardCharsets.UTF_8);
        } catch (AuthException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void plusWithTheRightBindingDataAuthenticates() throws AuthException {
        ScramSecret s = secret();
        ScramServer server = new ScramServer(s, RANDOM, ScramServer.MECHANISM_PLUS, CERT_HASH);
        String gs2 = "p=tls-server-end-point,,";
        String bare = "n=,r=clientnonce";
        String serverFirst = new String(server.handleClientFirst((gs2 + bare).getBytes()), StandardCharsets.UTF_8);
        server.handleClientFinal(clientFinal("pw", s, gs2, CERT_HASH, bare, serverFirst));
        assertThat(server.isComplete()).isTrue();
    }

    @Test
    void plusWithOtherBindingDataIsRefused() throws AuthException {
        ScramSecret s = secret();
        ScramServer server = new ScramServer(s, RANDOM, ScramServer.MECHANISM_PLUS, CERT_HASH);
        String gs2 = "p=tls-server-end-point,,";
        String bare = "n=,r=clientnonce";
        String serverFirst = new String(server.handleClientFirst((gs2 + bare).getBytes()), StandardCharsets.UTF_8);
        byte[] otherCert = ChannelBinding.tlsServerEndPoint("a man in the middle".getBytes(), "SHA256withRSA");
        assertThatThrownBy(() -> server.handleClientFinal(clientFinal("pw", s, gs2, otherCert, bare, serverFirst)))
                .hasMessageContaining("channel binding check failed");
    }

    @Test
    void downgradesAreRefused() {
        ScramSecret s = secret();
        // "y": the client could bind but believes the server cannot, though PLUS was offered.
        assertThatThrownBy(() -> new ScramServer(s, RANDOM, ScramServer.MECHANISM, CERT_HASH)
                .handleClientFirst("y,,n=,r=abc".getBytes())).hasMessageContaining("negotiation error");
        // PLUS selected without binding, and binding with the plain mechanism.
        assertThatThrownBy(() -> new ScramServer(s, RANDOM, ScramServer.MECHANISM_PLUS, CERT_HASH)
                .handleClientFirst("n,,n=,r=abc".getBytes())).hasMessageContaining("negotiation error");
        assertThatThrownBy(() -> new ScramServer(s, RANDOM, ScramServer.MECHANISM, CERT_HASH)
                .handleClientFirst("p=tls-server-end-point,,n=,r=abc".getBytes()))
                .hasMessageContaining("channel binding is required");
        assertThatThrownBy(() -> new ScramServer(s, RANDOM, ScramServer.MECHANISM_PLUS, CERT_HASH)
                .handleClientFirst("p=tls-unique,,n=,r=abc".getBytes()))
                .hasMessageContaining("unsupported SCRAM channel-binding type");
    }

    @Test
    void plainScramOverTlsStillWorksWithN() throws AuthException {
        ScramServer server = new ScramServer(secret(), RANDOM, ScramServer.MECHANISM, CERT_HASH);
        assertThat(server.handleClientFirst("n,,n=,r=abc".getBytes())).isNotEmpty();
    }

    @Test
    void hashFollowsTheCertificateSignature() {
        assertThat(ChannelBinding.hashFor("SHA1withRSA")).isEqualTo("SHA-256");
        assertThat(ChannelBinding.hashFor("MD5withRSA")).isEqualTo("SHA-256");
        assertThat(ChannelBinding.hashFor("SHA256withECDSA")).isEqualTo("SHA-256");
        assertThat(ChannelBinding.hashFor("SHA384withECDSA")).isEqualTo("SHA-384");
        assertThat(ChannelBinding.hashFor("SHA512withRSA")).isEqualTo("SHA-512");
        assertThat(CERT_HASH).hasSize(32);
    }
}
