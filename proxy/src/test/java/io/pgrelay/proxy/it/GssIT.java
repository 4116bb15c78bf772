package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.protocol.message.GssEncRequest;
import io.pgrelay.proxy.LeakTracker;
import io.pgrelay.proxy.gss.MitKdc;
import io.pgrelay.proxy.tls.DevCertificates;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * GSSAPI encryption and Kerberos authentication against a real MIT KDC on loopback, with the real psql (libpq with
 * GSSAPI). Skipped, with a message, only when the KDC packages are not installed (.ci/run installs them).
 */
class GssIT {
    @TempDir
    static Path dir;
    private static MitKdc kdc;
    private static TestProxy proxy;
    private static TestProxy noKeytab;
    private static Map<String, String> krbuserTicket;
    private static Map<String, String> strangerTicket;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(MitKdc.available(),
                "MIT Kerberos KDC not installed (apt-get install krb5-kdc krb5-admin-server krb5-user): GSS tests skipped");
        LocalCluster cluster = SharedCluster.get();
        kdc = MitKdc.start(dir.resolve("kdc"));
        kdc.addUser("krbuser", "krbuser-pw");
        kdc.addUser("stranger", "stranger-pw");
        kdc.addUser("app", "app-krb-pw");
        Path keytab = kdc.addService("postgres/localhost");
        System.setProperty("java.security.krb5.conf", kdc.krb5Conf().toString());
        krbuserTicket = kdc.ticket("krbuser", "krbuser-pw");
        strangerTicket = kdc.ticket("stranger", "stranger-pw");

