package io.pgrelay.proxy.client;

import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.config.PoolConfig;
import io.pgrelay.config.UserConfig;
import io.pgrelay.protocol.auth.AuthException;
import io.pgrelay.protocol.auth.Md5Password;
import io.pgrelay.protocol.auth.ScramSecret;

import java.security.SecureRandom;
import java.util.HashMap;
import java.util.Map;

/**
 * What client authentication checks against, derived once at start from the configured passwords: a SCRAM verifier
 * (4096 PBKDF2 rounds are too slow to repeat per login on an event loop) and the MD5 hash.
 */
public final class UserSecrets {
    public record Secrets(ScramSecret scram, String md5) {
    }

    private final Map<String, Secrets> byPoolAndUser;

    private UserSecrets(Map<String, Secrets> map) {
        this.byPoolAndUser = map;
    }

    public static UserSecrets derive(PgRelayConfig config) throws AuthException {
        SecureRandom random = new SecureRandom();
        Map<String, Secrets> map = new HashMap<>();
        for (PoolConfig pool : config.pools().values()) {
            for (UserConfig user : pool.users().values()) {
                map.put(key(pool.name(), user.username()), derive(user, random));
            }
        }
        return new UserSecrets(map);
    }

    static Secrets derive(UserConfig user, SecureRandom random) throws AuthException {
        String pw = user.password();
        if (pw == null) {
            return new Secrets(null, null);
        }
        if (ScramSecret.looksLikeVerifier(pw)) {
            return new Secrets(ScramSecret.parse(pw), null);
        }
        if (Md5Password.looksLikeHash(pw)) {
            return new Secrets(null, pw);
        }
        return new Secrets(ScramSecret.fromPassword(pw, random), Md5Password.hash(user.username(), pw));
    }

    public Secrets get(String pool, String user) {
        return byPoolAndUser.get(key(pool, user));
    }

    private static String key(String pool, String user) {
        return pool + '\0' + user;
    }
}
