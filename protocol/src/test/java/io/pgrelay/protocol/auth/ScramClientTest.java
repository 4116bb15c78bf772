package io.pgrelay.protocol.auth;

import static io.pgrelay.protocol.auth.ScramServerTest.CLIENT_FINAL;
import static io.pgrelay.protocol.auth.ScramServerTest.CLIENT_NONCE;
import static io.pgrelay.protocol.auth.ScramServerTest.NONCE;
import static io.pgrelay.protocol.auth.ScramServerTest.SERVER_FINAL;
import static io.pgrelay.protocol.auth.ScramServerTest.SERVER_FIRST;
import static io.pgrelay.protocol.auth.ScramServerTest.str;
import static io.pgrelay.protocol.auth.ScramServerTest.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.SecureRandom;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ScramClientTest {
    @Test
    void rfc7677Example() throws AuthException {
        ScramClient client = new ScramClient("pencil", CLIENT_NONCE, "user");
        assertThat(str(client.clientFirstMessage())).isEqualTo("n,,n=user,r=" + CLIENT_NONCE);
        assertThat(str(client.handleServerFirst(utf8(SERVER_FIRST)))).isEqualTo(CLIENT_FINAL);
        client.verifyServerFinal(utf8(SERVER_FINAL));
    }

    @Test
    void libpqStyleFirstMessageHasEmptyUserName() throws AuthException {
        ScramClient client = new ScramClient("pencil", CLIENT_NONCE);
        assertThat(str(client.clientFirstMessage())).isEqualTo("n,,n=,r=" + CLIENT_NONCE);
        // python3 known answer for the "n=" variant.
        assertThat(str(client.handleServerFirst(utf8(SERVER_FIRST))))
                .isEqualTo("c=biws,r=" + NONCE + ",p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=");
        client.verifyServerFinal(utf8("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg="));
    }

    @Test
    void randomNonceIs18BytesOfBase64() {
        String first = str(new ScramClient("x", new SecureRandom()).clientFirstMessage());
        assertThat(first).startsWith("n,,n=,r=");
        assertThat(Base64.getDecoder().decode(first.substring("n,,n=,r=".length()))).hasSize(18);
    }

    @Test
    void userNameIsEscaped() {
        assertThat(str(new ScramClient("x", "abc", "a,b=c").clientFirstMessage()))
                .isEqualTo("n,,n=a=2Cb=3Dc,r=abc");
    }

    @Test
    void serverExtensionsAreIgnoredButSigned() throws AuthException {
        ScramClient client = new ScramClient("pencil", CLIENT_NONCE, "user");
        String clientFinal = str(client.handleServerFirst(utf8(SERVER_FIRST + ",x=ext")));
        assertThat(clientFinal).startsWith("c=biws,r=" + NONCE + ",p=").isNotEqualTo(CLIENT_FINAL);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            // nonce must extend ours
            "r=rOprNGfwEbeRWgbNEkqX%hvY,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096|SCRAM server nonce does not extend the client nonce",
            "r=" + CLIENT_NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096|SCRAM server nonce does not extend the client nonce",
            "r=xx" + CLIENT_NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096|SCRAM server nonce does not extend the client nonce",
            "r=" + CLIENT_NONCE + "a b,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096|SCRAM server nonce does not extend the client nonce",
            // salt
            "r=" + NONCE + ",s=,i=4096|malformed SCRAM message: empty salt",
            "r=" + NONCE + ",s=!!,i=4096|malformed SCRAM message: invalid base64 in salt",
            "r=" + NONCE + ",i=4096|malformed SCRAM message: expected attribute s (salt), got i",
            // iterations
            "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0|malformed SCRAM message: invalid iteration count",
            "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1|malformed SCRAM message: invalid iteration count",
            "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=|malformed SCRAM message: invalid iteration count",
            "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4k|malformed SCRAM message: invalid iteration count",
            "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=9999999999|malformed SCRAM message: invalid iteration count",
            "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==|malformed SCRAM message: missing attribute i (iteration count)",
            // structure
            "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096|malformed SCRAM message: expected attribute r (nonce), got s",
            "m=ext,r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096|server requires an unsupported SCRAM extension (m=)",
            "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,|malformed SCRAM message: attribute is not of the form x=value",
            "r=" + NONCE + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,m=x|unsupported SCRAM extension (m=) requested",
            "garbage|malformed SCRAM message: attribute is not of the form x=value",
    })
    void badServerFirst(String message, String error) {
        ScramClient client = new ScramClient("pencil", CLIENT_NONCE);
        assertThatThrownBy(() -> client.handleServerFirst(utf8(message)))
                .isInstanceOf(AuthException.class)
                .hasMessage(error);
    }

    @Test
    void emptyServerFirst() {
        assertThatThrownBy(() -> new ScramClient("pencil", CLIENT_NONCE).handleServerFirst(new byte[0]))
                .isInstanceOf(AuthException.class)
                .hasMessage("malformed SCRAM message: empty server-first-message");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "v=AAAAZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=|SCRAM server signature mismatch: the server could not prove it knows the password",
            "v=|SCRAM server signature mismatch: the server could not prove it knows the password",
            "v=!!!|malformed SCRAM message: invalid base64 in server signature",
            "e=invalid-proof|SCRAM authentication failed, server error: invalid-proof",
            "x=1|malformed SCRAM message: expected attribute v (server signature), got x",
            "nonsense|malformed SCRAM message: attribute is not of the form x=value",
    })
    void badServerFinal(String message, String error) throws AuthException {
        ScramClient client = new ScramClient("pencil", CLIENT_NONCE, "user");
        client.handleServerFirst(utf8(SERVER_FIRST));
        assertThatThrownBy(() -> client.verifyServerFinal(utf8(message)))
                .isInstanceOf(AuthException.class)
                .hasMessage(error);
    }

    @Test
    void serverErrorTextIsSanitized() throws AuthException {
        ScramClient client = new ScramClient("pencil", CLIENT_NONCE, "user");
        client.handleServerFirst(utf8(SERVER_FIRST));
        assertThatThrownBy(() -> client.verifyServerFinal(utf8("e=bad\nline" + "x".repeat(500))))
                .isInstanceOf(AuthException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n").hasSizeLessThan(200));
    }

    @Test
    void callsOutOfOrderAreBugs() throws AuthException {
        assertThatThrownBy(() -> new ScramClient("pencil", CLIENT_NONCE).verifyServerFinal(utf8(SERVER_FINAL)))
                .isInstanceOf(IllegalStateException.class);
        ScramClient client = new ScramClient("pencil", CLIENT_NONCE, "user");
        client.handleServerFirst(utf8(SERVER_FIRST));
        client.verifyServerFinal(utf8(SERVER_FINAL));
        assertThatThrownBy(() -> client.verifyServerFinal(utf8(SERVER_FINAL)))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> client.handleServerFirst(utf8(SERVER_FIRST)))
                .isInstanceOf(IllegalStateException.class);
    }
}
