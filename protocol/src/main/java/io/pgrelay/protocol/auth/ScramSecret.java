package io.pgrelay.protocol.auth;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * SCRAM-SHA-256 verifier as PostgreSQL stores it in pg_authid.rolpassword:
 * {@code SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>}. Immutable.
 *
 * <p>It is enough to authenticate clients but not to log in to a server (that needs the password or the ClientKey),
 * and it is still sensitive: {@link #toString()} is the verifier itself, so keep it out of logs.
 */
public final class ScramSecret {
    private static final String PREFIX = "SCRAM-SHA-256$";
    /** PostgreSQL's defaults (scram_iterations, SCRAM_DEFAULT_SALT_LEN). */
    private static final int DEFAULT_SALT_LENGTH = 16;
    private static final int DEFAULT_ITERATIONS = 4096;

    private final int iterations;
    private final byte[] salt;
    private final byte[] storedKey;
    private final byte[] serverKey;

    private ScramSecret(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {
        this.iterations = iterations;
        this.salt = salt;
        this.storedKey = storedKey;
        this.serverKey = serverKey;
    }

    public static ScramSecret fromPassword(String password, byte[] salt, int iterations) {
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(salt, "salt");
        if (salt.length == 0) {
            throw new IllegalArgumentException("salt must not be empty");
        }
        if (iterations < 1) {
            throw new IllegalArgumentException("iterations must be >= 1, got " + iterations);
        }
        byte[] salted = ScramCrypto.hi(SaslPrep.prepare(password), salt, iterations);
        byte[] storedKey = ScramCrypto.sha256(ScramCrypto.clientKey(salted));
        return new ScramSecret(iterations, salt.clone(), storedKey, ScramCrypto.serverKey(salted));
    }

    /** A new verifier with a random 16-byte salt and 4096 iterations, as PostgreSQL makes one by default. */
    public static ScramSecret fromPassword(String password, SecureRandom random) {
        byte[] salt = new byte[DEFAULT_SALT_LENGTH];
        random.nextBytes(salt);
        return fromPassword(password, salt, DEFAULT_ITERATIONS);
    }

    /** Parses the stored form. Error messages say what is wrong, never echo the verifier. */
    public static ScramSecret parse(String verifier) throws AuthException {
        Objects.requireNonNull(verifier, "verifier");
        if (!looksLikeVerifier(verifier)) {
            throw new AuthException("invalid SCRAM verifier: does not start with " + PREFIX);
        }
        String[] sections = verifier.substring(PREFIX.length()).split("\\$", -1);
        if (sections.length != 2) {
            throw new AuthException("invalid SCRAM verifier: expected <iterations>:<salt>$<StoredKey>:<ServerKey>");
        }
        String[] params = sections[0].split(":", -1);
        String[] keys = sections[1].split(":", -1);
        if (params.length != 2 || keys.length != 2) {
            throw new AuthException("invalid SCRAM verifier: expected <iterations>:<salt>$<StoredKey>:<ServerKey>");
        }
        int iterations = parseIterations(params[0]);
        if (iterations < 1) {
            throw new AuthException("invalid SCRAM verifier: iteration count must be a positive integer");
        }
        byte[] salt = decode(params[1], "salt");
        if (salt.length == 0) {
            throw new AuthException("invalid SCRAM verifier: empty salt");
        }
        byte[] storedKey = decode(keys[0], "StoredKey");
        byte[] serverKey = decode(keys[1], "ServerKey");
        if (storedKey.length != ScramCrypto.KEY_LENGTH || serverKey.length != ScramCrypto.KEY_LENGTH) {
            throw new AuthException("invalid SCRAM verifier: keys must be " + ScramCrypto.KEY_LENGTH + " bytes");
        }
        return new ScramSecret(iterations, salt, storedKey, serverKey);
    }

    public static boolean looksLikeVerifier(String s) {
        return s != null && s.startsWith(PREFIX);
    }

    /**
     * Strict decimal (Integer.parseInt would also take "+7" and non-ASCII digits); -1 when not a positive int.
     * Shared with {@link ScramClient} for the server's i= attribute.
     */
    static int parseIterations(String s) {
        if (s.isEmpty() || s.length() > 10) {
            return -1;
        }
        long value = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value >= 1 && value <= Integer.MAX_VALUE ? (int) value : -1;
    }

    private static byte[] decode(String value, String what) throws AuthException {
        try {
            return Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new AuthException("invalid SCRAM verifier: " + what + " is not valid base64");
        }
    }

    public byte[] salt() {
        return salt.clone();
    }

    public int iterations() {
        return iterations;
    }

    public byte[] storedKey() {
        return storedKey.clone();
    }

    public byte[] serverKey() {
        return serverKey.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ScramSecret
                && iterations == ((ScramSecret) o).iterations
                && Arrays.equals(salt, ((ScramSecret) o).salt)
                && Arrays.equals(storedKey, ((ScramSecret) o).storedKey)
                && Arrays.equals(serverKey, ((ScramSecret) o).serverKey);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(storedKey);
    }

    /** The verifier string, exactly as PostgreSQL formats it. */
    @Override
    public String toString() {
        return PREFIX + iterations + ':' + ScramCrypto.base64(salt) + '$' + ScramCrypto.base64(storedKey) + ':'
                + ScramCrypto.base64(serverKey);
    }
}
