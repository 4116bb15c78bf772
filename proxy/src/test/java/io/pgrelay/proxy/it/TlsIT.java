package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.protocol.message.SslRequest;
import io.pgrelay.protocol.message.StartupMessage;
import io.pgrelay.proxy.LeakTracker;
import io.pgrelay.proxy.tls.DevCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** TLS between clients and pgrelay: psql, JDBC, client certificates, channel binding, direct TLS, bad input. */
class TlsIT {
    @TempDir
    static Path dir;
    private static Path certs;
    private static LocalCluster cluster;
    private static TestProxy proxy;
    private static TestProxy requireProxy;

    @BeforeAll
    static void start() throws Exception {
        cluster = SharedCluster.get();
        certs = dir.resolve("certs");
        DevCertificates.generate(certs, List.of("pgrelay.test"), "certuser", Duration.ofDays(2));
        // A client certificate from another CA, and an expired one from ours.
        DevCertificates.generateCa(dir.resolve("other"), "some other CA", Duration.ofDays(2));
        DevCertificates.issueFromCa(dir.resolve("other"), dir, "stranger.crt", "stranger.key", "certuser", List.of(),
                false, Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(1)));
        DevCertificates.issueFromCa(certs, dir, "expired.crt", "expired.key", "certuser", List.of(), false,
                Instant.now().minus(Duration.ofDays(3)), Instant.now().minus(Duration.ofDays(1)));
        DevCertificates.issueFromCa(certs, dir, "other-cn.crt", "other-cn.key", "somebody", List.of(), false,
                Instant.now().minus(Duration.ofHours(1)), Instant.now().plus(Duration.ofDays(1)));
        String users = "[pools.app.users.1]\nusername = \"certuser\"\nauth_type = \"cert\"\npool_size = 2\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n";
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 4, tlsGeneral("prefer"), users));
        requireProxy = TestProxy.start(TestProxy.sessionConfig(cluster, 2, tlsGeneral("require"), ""));
    }

    private static String tlsGeneral(String mode) {
        return "tls_mode = \"" + mode + "\"\n"
                + "tls_certificate = \"" + certs.resolve("server.crt") + "\"\n"
                + "tls_private_key = \"" + certs.resolve("server.key") + "\"\n"
                + "tls_ca_file = \"" + certs.resolve("ca.crt") + "\"\n";
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (requireProxy != null) {
            requireProxy.close();
        }
        LeakTracker.assertNoLeaks();
    }

    private static String url(TestProxy p, String user, String params) {
        return "postgresql://" + user + ":app@localhost:" + p.port() + "/app?" + params;
    }

    @Test
    void psqlWithSslmodeRequire() throws Exception {
        long before = proxy.server().security().tlsSessions();
        Psql.Result r = Psql.run(url(proxy, "app", "sslmode=require"), Map.of(), "select 1", "\\conninfo");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).startsWith("1\n").contains("SSL connection (protocol: TLSv1.3");
        assertThat(proxy.server().security().tlsSessions()).isGreaterThan(before);
    }

    @Test
    void psqlWithVerifyFullAgainstTheGeneratedCa() throws Exception {
        Psql.Result r = Psql.run(url(proxy, "app", "sslmode=verify-full&sslrootcert=" + certs.resolve("ca.crt")),
                Map.of(), "select 'verified'");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("verified\n");
        // A name the certificate does not carry fails verify-full on the client side.
        Psql.Result wrongName = Psql.run("postgresql://app:app@not-in-the-cert.example:" + proxy.port()
                + "/app?hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert=" + certs.resolve("ca.crt"),
                Map.of(), "select 1");
        assertThat(wrongName.exitCode()).isNotZero();
        assertThat(wrongName.stderr()).contains("does not match host name \"not-in-the-cert.example\"");
    }

    @Test
    void channelBindingRequireWithPsql() throws Exception {
        Psql.Result r = Psql.run(url(proxy, "app", "sslmode=require&channel_binding=require"), Map.of(),
                "select 'bound'");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("bound\n");
        Psql.Result wrong = Psql.run("postgresql://app:wrong@localhost:" + proxy.port()
                + "/app?sslmode=require&channel_binding=require", Map.of(), "select 1");
        assertThat(wrong.stderr()).contains("password authentication failed for user \"app\"");
    }

    @Test
    void jdbcWithSslAndChannelBinding() throws SQLException {
        Properties p = new Properties();
        p.setProperty("ssl", "true");
        p.setProperty("sslmode", "verify-full");
        p.setProperty("sslrootcert", certs.resolve("ca.crt").toString());
        p.setProperty("channelBinding", "require");
        try (Connection c = proxy.connect("app", "app", "app", p); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT 42")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(42);
        }
    }

    @Test
    void requireModeRefusesPlaintextWithAMessage() throws Exception {
        Psql.Result r = Psql.run(url(requireProxy, "app", "sslmode=disable"), Map.of(), "select 1");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.stderr()).contains("TLS is required");
        Psql.Result ok = Psql.run(url(requireProxy, "app", "sslmode=require"), Map.of(), "select 'tls'");
        assertThat(ok.exitCode()).as(ok.stderr()).isZero();
        assertThat(ok.stdout()).isEqualTo("tls\n");
        // psql's default sslmode (prefer) simply works.
        Psql.Result dflt = Psql.run(url(requireProxy, "app", "connect_timeout=5"), Map.of(), "select 'default'");
        assertThat(dflt.exitCode()).as(dflt.stderr()).isZero();
    }

    @Test
    void certAuthenticationMapsTheCnToTheUser() throws Exception {
        Psql.Result r = Psql.run(url(proxy, "certuser", "sslmode=verify-full&sslrootcert=" + certs.resolve("ca.crt")
                + "&sslcert=" + certs.resolve("client.crt") + "&sslkey=" + certs.resolve("client.key")), Map.of(),
                "select current_user");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("app\n");
        // No certificate: refused with 28000.
        Psql.Result none = Psql.run(url(proxy, "certuser", "sslmode=require"), Map.of(), "select 1");
        assertThat(none.exitCode()).isNotZero();
        assertThat(none.stderr()).contains("connection requires a valid client certificate");
        // A valid certificate for another CN.
        Psql.Result other = Psql.run(url(proxy, "certuser", "sslmode=require&sslcert=" + dir.resolve("other-cn.crt")
                + "&sslkey=" + dir.resolve("other-cn.key")), Map.of(), "select 1");
        assertThat(other.exitCode()).isNotZero();
        assertThat(other.stderr()).contains("certificate authentication failed for user \"certuser\"");
    }

    @Test
    void untrustedAndExpiredClientCertificatesFailTheHandshake() throws Exception {
        for (String name : new String[] {"stranger", "expired"}) {
            Psql.Result r = Psql.run(url(proxy, "certuser", "sslmode=require&sslcert=" + dir.resolve(name + ".crt")
                    + "&sslkey=" + dir.resolve(name + ".key")), Map.of(), "select 1");
            assertThat(r.exitCode()).as(name).isNotZero();
            assertThat(r.stderr()).as(name).containsIgnoringCase("ssl");
        }
        assertThat(Psql.run(url(proxy, "app", "sslmode=require"), Map.of(), "select 1").exitCode()).isZero();
    }

    @Test
    void bytesAfterSslRequestCloseTheConnection() throws Exception {
        try (RawClient raw = new RawClient(proxy.port())) {
            byte[] request = bytes(SslRequest.INSTANCE);
            byte[] startup = bytes(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "app")));
            byte[] both = new byte[request.length + startup.length];
            System.arraycopy(request, 0, both, 0, request.length);
            System.arraycopy(startup, 0, both, request.length, startup.length);
            raw.send(both);
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(Psql.run(url(proxy, "app", "sslmode=require"), Map.of(), "select 1").exitCode()).isZero();
    }

    @Test
    void garbageInsteadOfAHandshakeClosesOnlyThatConnection() throws Exception {
        try (RawClient raw = new RawClient(proxy.port())) {
            raw.send(SslRequest.INSTANCE);
            assertThat(raw.readByte()).isEqualTo('S');
            raw.send("this is not a TLS ClientHello, not at all".getBytes());
            assertThat(raw.closedByServer()).isTrue();
        }
        assertThat(Psql.run(url(proxy, "app", "sslmode=require"), Map.of(), "select 1").exitCode()).isZero();
    }

    @Test
    void directTlsWithAlpnPostgresql() throws Exception {
        try (SSLSocket s = directTls(proxy.port(), new String[] {"postgresql"})) {
            OutputStream out = s.getOutputStream();
            out.write(bytes(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "app", "database",
                    "app"))));
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            assertThat((char) in.readByte()).isEqualTo('R');
            byte[] body = new byte[in.readInt() - 4];
            in.readFully(body);
            assertThat(body[3]).isEqualTo((byte) 10); // AuthenticationSASL
            assertThat(new String(body, 4, body.length - 4)).contains("SCRAM-SHA-256-PLUS");
            assertThat(s.getApplicationProtocol()).isEqualTo("postgresql");
        }
        // Without ALPN, PostgreSQL 17 refuses direct TLS, and so does pgrelay.
        try (SSLSocket s = directTls(proxy.port(), new String[0])) {
            s.getOutputStream().write(bytes(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "app"))));
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        } catch (IOException expected) {
            // closed during or right after the handshake
        }
    }

    @Test
    void reloadSwapsTheCertificateWithoutDroppingConnections() throws Exception {
        Path moving = dir.resolve("reload");
        DevCertificates.generate(moving, List.of(), "app", Duration.ofDays(1));
        Path firstCa = dir.resolve("reload-first-ca.crt");
        Files.copy(moving.resolve("ca.crt"), firstCa);
        String general = "tls_certificate = \"" + moving.resolve("server.crt") + "\"\n"
                + "tls_private_key = \"" + moving.resolve("server.key") + "\"\n";
        try (TestProxy p = TestProxy.start(TestProxy.sessionConfig(cluster, 2, general, ""))) {
            Properties props = new Properties();
            props.setProperty("sslmode", "verify-full");
            props.setProperty("sslrootcert", firstCa.toString());
            try (Connection held = p.connect("app", "app", "app", props)) {
                DevCertificates.generate(moving, List.of(), "app", Duration.ofDays(1)); // a new CA and server cert
                p.server().reloadTls();
                try (Statement st = held.createStatement(); ResultSet rs = st.executeQuery("SELECT 7")) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(7); // the established session is untouched
                }
                assertThatThrownBy(() -> p.connect("app", "app", "app", props).close())
                        .isInstanceOf(SQLException.class); // the old CA no longer verifies the new certificate
                props.setProperty("sslrootcert", moving.resolve("ca.crt").toString());
                try (Connection fresh = p.connect("app", "app", "app", props)) {
                    assertThat(fresh.isValid(5)).isTrue();
                }
            }
        }
    }

    private static SSLSocket directTls(int port, String[] alpn) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("ca", DevCertificates.readCertificate(certs.resolve("ca.crt")));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(new Socket("127.0.0.1", port), "localhost",
                port, true);
        s.setSoTimeout(10_000);
        SSLParameters params = s.getSSLParameters();
        params.setApplicationProtocols(alpn);
        s.setSSLParameters(params);
        s.startHandshake();
        return s;
    }

    private static byte[] bytes(io.pgrelay.protocol.message.Message m) {
        io.netty.buffer.ByteBuf b = m.encode(io.netty.buffer.Unpooled.buffer().alloc());
        try {
            return io.netty.buffer.ByteBufUtil.getBytes(b);
        } finally {
            b.release();
        }
    }
}
