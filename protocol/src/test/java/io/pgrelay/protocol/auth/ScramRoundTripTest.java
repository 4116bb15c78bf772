package io.pgrelay.protocol.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** ScramClient against ScramServer, and both against damaged messages. */
class ScramRoundTripTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Few iterations keep the many exchanges below fast; the count does not change the protocol. */
    private static final int ITERATIONS = 16;

    private static ScramSecret secret(String password) {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return ScramSecret.fromPassword(password, salt, ITERATIONS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"app", "", "pa\u0308ss", "\u2168", "a\u00A0b", "x\uE000y", "\u06271", "p\u00E4ss\uD83D\uDE00",
            "with,comma=and equals"})
    void clientAndServerAgree(String password) throws AuthException {
        ScramServer server = new ScramServer(secret(password), RANDOM);
        ScramClient client = new ScramClient(password, RANDOM);
        byte[] serverFirst = server.handleClientFirst(client.clientFirstMessage());
        byte[] serverFinal = server.handleClientFinal(client.handleServerFirst(serverFirst));
        client.verifyServerFinal(serverFinal);
        assertThat(server.isComplete()).isTrue();
    }

    @Test
    void equivalentSpellingsOfAPasswordAuthenticate() throws AuthException {
        // SASLprep makes the decomposed and composed forms the same password.
        ScramServer server = new ScramServer(secret("p\u00E4ss"), RANDOM);
        ScramClient client = new ScramClient("pa\u0308ss", RANDOM);
        client.verifyServerFinal(server.handleClientFinal(
                client.handleServerFirst(server.handleClientFirst(client.clientFirstMessage()))));
    }

    @Test
    void verifierWrittenByPostgresAuthenticatesTheClient() throws AuthException {
        ScramSecret fromPostgres = ScramSecret.parse("SCRAM-SHA-256$4096:fBSiR74Bo/3PvUyWmU75Lg==$"
                + "e6I5fYM18i9v0JVDDUe/eJPfwwy6huGPRyu1kuc6Ebg=:7NTrk+qfzgzvKU8pY0f+MONpgLufEGhsUCGEaJtHaR8=");
        ScramServer server = new ScramServer(fromPostgres, RANDOM);
        ScramClient client = new ScramClient("app", RANDOM);
        client.verifyServerFinal(server.handleClientFinal(
                client.handleServerFirst(server.handleClientFirst(client.clientFirstMessage()))));
        assertThat(server.isComplete()).isTrue();
    }

    @Test
    void wrongPasswordIsRejected() throws AuthException {
        ScramServer server = new ScramServer(secret("right"), RANDOM);
        ScramClient client = new ScramClient("wrong", RANDOM);
        byte[] clientFinal = client.handleServerFirst(server.handleClientFirst(client.clientFirstMessage()));
        assertThatThrownBy(() -> server.handleClientFinal(clientFinal))
                .isInstanceOf(AuthException.class)
                .hasMessage("password authentication failed");
        assertThat(server.isComplete()).isFalse();
    }

    @Test
    void serverThatDoesNotKnowThePasswordIsDetected() throws AuthException {
        // A server with the right StoredKey but a forged ServerKey (it stole the ClientKey hash, not the password).
        ScramSecret real = secret("pw");
        String forged = real.toString().substring(0, real.toString().lastIndexOf(':') + 1)
                + java.util.Base64.getEncoder().encodeToString(new byte[32]);
        ScramServer server = new ScramServer(ScramSecret.parse(forged), RANDOM);
        ScramClient client = new ScramClient("pw", RANDOM);
        byte[] serverFinal = server.handleClientFinal(
                client.handleServerFirst(server.handleClientFirst(client.clientFirstMessage())));
        assertThatThrownBy(() -> client.verifyServerFinal(serverFinal))
                .isInstanceOf(AuthException.class)
                .hasMessageContaining("server signature mismatch");
    }

    @Test
    void nonceTamperedInTransitIsRejected() throws AuthException {
        ScramServer server = new ScramServer(secret("pw"), RANDOM);
        ScramClient client = new ScramClient("pw", RANDOM);
        String serverFirst = new String(server.handleClientFirst(client.clientFirstMessage()), StandardCharsets.UTF_8);
        // Client sees a server nonce with one extra character; its final message then carries that nonce.
        String tampered = serverFirst.replaceFirst(",s=", "Z,s=");
        byte[] clientFinal = client.handleServerFirst(tampered.getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> server.handleClientFinal(clientFinal))
                .isInstanceOf(AuthException.class)
                .hasMessage("SCRAM nonce mismatch");
    }

    @Test
    void proofFromAnotherExchangeIsRejected() throws AuthException {
        ScramSecret secret = secret("pw");
        ScramServer first = new ScramServer(secret, RANDOM);
        ScramClient client = new ScramClient("pw", RANDOM);
        byte[] clientFirst = client.clientFirstMessage();
        byte[] clientFinal = client.handleServerFirst(first.handleClientFirst(clientFirst));
        first.handleClientFinal(clientFinal);
        // Replay the same client messages to a new server: it picks a new nonce, so the replay fails.
        ScramServer second = new ScramServer(secret, RANDOM);
        second.handleClientFirst(clientFirst);
        assertThatThrownBy(() -> second.handleClientFinal(clientFinal)).isInstanceOf(AuthException.class);
    }

    /** Every truncation and many random byte changes: AuthException or success, never another exception. */
    @Test
    void damagedMessagesOnlyEverThrowAuthException() throws AuthException {
        ScramSecret secret = secret("pw");
        ScramClient client = new ScramClient("pw", RANDOM);
        byte[] clientFirst = client.clientFirstMessage();
        ScramServer server = new ScramServer(secret, "servernonce");
        byte[] serverFirst = server.handleClientFirst(clientFirst);
        byte[] clientFinal = client.handleServerFirst(serverFirst);
        byte[] serverFinal = server.handleClientFinal(clientFinal);

        Random random = new Random(42);
        for (byte[] damaged : damage(clientFirst, random)) {
            expectOnlyAuthException(() -> new ScramServer(secret, "servernonce").handleClientFirst(damaged));
        }
        for (byte[] damaged : damage(clientFinal, random)) {
            expectOnlyAuthException(() -> {
                ScramServer s = new ScramServer(secret, "servernonce");
                s.handleClientFirst(clientFirst);
                s.handleClientFinal(damaged);
            });
        }
        String nonce = new String(clientFirst, StandardCharsets.UTF_8).substring("n,,n=,r=".length());
        for (byte[] damaged : damage(serverFirst, random)) {
            expectOnlyAuthException(() -> new ScramClient("pw", nonce).handleServerFirst(damaged));
        }
        for (byte[] damaged : damage(serverFinal, random)) {
            expectOnlyAuthException(() -> {
                ScramClient c = new ScramClient("pw", nonce);
                c.handleServerFirst(serverFirst);
                c.verifyServerFinal(damaged);
            });
        }
    }

    private interface Step {
        void run() throws AuthException;
    }

    private static void expectOnlyAuthException(Step step) {
        try {
            step.run();
        } catch (AuthException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        } catch (RuntimeException e) {
            fail("damaged message caused " + e, e);
        }
    }

    private static byte[][] damage(byte[] message, Random random) {
        byte[][] out = new byte[message.length + 500][];
        for (int i = 0; i < message.length; i++) {
            out[i] = Arrays.copyOf(message, i);
        }
        byte[] interesting = {',', '=', 0, (byte) 0xFF, (byte) 0xC3, 'm', 'p', 'r', ' '};
        for (int i = message.length; i < out.length; i++) {
            byte[] copy = message.clone();
            int changes = 1 + random.nextInt(3);
            for (int c = 0; c < changes; c++) {
                copy[random.nextInt(copy.length)] = random.nextBoolean()
                        ? interesting[random.nextInt(interesting.length)] : (byte) random.nextInt(256);
            }
            out[i] = copy;
        }
        return out;
    }
}
