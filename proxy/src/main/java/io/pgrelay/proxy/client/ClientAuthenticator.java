package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.pgrelay.config.UserConfig;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.auth.AuthException;
import io.pgrelay.protocol.auth.Md5Password;
import io.pgrelay.protocol.auth.ScramServer;
import io.pgrelay.protocol.message.Authentication;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.Message;
import io.pgrelay.protocol.message.PasswordMessage;
import io.pgrelay.protocol.message.SASLInitialResponse;
import io.pgrelay.protocol.message.SASLResponse;
import io.pgrelay.proxy.PgRelayException;
import io.pgrelay.proxy.gss.GssAcceptor;
import io.pgrelay.proxy.gss.GssContinue;
import io.pgrelay.proxy.tls.TransportSecurity;
import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSException;

import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * One client's authentication exchange, as the user's auth_type says: trust, MD5, SCRAM-SHA-256 (and
 * SCRAM-SHA-256-PLUS with tls-server-end-point channel binding over TLS), cert (the TLS client certificate's CN) or
 * gss (a Kerberos principal, from the GSS encryption context or from an AuthenticationGSS exchange). Each call takes
 * the client's password-type frame and says what to send back; a wrong password or a broken exchange becomes a
 * PgRelayException with the SQLSTATE PostgreSQL itself would use.
 */
final class ClientAuthenticator {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ClientAuthenticator.class);
    enum Step { AWAIT_PASSWORD, AWAIT_SASL_INITIAL, AWAIT_SASL_RESPONSE, AWAIT_GSS_TOKEN, DONE }

    /** What to send next; {@code done} once the client is authenticated (AuthenticationOk follows). */
    record Reply(Message message, boolean done) {
    }

    private final UserConfig user;
    private final UserSecrets.Secrets secrets;
    private final SecureRandom random;
    private final Channel channel;
    private Step step;
    private byte[] md5Salt;
    private ScramServer scram;
    /** tls-server-end-point data when the client is on TLS (SCRAM-SHA-256-PLUS is offered); else null. */
    private byte[] channelBinding;
    private GSSContext gssContext;

    ClientAuthenticator(UserConfig user, UserSecrets.Secrets secrets, SecureRandom random) {
        this(user, secrets, random, null);
    }

    ClientAuthenticator(UserConfig user, UserSecrets.Secrets secrets, SecureRandom random, Channel channel) {
        this.user = user;
        this.secrets = secrets;
        this.random = random;
        this.channel = channel;
    }

    /** The first request to send, or a Reply with done=true and no message (trust, cert, gss over GSS encryption). */
    Reply begin() throws PgRelayException {
        try {
            return start();
        } catch (PgRelayException e) {
            // The session reports failures of later steps; these happen before any exchange, so say it here.
            log.warn("client {}: authentication of user \"{}\" failed: {}", channel == null ? "?"
                    : channel.remoteAddress(), user.username(), e.getMessage());
            throw e;
        }
    }

    private Reply start() throws PgRelayException {
        switch (user.authType()) {
            case TRUST:
                step = Step.DONE;
                return new Reply(null, true);
            case MD5:
                md5Salt = new byte[4];
                random.nextBytes(md5Salt);
                step = Step.AWAIT_PASSWORD;
                return new Reply(new Authentication.AuthenticationMD5Password(md5Salt), false);
            case CERT:
                checkCertificate();
                step = Step.DONE;
                return new Reply(null, true);
            case GSS:
                return beginGss();
            default:
                step = Step.AWAIT_SASL_INITIAL;
                channelBinding = channel == null ? null : TransportSecurity.channelBinding(channel);
                return new Reply(new Authentication.AuthenticationSASL(channelBinding == null
                        ? List.of(ScramServer.MECHANISM)
                        : List.of(ScramServer.MECHANISM_PLUS, ScramServer.MECHANISM)), false);
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
                String mechanism = initial.mechanism();
                boolean plus = ScramServer.MECHANISM_PLUS.equals(mechanism) && channelBinding != null;
                if (!ScramServer.MECHANISM.equals(mechanism) && !plus) {
                    throw new PgRelayException(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                            "client selected an invalid SASL authentication mechanism \"" + mechanism + "\""));
                }
                if (initial.data() == null) {
                    throw new PgRelayException(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                            "malformed SCRAM message (empty initial response)"));
                }
                scram = channelBinding == null ? new ScramServer(secrets.scram(), random)
                        : new ScramServer(secrets.scram(), random, mechanism, channelBinding);
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
            case AWAIT_GSS_TOKEN:
                return onGssToken(ByteBufUtil.getBytes(Frames.body(frame)));
            default:
                throw new PgRelayException(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                        "unexpected password message after authentication"));
        }
    }

    // ---- cert ------------------------------------------------------------------------------------------------

    private void checkCertificate() throws PgRelayException {
        X509Certificate cert = channel == null ? null : TransportSecurity.clientCertificate(channel);
        if (cert == null) {
            throw new PgRelayException(ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION,
                    "connection requires a valid client certificate"));
        }
        String cn = TransportSecurity.commonName(cert);
        if (!user.acceptsIdentity(cn)) {
            throw new PgRelayException(ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION,
                    "certificate authentication failed for user \"" + user.username() + "\": the certificate's CN is \""
                            + cn + "\""));
        }
    }

    // ---- gss -------------------------------------------------------------------------------------------------

    private Reply beginGss() throws PgRelayException {
        TransportSecurity security = channel == null ? TransportSecurity.NONE : TransportSecurity.of(channel);
        GssAcceptor acceptor = security.gss();
        if (acceptor == null) {
            throw gssFailed("GSSAPI is not configured");
        }
        String encrypted = TransportSecurity.gssPrincipal(channel);
        if (encrypted != null) {
            // As PostgreSQL: a GSS-encrypted connection already proved its principal; no second exchange.
            checkPrincipal(acceptor, encrypted);
            step = Step.DONE;
            return new Reply(null, true);
        }
        try {
            gssContext = acceptor.newContext();
        } catch (GSSException e) {
            throw gssFailed("could not create a GSSAPI context: " + e.getMessage());
        }
        step = Step.AWAIT_GSS_TOKEN;
        return new Reply(GssContinue.START, false);
    }

    private Reply onGssToken(byte[] token) throws PgRelayException {
        GssAcceptor acceptor = TransportSecurity.of(channel).gss();
        try {
            byte[] out = acceptor.accept(gssContext, token);
            boolean established = gssContext.isEstablished();
            Message reply = out != null && out.length > 0 ? new GssContinue(out) : null;
            if (!established) {
                if (reply == null) {
                    throw gssFailed("the GSSAPI exchange stalled");
                }
                return new Reply(reply, false);
            }
            String principal = GssAcceptor.clientPrincipal(gssContext);
            checkPrincipal(acceptor, principal);
            step = Step.DONE;
            return new Reply(reply, true);
        } catch (GSSException e) {
            throw gssFailed("accepting GSS security context failed: " + e.getMessage());
        } finally {
            if (step == Step.DONE || gssContext != null && gssContext.isEstablished()) {
                dispose();
            }
        }
    }

    private void checkPrincipal(GssAcceptor acceptor, String principal) throws PgRelayException {
        String identity = acceptor.identity(principal);
        if (!user.acceptsIdentity(identity)) {
            throw new PgRelayException(ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION,
                    "GSSAPI authentication failed for user \"" + user.username() + "\": the client's principal is \""
                            + principal + "\""));
        }
    }

    private void dispose() {
        if (gssContext != null) {
            try {
                gssContext.dispose();
            } catch (GSSException ignored) {
                // nothing that matters is left
            }
            gssContext = null;
        }
    }

    private PgRelayException gssFailed(String detail) {
        dispose();
        return new PgRelayException(ErrorResponse.fatal(SqlState.INVALID_AUTHORIZATION,
                "GSSAPI authentication failed for user \"" + user.username() + "\": " + detail));
    }

    private PgRelayException passwordFailed() {
        return new PgRelayException(ErrorResponse.fatal(SqlState.INVALID_PASSWORD,
                "password authentication failed for user \"" + user.username() + "\""));
    }
}
