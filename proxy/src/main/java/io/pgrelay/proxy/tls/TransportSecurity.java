package io.pgrelay.proxy.tls;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.pgrelay.config.SecurityConfig;
import io.pgrelay.proxy.gss.GssAcceptor;
import io.pgrelay.proxy.gss.GssEncryptionHandler;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Everything about encrypting and authenticating connections that is set up once per process: the TLS contexts and
 * the GSSAPI acceptor credentials, with the settings they came from. Each client channel carries a reference
 * ({@link #of}) so the negotiator and the authenticator see the same state.
 */
public final class TransportSecurity {
    private static final AttributeKey<TransportSecurity> KEY = AttributeKey.valueOf(TransportSecurity.class,
            "security");
    public static final TransportSecurity NONE = new TransportSecurity(SecurityConfig.NONE, null, null);

    private final SecurityConfig config;
    private final TlsContexts tls;
    private final GssAcceptor gss;
    private final AtomicLong tlsSessions = new AtomicLong();
    private final AtomicLong gssEncryptedSessions = new AtomicLong();

    public TransportSecurity(SecurityConfig config, TlsContexts tls, GssAcceptor gss) {
        this.config = config;
        this.tls = tls;
        this.gss = gss;
    }

    /** Loads certificates, keys and the keytab as the config says; fails naming the file at fault. */
    public static TransportSecurity load(SecurityConfig config) throws Exception {
        boolean anyTls = config.clientTls() || config.serverTlsMode() != SecurityConfig.ServerTlsMode.DISABLE;
        TlsContexts tls = anyTls ? TlsContexts.load(config) : null;
        GssAcceptor gss = config.gss() ? GssAcceptor.login(config) : null;
        return new TransportSecurity(config, tls, gss);
    }

    public SecurityConfig config() {
        return config;
    }

    /** Null when neither client nor server TLS is configured. */
    public TlsContexts tls() {
        return tls;
    }

    /** Null when gss_keytab / gss_principal are not configured. */
    public GssAcceptor gss() {
        return gss;
    }

    /** Re-reads certificates and keys (RELOAD): new handshakes use them, established connections keep theirs. */
    public void reloadTls() throws Exception {
        if (tls != null) {
            tls.reload();
        }
    }

    public void attach(Channel ch) {
        ch.attr(KEY).set(this);
    }

    public static TransportSecurity of(Channel ch) {
        TransportSecurity s = ch.attr(KEY).get();
        return s == null ? NONE : s;
    }

    public void countTlsSession() {
        tlsSessions.incrementAndGet();
    }

    public void countGssSession() {
        gssEncryptedSessions.incrementAndGet();
    }

    /** Client connections that completed a TLS handshake since start. */
    public long tlsSessions() {
        return tlsSessions.get();
    }

    /** Client connections encrypted with GSSAPI since start. */
    public long gssEncryptedSessions() {
        return gssEncryptedSessions.get();
    }

    // ---- per channel -----------------------------------------------------------------------------------------

    /** The TLS session of a client channel once its handshake is done; null on a plaintext or GSS channel. */
    public static SSLSession tlsSession(Channel ch) {
        SslHandler ssl = ch.pipeline().get(SslHandler.class);
        if (ssl == null || !ssl.handshakeFuture().isSuccess()) {
            return null;
        }
        return ssl.engine().getSession();
    }

    /** SCRAM tls-server-end-point data for pgrelay's own certificate on this channel; null without TLS. */
    public static byte[] channelBinding(Channel ch) {
        SSLSession s = tlsSession(ch);
        if (s == null) {
            return null;
        }
        Certificate[] local = s.getLocalCertificates();
        if (local == null || local.length == 0 || !(local[0] instanceof X509Certificate cert)) {
            return null;
        }
        try {
            return io.pgrelay.protocol.auth.ChannelBinding.tlsServerEndPoint(cert.getEncoded(), cert.getSigAlgName());
        } catch (java.security.cert.CertificateEncodingException e) {
            return null;
        }
    }

    /** The verified client certificate of this channel; null when the client sent none (or no TLS). */
    public static X509Certificate clientCertificate(Channel ch) {
        SSLSession s = tlsSession(ch);
        if (s == null) {
            return null;
        }
        try {
            Certificate[] peer = s.getPeerCertificates();
            return peer.length > 0 && peer[0] instanceof X509Certificate c ? c : null;
        } catch (SSLPeerUnverifiedException e) {
            return null;
        }
    }

    /** The CN of a certificate's subject, or null. */
    public static String commonName(X509Certificate cert) {
        try {
            javax.naming.ldap.LdapName dn = new javax.naming.ldap.LdapName(
                    cert.getSubjectX500Principal().getName(javax.security.auth.x500.X500Principal.RFC2253));
            String cn = null;
            for (javax.naming.ldap.Rdn rdn : dn.getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    cn = rdn.getValue().toString(); // the most specific CN (RDNs come least specific first)
                }
            }
            return cn;
        } catch (javax.naming.InvalidNameException e) {
            return null;
        }
    }

    /** The client principal of a GSS-encrypted channel; null when the channel is not GSS-encrypted. */
    public static String gssPrincipal(Channel ch) {
        GssEncryptionHandler h = ch.pipeline().get(GssEncryptionHandler.class);
        return h == null ? null : h.clientPrincipal();
    }

    /** Whether the channel is encrypted (TLS or GSS) as far as tls_mode=require is concerned. */
    public static boolean encrypted(Channel ch) {
        return tlsSession(ch) != null || gssPrincipal(ch) != null;
    }
}
