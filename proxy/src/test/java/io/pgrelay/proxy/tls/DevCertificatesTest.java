package io.pgrelay.proxy.tls;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DevCertificatesTest {
    @TempDir
    Path dir;

    @Test
    void writesACaAndCertificatesWithTheRightNamesAndModes() throws Exception {
        DevCertificates.generate(dir, List.of("pgrelay", "10.9.8.7"), "alice", Duration.ofDays(3));
        X509Certificate ca = DevCertificates.readCertificate(dir.resolve("ca.crt"));
        X509Certificate server = DevCertificates.readCertificate(dir.resolve("server.crt"));
        X509Certificate client = DevCertificates.readCertificate(dir.resolve("client.crt"));
        assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        server.verify(ca.getPublicKey());
        client.verify(ca.getPublicKey());
        assertThat(server.getSubjectAlternativeNames()).extracting(l -> l.get(1).toString())
                .contains("localhost", "127.0.0.1", "pgrelay", "10.9.8.7")
                .anyMatch(s -> s.startsWith("0:0:0:0:0:0:0:1") || s.equals("::1"));
        assertThat(TransportSecurity.commonName(client)).isEqualTo("alice");
        assertThat(server.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1");
        assertThat(client.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.2");
        for (String key : new String[] {"ca.key", "server.key", "client.key"}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(key))))
                    .isEqualTo("rw-------");
            assertThat(Files.readString(dir.resolve(key))).startsWith("-----BEGIN PRIVATE KEY-----");
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("server.crt"))))
                .isEqualTo("rw-r--r--");
    }

    @Test
    void generatedFilesMakeAWorkingTlsContext() throws Exception {
        DevCertificates.generate(dir, List.of(), "app", Duration.ofDays(1));
        io.pgrelay.config.SecurityConfig config = new io.pgrelay.config.SecurityConfig(
                io.pgrelay.config.SecurityConfig.TlsMode.REQUIRE, dir.resolve("server.crt").toString(),
                dir.resolve("server.key").toString(), dir.resolve("ca.crt").toString(),
                io.pgrelay.config.SecurityConfig.ServerTlsMode.VERIFY_FULL, dir.resolve("ca.crt").toString(),
                null, null, false);
        TlsContexts tls = TlsContexts.load(config);
        assertThat(tls.forClients()).isNotNull();
        assertThat(tls.forServers()).isNotNull();
        tls.reload();
        assertThat(tls.forClients().isServer()).isTrue();
    }
}
