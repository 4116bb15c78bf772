package io.pgrelay.config;

import java.util.Base64;

/** Recognises the password forms PostgreSQL stores, so the loader can tell which auth types each one allows. */
final class Passwords {

    enum Form { PLAINTEXT, MD5, SCRAM, MALFORMED_SCRAM }

    static final String SCRAM_PREFIX = "SCRAM-SHA-256$";

    private Passwords() {
    }

    static Form form(String password) {
        if (password.startsWith(SCRAM_PREFIX)) {
            return isScramVerifier(password) ? Form.SCRAM : Form.MALFORMED_SCRAM;
        }
        if (password.length() == 35 && password.startsWith("md5") && isHex(password.substring(3))) {
            return Form.MD5;
        }
        return Form.PLAINTEXT;
    }

    /** {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>}, as in pg_authid.rolpassword. */
    private static boolean isScramVerifier(String v) {
        String[] parts = v.substring(SCRAM_PREFIX.length()).split("\\$", -1);
        if (parts.length != 2) {
            return false;
        }
        String[] iterationsAndSalt = parts[0].split(":", -1);
        String[] keys = parts[1].split(":", -1);
        if (iterationsAndSalt.length != 2 || keys.length != 2) {
            return false;
        }
        try {
            if (Integer.parseInt(iterationsAndSalt[0]) < 1) {
                return false;
            }
            Base64.Decoder b64 = Base64.getDecoder();
            return b64.decode(iterationsAndSalt[1]).length > 0
                    && b64.decode(keys[0]).length == 32 && b64.decode(keys[1]).length == 32;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean isHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
                return false;
            }
        }
        return true;
    }
}