        Path certs = dir.resolve("certs");
        DevCertificates.generate(certs, List.of(), "app", Duration.ofDays(1));
        String general = "gss_keytab = \"" + keytab + "\"\n"
                + "gss_principal = \"postgres/localhost@" + MitKdc.REALM + "\"\n"
                + "tls_certificate = \"" + certs.resolve("server.crt") + "\"\n"
                + "tls_private_key = \"" + certs.resolve("server.key") + "\"\n";
        String users = "[pools.app.users.1]\nusername = \"krbuser\"\nauth_type = \"gss\"\npool_size = 2\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n";
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 4, general, users));
        noKeytab = TestProxy.start(TestProxy.sessionConfig(cluster, 2, "", ""));
    }

    @AfterAll
    static void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (noKeytab != null) {
            noKeytab.close();
        }
        if (kdc != null) {
            kdc.close();
        }
        LeakTracker.assertNoLeaks();
    }

    /** libpq names the service after the host: postgres/localhost; the address is given apart. */
    private static String url(TestProxy p, String user, String params) {
        return "postgresql://" + user + "@localhost:" + p.port() + "/app?hostaddr=127.0.0.1&" + params;
    }

    /**
     * pgrelay's own parsing of GSS encryption packets (the 4-byte length, the limit, then the token the JDK's
     * GSS-API reads), fed 300 random packets after a GSSENCRequest, each on its own connection: every one ends
     * in a close, never a hang or a leak, and pgrelay serves GSS and plain logins afterwards.
     */
    @Test
    void randomGssPacketsAreRefusedWithAClose() throws Exception {
        java.util.Random random = new java.util.Random(5680);
        for (int i = 0; i < 300; i++) {
            try (RawClient raw = new RawClient(proxy.port())) {
                raw.send(new byte[] {0, 0, 0, 8, 0x04, (byte) 0xd2, 0x16, 0x30}); // GSSENCRequest
                assertThat(raw.readByte()).isEqualTo('G');
                int mode = random.nextInt(4);
                int length = mode == 0 ? 65_537 + random.nextInt(1 << 20) : random.nextInt(mode == 1 ? 64 : 4000);
                byte[] token = new byte[mode == 0 ? 16 : length];
                random.nextBytes(token);
                if (mode == 3 && token.length > 2) {
                    token[0] = 0x60; // an ASN.1 application tag, as a real GSS token starts: deeper into the parser
                }
                java.nio.ByteBuffer packet = java.nio.ByteBuffer.allocate(4 + token.length).putInt(length).put(token);
                raw.send(packet.array());
                while (!raw.closedByServer()) {
                    // an error token may come first; then the close
                }
            }
        }
        Psql.Result r = Psql.run(url(proxy, "krbuser", "gssencmode=require"), krbuserTicket, "select 1");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
    }

    @Test
    void gssEncryptionWithATicket() throws Exception {
        long before = proxy.server().security().gssEncryptedSessions();
        Psql.Result r = Psql.run(url(proxy, "krbuser", "gssencmode=require"), krbuserTicket,
                "select current_user", "select repeat('x', 100000) = repeat('x', 100000)");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("app\nt\n");
        assertThat(proxy.server().security().gssEncryptedSessions()).isGreaterThan(before);
    }

    @Test
    void largeResultsCrossTheGssPacketLimit() throws Exception {
        Psql.Result r = Psql.run(url(proxy, "krbuser", "gssencmode=require"), krbuserTicket,
                "select length(string_agg(md5(i::text), '')) from generate_series(1, 20000) i",
                "select count(*) from (select repeat(md5(i::text), 20) from generate_series(1, 5000) i) s");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("640000\n5000\n");
    }

    @Test
    void gssAuthenticationInPlaintextAndInsideTls() throws Exception {
        Psql.Result plain = Psql.run(url(proxy, "krbuser", "gssencmode=disable&sslmode=disable"), krbuserTicket,
                "select 'plain'");
        assertThat(plain.exitCode()).as(plain.stderr()).isZero();
        assertThat(plain.stdout()).isEqualTo("plain\n");
        Psql.Result tls = Psql.run(url(proxy, "krbuser", "gssencmode=disable&sslmode=require"), krbuserTicket,
                "select 'tls'");
        assertThat(tls.exitCode()).as(tls.stderr()).isZero();
        assertThat(tls.stdout()).isEqualTo("tls\n");
    }

    @Test
    void principalThatDoesNotMatchIsRefusedWith28000() throws Exception {
        for (String params : new String[] {"gssencmode=require", "gssencmode=disable&sslmode=disable"}) {
            Psql.Result r = Psql.run(url(proxy, "krbuser", params + "&options=-c%20application_name%3Dx"),
                    strangerTicket, "select 1");
            assertThat(r.exitCode()).as(params).isNotZero();
            assertThat(r.stderr()).as(params).contains("GSSAPI authentication failed for user \"krbuser\"");
        }
    }

    @Test
    void defaultSettingsWithATicketConnect() throws Exception {
        // Without a keytab GSSENCRequest is answered 'N' and libpq falls back; with one the session is encrypted.
        Psql.Result r = Psql.run("postgresql://app:app@localhost:" + noKeytab.port() + "/app?hostaddr=127.0.0.1",
                krbuserTicket, "select 'fallback'");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(r.stdout()).isEqualTo("fallback\n");
        long before = proxy.server().security().gssEncryptedSessions();
        Psql.Result enc = Psql.run("postgresql://app:app@localhost:" + proxy.port() + "/app?hostaddr=127.0.0.1",
                krbuserTicket, "select 'encrypted'");
        assertThat(enc.exitCode()).as(enc.stderr()).isZero();
        assertThat(enc.stdout()).isEqualTo("encrypted\n");
        assertThat(proxy.server().security().gssEncryptedSessions()).isGreaterThan(before);
    }

    @Test
    void aTokenThatDoesNotVerifyClosesOnlyThatConnection() throws Exception {
        try (RawClient raw = new RawClient(proxy.port())) {
            raw.send(GssEncRequest.INSTANCE);
            assertThat(raw.readByte()).isEqualTo('G');
            byte[] junk = "definitely not a kerberos AP-REQ".getBytes();
            byte[] packet = new byte[4 + junk.length];
            packet[3] = (byte) junk.length;
            System.arraycopy(junk, 0, packet, 4, junk.length);
            raw.send(packet);
            assertThat(raw.closedByServer()).isTrue();
        }
        Psql.Result r = Psql.run(url(proxy, "krbuser", "gssencmode=require"), krbuserTicket, "select 1");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
    }
}
