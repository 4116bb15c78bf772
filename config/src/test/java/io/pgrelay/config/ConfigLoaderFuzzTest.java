package io.pgrelay.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzzes the TOML loader with arbitrary text (the input decoded as UTF-8). An operator's typo must end in a
 * {@link ConfigException} that says where, never in another exception from the TOML parser or the reader.
 *
 * <p>Properties: only ConfigException escapes; it has problems, each naming the source and a line inside the file
 * (0 for none); a config that loads can be summarised.
 */
class ConfigLoaderFuzzTest {
    private static final String SOURCE = "fuzz.toml";

    @FuzzTest
    void parse(byte[] data) {
        String toml = new String(data, StandardCharsets.UTF_8);
        PgRelayConfig config;
        try {
            config = ConfigLoader.parse(toml, SOURCE);
        } catch (ConfigException e) {
            long lines = toml.lines().count();
            assertThat(e.problems()).isNotEmpty().allSatisfy(p -> {
                assertThat(p.source()).isEqualTo(SOURCE);
                assertThat(p.line()).isBetween(0, (int) lines + 1);
                assertThat(p.message()).isNotBlank();
            });
            return;
        }
        assertThat(config.pools()).isNotNull();
        assertThat(ConfigSummary.describe(config)).isNotNull();
    }
}
