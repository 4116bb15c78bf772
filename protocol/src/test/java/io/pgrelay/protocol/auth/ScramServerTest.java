package io.pgrelay.protocol.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ScramServerTest {
    // RFC 7677 section 3.
    static final String CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
    static final String SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    static final String NONCE = CLIENT_NONCE + SERVER_NONCE;
    static final byte[] SALT = Base64.getDecoder().decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    static final String SERVER_FIRST = "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    static final String CLIENT_FINAL = "c=biws,r=" + NONCE + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    static final String SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
    static final ScramSecret PENCIL = ScramSecret.fromPassword("pencil", SALT, 4096);

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    private static ScramServer server() {
        return new ScramServer(PENCIL, SERVER_NONCE);
    }

    /** A server that has answered "n,,n=,r=<client nonce>". */
    private static ScramServer afterFirst(String gs2Header) throws AuthException {
        ScramServer server = server();
        server.handleClientFirst(utf8(gs2Header + "n=,r=" + CLIENT_NONCE));
        return server;
    }

    @Test
    void rfc7677Example() throws AuthException {
        ScramServer server = server();
        assertThat(str(server.handleClientFirst(utf8("n,,n=user,r=" + CLIENT_NONCE)))).isEqualTo(SERVER_FIRST);
        assertThat(server.isComplete()).isFalse();
        assertThat(str(server.handleClientFinal(utf8(CLIENT_FINAL)))).isEqualTo(SERVER_FINAL);
        assertThat(server.isComplete()).isTrue();
    }

    @Test
    void libpqStyleEmptyUserName() throws AuthException {
        // Proof and signature computed with python3 hmac/hashlib for "n=,r=..." (the user name is signed too).
        ScramServer server = afterFirst("n,,");
        byte[] serverFinal = server.handleClientFinal(utf8(
                "c=biws,r=" + NONCE + ",p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k="));
        assertThat(str(serverFinal)).isEqualTo("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=");
    }

    @Test
    void acceptsYFlagWhenChannelBindingWasNotAdvertised() throws AuthException {
        // Python known answer: gs2 header "y,," echoes as c=eSws.
        ScramServer server = new ScramServer(PENCIL, "servernonce");
        server.handleClientFirst(utf8("y,,n=,r=clientnonce"));
        byte[] serverFinal = server.handleClientFinal(utf8(
                "c=eSws,r=clientnonceservernonce,p=k4/jLcpmiqrDAY/ZQNQNwL/UKlYsU+uOY2UY3mNS3JA="));
        assertThat(str(serverFinal)).isEqualTo("v=IDxYaLjJ5TLwoEi1ShuFJcQkWHa2KzmnzDKJoxselT8=");
    }

    @Test
    void anyUserNameIsAccepted() throws AuthException {
        for (String name : new String[] {"", "user", "someone=2Celse", "\u00FCser"}) {
            assertThat(str(server().handleClientFirst(utf8("n,,n=" + name + ",r=" + CLIENT_NONCE))))
                    .isEqualTo(SERVER_FIRST);
        }
    }

    @Test
    void optionalExtensionsAfterTheNonceAreIgnored() throws AuthException {
        assertThat(str(server().handleClientFirst(utf8("n,,n=,r=" + CLIENT_NONCE + ",x=whatever"))))
                .isEqualTo(SERVER_FIRST);
    }

    @Test
    void randomServerNonceExtendsTheClientNonce() throws AuthException {
        ScramServer server = new ScramServer(PENCIL, new java.security.SecureRandom());
        String serverFirst = str(server.handleClientFirst(utf8("n,,n=,r=abc")));
        String nonce = serverFirst.substring(2, serverFirst.indexOf(','));
        assertThat(nonce).startsWith("abc").hasSize(3 + 24);
        assertThat(Base64.getDecoder().decode(nonce.substring(3))).hasSize(18);
    }

    @Test
    void wrongProofFails() throws AuthException {
        ScramServer server = afterFirst("n,,");
        // The RFC proof signs "n=user", so it is wrong for "n=".
        assertThatThrownBy(() -> server.handleClientFinal(utf8(CLIENT_FINAL)))
                .isInstanceOf(AuthException.class)
                .hasMessage("password authentication failed");
        assertThat(server.isComplete()).isFalse();
    }

    @Test
    void wrongPasswordFails() throws AuthException {
        ScramServer server = new ScramServer(ScramSecret.fromPassword("not pencil", SALT, 4096), SERVER_NONCE);
        server.handleClientFirst(utf8("n,,n=user,r=" + CLIENT_NONCE));
        assertThatThrownBy(() -> server.handleClientFinal(utf8(CLIENT_FINAL)))
                .isInstanceOf(AuthException.class)
                .hasMessage("password authentication failed");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "p=tls-server-end-point,,n=,r=abc|channel binding not supported",
            "n,a=admin,n=,r=abc|SCRAM authorization identity (a=) is not supported",
            "n,,m=ext,n=,r=abc|unsupported SCRAM extension (m=) requested",
            "n,,n=,r=abc,m=ext|unsupported SCRAM extension (m=) requested",
            "x,,n=,r=abc|malformed SCRAM message: invalid channel binding flag",
            "n,|malformed SCRAM message: missing GS2 header",
            "n|malformed SCRAM message: missing GS2 header",
            "n,,|malformed SCRAM message: attribute is not of the form x=value",
            "n,,n=|malformed SCRAM message: missing attribute r (nonce)",
            "n,,r=abc|malformed SCRAM message: expected attribute n (user name), got r",
            "n,,n=,x=abc|malformed SCRAM message: expected attribute r (nonce), got x",
            "n,,n=,r=|malformed SCRAM message: invalid client nonce",
            "n,,n=,r=a b|malformed SCRAM message: invalid client nonce",
            "n,,n=,r=abc,|malformed SCRAM message: attribute is not of the form x=value",
            "n,,n=,r=abc,garbage|malformed SCRAM message: attribute is not of the form x=value",
            "n,,n=,r=abc,1=x|malformed SCRAM message: attribute is not of the form x=value",
    })
    void badClientFirst(String message, String error) {
        ScramServer server = server();
        assertThatThrownBy(() -> server.handleClientFirst(utf8(message)))
                .isInstanceOf(AuthException.class)
                .hasMessage(error);
    }

    @Test
    void emptyOrInvalidUtf8ClientFirst() {
        assertThatThrownBy(() -> server().handleClientFirst(new byte[0]))
                .isInstanceOf(AuthException.class).hasMessageStartingWith("malformed SCRAM message");
        assertThatThrownBy(() -> server().handleClientFirst(new byte[] {'n', ',', ',', 'n', '=', (byte) 0xC3}))
                .isInstanceOf(AuthException.class).hasMessageContaining("not valid UTF-8");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            // channel binding echo must be base64("n,,")
            "c=eSws,r=" + NONCE + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|SCRAM channel binding check failed",
            "c=,r=" + NONCE + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|SCRAM channel binding check failed",
            "c=b!ws,r=" + NONCE + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|malformed SCRAM message: invalid base64 in channel binding",
            // tampered nonces
            "c=biws,r=" + CLIENT_NONCE + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|SCRAM nonce mismatch",
            "c=biws,r=" + NONCE + "x,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|SCRAM nonce mismatch",
            "c=biws,r=X" + NONCE + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|SCRAM nonce mismatch",
            // structure
            "c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|malformed SCRAM message: expected attribute r (nonce), got p",
            "r=" + NONCE + ",c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|malformed SCRAM message: expected attribute c (channel binding), got r",
            "c=biws,r=" + NONCE + "|malformed SCRAM message: missing attribute p (proof)",
            "c=biws,r=" + NONCE + ",p=|malformed SCRAM message: invalid proof length",
            "c=biws,r=" + NONCE + ",p=dHzbZ|malformed SCRAM message: invalid base64 in proof",
            "c=biws,r=" + NONCE + ",p=AAAA|malformed SCRAM message: invalid proof length",
            "c=biws,r=" + NONCE + ",p=*not*base64*|malformed SCRAM message: invalid base64 in proof",
            "c=biws,r=" + NONCE + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1|malformed SCRAM message: unexpected data after the last attribute",
            "c=biws,r=" + NONCE + ",m=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|unsupported SCRAM extension (m=) requested",
            "c=biws,r=" + NONCE + ",,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|malformed SCRAM message: attribute is not of the form x=value",
            "c=biws|malformed SCRAM message: missing attribute r (nonce)",
    })
    void badClientFinal(String message, String error) throws AuthException {
        ScramServer server = afterFirst("n,,");
        assertThatThrownBy(() -> server.handleClientFinal(utf8(message)))
                .isInstanceOf(AuthException.class)
                .hasMessage(error);
        assertThat(server.isComplete()).isFalse();
    }

    @Test
    void channelBindingMustEchoTheHeaderTheClientSent() throws AuthException {
        // The client said "y,,": echoing "n,," (biws) is a downgrade.
        ScramServer server = afterFirst("y,,");
        assertThatThrownBy(() -> server.handleClientFinal(utf8(CLIENT_FINAL)))
                .isInstanceOf(AuthException.class)
                .hasMessage("SCRAM channel binding check failed");
    }

    @Test
    void ignoredExtensionInClientFinalIsStillSigned() throws AuthException {
        // x=1 is part of client-final-message-without-proof, so the RFC proof no longer matches.
        ScramServer server = server();
        server.handleClientFirst(utf8("n,,n=user,r=" + CLIENT_NONCE));
        assertThatThrownBy(() -> server.handleClientFinal(utf8(
                "c=biws,r=" + NONCE + ",x=1,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")))
                .isInstanceOf(AuthException.class)
                .hasMessage("password authentication failed");
    }

    @Test
    void callsOutOfOrderAreBugs() throws AuthException {
        assertThatThrownBy(() -> server().handleClientFinal(utf8(CLIENT_FINAL)))
                .isInstanceOf(IllegalStateException.class);
        ScramServer server = afterFirst("n,,");
        assertThatThrownBy(() -> server.handleClientFirst(utf8("n,,n=,r=abc")))
                .isInstanceOf(IllegalStateException.class);
    }

    @Test
    void noSecondChanceAfterAFailure() throws AuthException {
        ScramServer server = server();
        server.handleClientFirst(utf8("n,,n=user,r=" + CLIENT_NONCE));
        assertThatThrownBy(() -> server.handleClientFinal(utf8("c=biws,r=" + NONCE + ",p=AAAA")))
                .isInstanceOf(AuthException.class);
        assertThatThrownBy(() -> server.handleClientFinal(utf8(CLIENT_FINAL)))
                .isInstanceOf(IllegalStateException.class);
        assertThat(server.isComplete()).isFalse();
    }
}
