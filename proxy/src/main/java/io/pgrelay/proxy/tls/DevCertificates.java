package io.pgrelay.proxy.tls;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.io.pem.PemObject;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A development certificate authority and the certificates pgrelay, PostgreSQL and libpq need, made with
 * BouncyCastle: ECDSA P-256 keys, SHA-256 signatures, PEM files. Keys are written PKCS#8 with mode 0600 (what
 * PostgreSQL and libpq accept for a key owned by their user); certificates with 0644.
 *
 * <p>Files: {@code ca.crt ca.key server.crt server.key client.crt client.key}.
 */
public final class DevCertificates {
    public static final String CA_CERT = "ca.crt";
    public static final String CA_KEY = "ca.key";
    public static final String SERVER_CERT = "server.crt";
    public static final String SERVER_KEY = "server.key";
    public static final String CLIENT_CERT = "client.crt";
    public static final String CLIENT_KEY = "client.key";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String SIGNATURE = "SHA256withECDSA";

    private DevCertificates() {
    }

    /**
     * Writes a new CA, a server certificate for localhost, 127.0.0.1, ::1 and {@code extraHosts} (names or IP
     * addresses), and a client certificate with CN {@code clientUser}, each valid for {@code validity}.
     */
    public static void generate(Path dir, List<String> extraHosts, String clientUser, Duration validity)
            throws IOException, GeneralSecurityException {
        Files.createDirectories(dir);
        Instant from = Instant.now().minus(Duration.ofHours(1));
        Instant to = Instant.now().plus(validity);
        KeyPair caKey = newKey();
        X509Certificate ca = caCertificate(caKey, "pgrelay development CA", from, to);
        write(dir.resolve(CA_CERT), pem(ca), false);
        write(dir.resolve(CA_KEY), pem(caKey.getPrivate()), true);

        Set<String> hosts = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "::1"));
        hosts.addAll(extraHosts);
        issue(dir, SERVER_CERT, SERVER_KEY, ca, caKey.getPrivate(), "localhost", new ArrayList<>(hosts), true,
                from, to);
        issue(dir, CLIENT_CERT, CLIENT_KEY, ca, caKey.getPrivate(), clientUser, List.of(), false, from, to);
    }

    /** Issues another certificate from the CA in {@code caDir} (tests: expired certificates, other CNs). */
    public static void issueFromCa(Path caDir, Path dir, String certFile, String keyFile, String commonName,
                                   List<String> hosts, boolean server, Instant notBefore, Instant notAfter)
            throws IOException, GeneralSecurityException {
        X509Certificate ca = readCertificate(caDir.resolve(CA_CERT));
        PrivateKey caKey = readKey(caDir.resolve(CA_KEY));
        issue(dir, certFile, keyFile, ca, caKey, commonName, hosts, server, notBefore, notAfter);
    }

    /** A self-signed CA of its own, unrelated to any other (tests: untrusted certificates). */
    public static void generateCa(Path dir, String name, Duration validity)
            throws IOException, GeneralSecurityException {
        Files.createDirectories(dir);
        KeyPair caKey = newKey();
        X509Certificate ca = caCertificate(caKey, name, Instant.now().minus(Duration.ofHours(1)),
                Instant.now().plus(validity));
        write(dir.resolve(CA_CERT), pem(ca), false);
        write(dir.resolve(CA_KEY), pem(caKey.getPrivate()), true);
    }

    private static X509Certificate caCertificate(KeyPair key, String name, Instant from, Instant to)
            throws GeneralSecurityException, IOException {
        X500Name subject = name(name);
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(), Date.from(from), Date.from(to),
                subject, key.getPublic());
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key.getPublic()));
        return sign(b, key.getPrivate());
    }

    private static void issue(Path dir, String certFile, String keyFile, X509Certificate ca, PrivateKey caKey,
                              String commonName, List<String> hosts, boolean server, Instant from, Instant to)
            throws IOException, GeneralSecurityException {
        KeyPair key = newKey();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, serial(), Date.from(from), Date.from(to),
                name(commonName), key.getPublic());
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
        b.addExtension(Extension.extendedKeyUsage, false,
                new ExtendedKeyUsage(server ? KeyPurposeId.id_kp_serverAuth : KeyPurposeId.id_kp_clientAuth));
        b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key.getPublic()));
        b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
        if (!hosts.isEmpty()) {
            List<GeneralName> names = new ArrayList<>();
            for (String h : hosts) {
                names.add(isIpAddress(h) ? new GeneralName(GeneralName.iPAddress, h)
                        : new GeneralName(GeneralName.dNSName, h));
            }
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(names.toArray(new GeneralName[0])));
        }
        X509Certificate cert = sign(b, caKey);
        write(dir.resolve(certFile), pem(cert), false);
        write(dir.resolve(keyFile), pem(key.getPrivate()), true);
    }

    static boolean isIpAddress(String h) {
        return h.matches("[0-9.]+") || h.contains(":");
    }

    private static X500Name name(String cn) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "pgrelay development")
                .addRDN(BCStyle.CN, cn).build();
    }

    private static BigInteger serial() {
        return new BigInteger(64, RANDOM).add(BigInteger.ONE);
    }

    private static KeyPair newKey() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE).build(key);
            X509CertificateHolder holder = b.build(signer);
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (org.bouncycastle.operator.OperatorCreationException e) {
            throw new GeneralSecurityException(e.getMessage(), e);
        }
    }

    private static String pem(X509Certificate cert) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(cert);
        }
        return w.toString();
    }

    /** PKCS#8 ("BEGIN PRIVATE KEY"): read by Netty, OpenSSL, PostgreSQL, libpq and PgBouncer alike. */
    private static String pem(PrivateKey key) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter p = new JcaPEMWriter(w)) {
            p.writeObject(new PemObject("PRIVATE KEY", key.getEncoded()));
        }
        return w.toString();
    }

    private static void write(Path file, String content, boolean secret) throws IOException {
        Files.deleteIfExists(file);
        Files.writeString(file, content, StandardCharsets.US_ASCII);
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--"));
        } catch (UnsupportedOperationException ignored) {
            // not a POSIX file system: nothing to set
        }
    }

    public static X509Certificate readCertificate(Path file) throws IOException, GeneralSecurityException {
        try (Reader r = Files.newBufferedReader(file); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            if (!(o instanceof X509CertificateHolder h)) {
                throw new IOException(file + " holds no certificate");
            }
            return new JcaX509CertificateConverter().getCertificate(h);
        }
    }

    static PrivateKey readKey(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            JcaPEMKeyConverter c = new JcaPEMKeyConverter();
            if (o instanceof PrivateKeyInfo info) {
                return c.getPrivateKey(info);
            }
            if (o instanceof PEMKeyPair pair) {
                return c.getKeyPair(pair).getPrivate();
            }
            throw new IOException(file + " holds no private key");
        }
    }

    /** Resolves nothing: a host given as an IP literal is checked for form only. */
    static boolean validHost(String h) {
        if (isIpAddress(h)) {
            try {
                InetAddress.getByName(h);
                return true;
            } catch (IOException e) {
                return false;
            }
        }
        return h.matches("[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?");
    }
}
