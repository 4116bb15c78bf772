package io.pgrelay.proxy.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.pgrelay.config.SecurityConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.io.File;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The TLS contexts pgrelay uses: one towards clients (its certificate and key, optionally client certificates
 * checked against tls_ca_file) and one towards servers (server_tls_mode). OpenSSL (BoringSSL through
 * netty-tcnative) when it loads, the JDK's TLS otherwise; TLS 1.2 and 1.3 only.
 *
 * <p>{@link #reload} re-reads the files and swaps the contexts: handshakes that start afterwards use the new ones,
 * connections already established keep theirs.
 */
public final class TlsContexts {
    private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);
    /** PostgreSQL 17's ALPN protocol name; direct TLS connections must negotiate it. */
    public static final String ALPN_POSTGRESQL = "postgresql";
    private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private final SecurityConfig config;
    private final SslProvider provider;
    private final AtomicReference<SslContext> forClients = new AtomicReference<>();
    private final AtomicReference<SslContext> forServers = new AtomicReference<>();

    private TlsContexts(SecurityConfig config, SslProvider provider) {
        this.config = config;
        this.provider = provider;
    }

    /** Builds both contexts from the config's files; fails with a message naming the file at fault. */
    public static TlsContexts load(SecurityConfig config) throws SSLException {
        SslProvider provider = !Boolean.getBoolean("pgrelay.tls.jdk") && OpenSsl.isAvailable()
                ? SslProvider.OPENSSL : SslProvider.JDK;
        TlsContexts t = new TlsContexts(config, provider);
        t.reload();
        return t;
    }

    /** Re-reads certificates, keys and CA files. On failure the current contexts stay in use. */
    public void reload() throws SSLException {
        SslContext clients = config.clientTls() ? buildForClients() : null;
        SslContext servers = config.serverTlsMode() != SecurityConfig.ServerTlsMode.DISABLE ? buildForServers() : null;
        forClients.set(clients);
        forServers.set(servers);
        if (clients != null) {
            log.info("TLS for clients: {} ({} provider{}), tls_mode {}", config.tlsCertificate(), provider,
                    config.tlsCaFile() == null ? "" : ", client certificates from " + config.tlsCaFile(),
                    config.tlsMode().configName());
        }
        if (servers != null) {
            log.info("TLS to servers: server_tls_mode {}{}", config.serverTlsMode().configName(),
                    config.serverTlsCaFile() == null ? "" : ", CA " + config.serverTlsCaFile());
        }
    }

    private SslContext buildForClients() throws SSLException {
        SslContextBuilder b;
        try {
            b = SslContextBuilder.forServer(new File(config.tlsCertificate()), new File(config.tlsPrivateKey()));
        } catch (IllegalArgumentException e) {
            throw new SSLException("could not read tls_certificate " + config.tlsCertificate() + " / tls_private_key "
                    + config.tlsPrivateKey() + ": " + e.getMessage(), e);
        }
        b.sslProvider(provider).protocols(PROTOCOLS)
                // Offered to clients that ask (libpq 17 always does); direct TLS additionally requires it.
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ALPN_POSTGRESQL));
        if (config.tlsCaFile() != null) {
            b.trustManager(new File(config.tlsCaFile())).clientAuth(ClientAuth.OPTIONAL);
        }
        try {
            return b.build();
        } catch (SSLException | RuntimeException e) {
            throw new SSLException("could not set up TLS for clients from " + config.tlsCertificate() + ", "
                    + config.tlsPrivateKey() + (config.tlsCaFile() == null ? "" : ", " + config.tlsCaFile()) + ": "
                    + e.getMessage(), e);
        }
    }

    private SslContext buildForServers() throws SSLException {
        SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider).protocols(PROTOCOLS);
        SecurityConfig.ServerTlsMode mode = config.serverTlsMode();
        if (mode.verifies()) {
            if (config.serverTlsCaFile() != null) {
                b.trustManager(new File(config.serverTlsCaFile()));
            }
            // verify-full also checks the name the server was reached by against the certificate's SANs.
            b.endpointIdentificationAlgorithm(mode == SecurityConfig.ServerTlsMode.VERIFY_FULL ? "HTTPS" : null);
        } else {
            // prefer / require: encryption without authentication of the server, as libpq does.
            b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
        }
        try {
            return b.build();
        } catch (SSLException | RuntimeException e) {
            throw new SSLException("could not set up TLS to servers"
                    + (config.serverTlsCaFile() == null ? "" : " with " + config.serverTlsCaFile()) + ": "
                    + e.getMessage(), e);
        }
    }

    /** The context for client connections; null when tls_mode is disable. */
    public SslContext forClients() {
        return forClients.get();
    }

    /** The context for server connections; null when server_tls_mode is disable. */
    public SslContext forServers() {
        return forServers.get();
    }

    public SslProvider provider() {
        return provider;
    }
}
