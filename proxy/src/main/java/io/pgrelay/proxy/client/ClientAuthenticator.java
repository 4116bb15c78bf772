package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.pgrelay.config.UserConfig;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.auth.AuthException;
import io.pgrelay.protocol.auth.Md5Password;
import io.pgrelay.protocol.auth.ScramServer;
import io.pgrelay.protocol.message.Authentication;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.PasswordMessage;
import io.pgrelay.protocol.message.SASLInitialResponse;
import io.pgrelay.protocol.message.SASLResponse;
import io.pgrelay.proxy.PgRelayException;

import java.security.SecureRandom;
import java.util.List;

/**
 * One client's authentication exchange: trust, MD5 or SCRAM-SHA-256, as the user's auth_type says. Each call takes
 * the client's password-type frame and says what to send back; a wrong password or a broken exchange becomes a
 * PgRelayException with the SQLSTATE PostgreSQL itself would use.
 */
final class ClientAuthenticator {
    enum Step { AWAIT_PASSWORD, AWAIT_SASL_INITIAL, AWAIT_SASL_RESPONSE, DONE }

    /** What to send next; {@code done} once the client is authenticated (AuthenticationOk follows). */
    record Reply(Authentication message, boolean done) {
    }

    private final UserConfig user;
    private final UserSecrets.Secrets secrets;
    private final SecureRandom random;
    private Step step;
    private byte[] md5Salt;
    private ScramServer scram;

    ClientAuthenticator(UserConfig user, UserSecrets.Secrets secrets, SecureRandom random) {
        this.user = user;
        this.secrets = secrets;
        this.random = random;
    }

    /** The first request to send, or a Reply with done=true and no message for trust. */
    Reply begin() {
        switch (user.authType()) {
            case TRUST:
                step = Step.DONE;
                return new Reply(null, true);
            case MD5:
                md5Salt = new byte[4];
                random.nextBytes(md5Salt);
                step = Step.AWAIT_PASSWORD;
                return new Reply(new Authentication.AuthenticationMD5Password(md5Salt), false);
            default:
                step = Step.AWAIT_SASL_INITIAL;
                return new Reply(new Authentication.AuthenticationSASL(List.of(ScramServer.MECHANISM)), false);
        }
    }

    Reply onPasswordFrame(ByteBuf frame) throws PgRelayException {
        switch (step) {
            case AWAIT_PASSWORD: {
                String response = PasswordMessage.decode(frame).password();
                if (!Md5Password.verify(secrets.md5(), md5Salt, response)) {
                    throw passwordFailed();
                }
                step = Step.DONE;
                return new Reply(null, true);
            }
            case AWAIT_SASL_INITIAL: {
                SASLInitialResponse initial = SASLInitialResponse.decode(frame);
                if (!ScramServer.MECHANISM.equals(initial.mechanism())) {
                    throw new PgRelayException(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                            "client selected an invalid SASL authentication mechanism \"" + initial.mechanism()
                                    + "\""));
                }
                if (initial.data() == null) {
                    throw new PgRelayException(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                            "malformed SCRAM message (empty initial response)"));
                }
                scram = new ScramServer(secrets.scram(), random);
                try {
                    byte[] serverFirst = scram.handleClientFirst(initial.data());
                    step = Step.AWAIT_SASL_RESPONSE;
                    return new Reply(new Authentication.AuthenticationSASLContinue(serverFirst), false);
                } catch (AuthException e) {
                    throw new PgRelayException(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, e.getMessage()));
                }
            }
            case AWAIT_SASL_RESPONSE: {
                SASLResponse response = SASLResponse.decode(frame);
                try {
                    byte[] serverFinal = scram.handleClientFinal(response.data());
                    step = Step.DONE;
                    return new Reply(new Authentication.AuthenticationSASLFinal(serverFinal), true);
                } catch (AuthException e) {
                    throw passwordFailed();
                }
            }
            default:
                throw new PgRelayException(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                        "unexpected password message after authentication"));
        }
    }

    private PgRelayException passwordFailed() {
        return new PgRelayException(ErrorResponse.fatal(SqlState.INVALID_PASSWORD,
                "password authentication failed for user \"" + user.username() + "\""));
    }
}
