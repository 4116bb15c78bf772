package io.pgrelay.config;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import java.util.List;

/** Small helpers shared by the loader tests. */
final class TomlFixtures {

    static final String SOURCE = "pgrelay.toml";

    /** A valid MD5 hash form: "md5" + 32 hex digits. */
    static final String MD5_HASH = "md5a3556571e93b0d20722ba62be61e8c2d";

    /** A well-formed verifier (random bytes: only the form matters to the loader). */
    static final String SCRAM_VERIFIER = "SCRAM-SHA-256$4096:" + b64(16, 1) + "$" + b64(32, 2) + ":" + b64(32, 3);

    /** The smallest valid file; tests append or replace lines in it. */
    static final String MINIMAL = """
            [pools.app]

            [pools.app.users.0]
            username = "app"
            password = "secret"

            [pools.app.shards.0]
            database = "appdb"
            servers = [["127.0.0.1", 5432, "primary"]]
            """;

    private TomlFixtures() {
    }

    static PgRelayConfig parse(String toml) throws ConfigException {
        return ConfigLoader.parse(toml, SOURCE);
    }

    /** The problems of an invalid file, as their {@code file:line: key: message} strings. */
    static List<String> problems(String toml) {
        try {
            ConfigLoader.parse(toml, SOURCE);
        } catch (ConfigException e) {
            return e.problems().stream().map(ConfigProblem::toString).toList();
        }
        throw new AssertionError("expected a ConfigException");
    }

    static void assertOneProblem(String toml, String expected) {
        assertThatThrownBy(() -> ConfigLoader.parse(toml, SOURCE))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> org.assertj.core.api.Assertions
                        .assertThat(((ConfigException) e).problems()).map(ConfigProblem::toString)
                        .containsExactly(expected));
    }

    private static String b64(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return Base64.getEncoder().encodeToString(b);
    }
}
