package io.pgrelay.proxy.gss;

import com.sun.security.auth.module.Krb5LoginModule;
import io.pgrelay.config.SecurityConfig;
import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSCredential;
import org.ietf.jgss.GSSException;
import org.ietf.jgss.GSSManager;
import org.ietf.jgss.GSSName;
import org.ietf.jgss.Oid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.security.auth.Subject;
import javax.security.auth.login.LoginException;
import java.security.PrivilegedActionException;
import java.security.PrivilegedExceptionAction;
import java.util.HashMap;
import java.util.Map;

/**
 * pgrelay as a Kerberos service through the JDK's JGSS: the service principal's keys come from gss_keytab (no KDC is
 * contacted: an acceptor only needs its own keys), and each client exchange gets its own {@link GSSContext}.
 *
 * <p>The JDK reads krb5.conf from {@code -Djava.security.krb5.conf}; when that is not set and {@code KRB5_CONFIG}
 * is, that file is used, as MIT tools do.
 */
public final class GssAcceptor {
    private static final Logger log = LoggerFactory.getLogger(GssAcceptor.class);
    private static final Oid KRB5_MECHANISM = oid("1.2.840.113554.1.2.2");

    private final Subject subject;
    private final GSSCredential credential;
    private final String principal;
    private final boolean includeRealm;

    private GssAcceptor(Subject subject, GSSCredential credential, String principal, boolean includeRealm) {
        this.subject = subject;
        this.credential = credential;
        this.principal = principal;
        this.includeRealm = includeRealm;
    }

    /** Reads the keytab for the configured principal; fails with a message naming keytab and principal. */
    public static GssAcceptor login(SecurityConfig config) throws GSSException, LoginException {
        String krb5Config = System.getenv("KRB5_CONFIG");
        if (System.getProperty("java.security.krb5.conf") == null && krb5Config != null) {
            System.setProperty("java.security.krb5.conf", krb5Config);
        }
        Subject subject = new Subject();
        Map<String, String> options = new HashMap<>();
        options.put("useKeyTab", "true");
        options.put("keyTab", config.gssKeytab());
        options.put("principal", config.gssPrincipal());
        options.put("storeKey", "true");
        options.put("isInitiator", "false");
        options.put("doNotPrompt", "true");
        options.put("refreshKrb5Config", "true");
        Krb5LoginModule module = new Krb5LoginModule();
        module.initialize(subject, null, new HashMap<>(), options);
        try {
            module.login();
            module.commit();
        } catch (LoginException e) {
            throw new LoginException("could not read the keys of gss_principal " + config.gssPrincipal()
                    + " from gss_keytab " + config.gssKeytab() + ": " + e.getMessage());
        }
        GSSManager manager = GSSManager.getInstance();
        GSSCredential credential;
        try {
            credential = Subject.doAs(subject, (PrivilegedExceptionAction<GSSCredential>) () -> {
                GSSName name = manager.createName(config.gssPrincipal(), GSSName.NT_USER_NAME);
                return manager.createCredential(name, GSSCredential.INDEFINITE_LIFETIME, KRB5_MECHANISM,
                        GSSCredential.ACCEPT_ONLY);
            });
        } catch (PrivilegedActionException e) {
            Exception cause = e.getException();
            throw cause instanceof GSSException g ? g : new GSSException(GSSException.FAILURE, 0, cause.toString());
        }
        log.info("GSSAPI: accepting Kerberos tickets for {} (keytab {})", config.gssPrincipal(), config.gssKeytab());
        return new GssAcceptor(subject, credential, config.gssPrincipal(), config.gssIncludeRealm());
    }

    /** A new acceptor context for one client exchange. */
    public GSSContext newContext() throws GSSException {
        return GSSManager.getInstance().createContext(credential);
    }

    /** One step of the exchange, with the service's keys in scope; returns the token to send (maybe empty). */
    public byte[] accept(GSSContext context, byte[] token) throws GSSException {
        try {
            return Subject.doAs(subject, (PrivilegedExceptionAction<byte[]>) () ->
                    context.acceptSecContext(token, 0, token.length));
        } catch (PrivilegedActionException e) {
            Exception cause = e.getException();
            throw cause instanceof GSSException g ? g : new GSSException(GSSException.FAILURE, 0, cause.toString());
        }
    }

    /** The client principal of an established context, e.g. {@code alice@EXAMPLE.COM}. */
    public static String clientPrincipal(GSSContext context) throws GSSException {
        return context.getSrcName().toString();
    }

    /** The name compared with the user name: the principal with its realm unless gss_include_realm. */
    public String identity(String clientPrincipal) {
        if (includeRealm || clientPrincipal == null) {
            return clientPrincipal;
        }
        int at = clientPrincipal.lastIndexOf('@');
        return at < 0 ? clientPrincipal : clientPrincipal.substring(0, at);
    }

    public String principal() {
        return principal;
    }

    private static Oid oid(String s) {
        try {
            return new Oid(s);
        } catch (GSSException e) {
            throw new IllegalStateException(e);
        }
    }
}
