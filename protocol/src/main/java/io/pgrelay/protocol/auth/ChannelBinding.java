package io.pgrelay.protocol.auth;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * SCRAM channel binding data. PostgreSQL (and so libpq and pgjdbc) only uses {@code tls-server-end-point}
 * (RFC 5929 section 4.1): the hash of the server's TLS certificate, with the certificate's own signature hash, except
 * that MD5 and SHA-1 are replaced by SHA-256.
 */
public final class ChannelBinding {
    public static final String TLS_SERVER_END_POINT = "tls-server-end-point";

    private ChannelBinding() {
    }

    /**
     * @param certificateDer    the DER encoding of the certificate the server presented
     * @param signatureAlgorithm its signature algorithm name as the JDK spells it ({@code SHA256withRSA},
     *                          {@code SHA384withECDSA}, {@code Ed25519}...)
     */
    public static byte[] tlsServerEndPoint(byte[] certificateDer, String signatureAlgorithm) {
        try {
            return MessageDigest.getInstance(hashFor(signatureAlgorithm)).digest(certificateDer);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // SHA-256/384/512 are in every JDK
        }
    }

    /** The digest RFC 5929 prescribes for a certificate signed with {@code signatureAlgorithm}. */
    static String hashFor(String signatureAlgorithm) {
        String a = signatureAlgorithm == null ? "" : signatureAlgorithm.toUpperCase(Locale.ROOT);
        if (a.startsWith("SHA384") || a.startsWith("SHA3-384")) {
            return "SHA-384";
        }
        if (a.startsWith("SHA512") || a.startsWith("SHA3-512")) {
            return "SHA-512";
        }
        // MD5, SHA-1 (upgraded by the RFC), SHA-224/256, and anything unknown: SHA-256 as PostgreSQL does.
        return "SHA-256";
    }
}
