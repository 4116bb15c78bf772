package io.pgrelay.proxy.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class MainTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void noArgumentsIsAUsageError() {
        assertThat(run()).isEqualTo(2);
        assertThat(err()).startsWith("usage: pgrelay <command>");
    }

    @Test
    void unknownCommandIsAUsageError() {
        assertThat(run("serve")).isEqualTo(2);
        assertThat(err()).contains("pgrelay: unknown command \"serve\"").contains("usage: pgrelay <command>");
    }

    @Test
    void helpOnEachCommand() {
        assertThat(run("--help")).isZero();
        assertThat(out()).contains("run   [--config FILE]").contains("demo  [--port PORT]");
        for (String cmd : new String[] {"run", "check", "demo"}) {
            out.reset();
            assertThat(run(cmd, "--help")).isZero();
            assertThat(out()).startsWith("usage: pgrelay " + cmd);
        }
    }

    @Test
    void unknownOptionIsNamed() {
        assertThat(run("run", "--conf", "x.toml")).isEqualTo(2);
        assertThat(err()).startsWith("pgrelay run: unknown option \"--conf\"").contains("usage: pgrelay run");
    }

    @Test
    void optionWithoutValue() {
        assertThat(run("check", "--config")).isEqualTo(2);
        assertThat(err()).startsWith("pgrelay check: option --config needs a value");
    }

    @Test
    void badDemoPort() {
        assertThat(run("demo", "--port", "99999")).isEqualTo(2);
        assertThat(err()).startsWith("pgrelay demo: --port must be a port number from 1 to 65535, not \"99999\"");
    }

    @Test
    void checkReportsEveryProblemWithFileAndLine(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("bad.toml");
        Files.writeString(f, "[general]\nprot = 6432\n\n[pools.app]\npool_mode = \"session\"\n");
        assertThat(run("check", "--config", f.toString())).isEqualTo(1);
        assertThat(err()).contains(f + ":2: general.prot: unknown key (did you mean \"port\"?)")
                .contains("pgrelay: invalid configuration, not starting");
    }

    @Test
    void checkOfAMissingFile(@TempDir Path dir) {
        assertThat(run("check", "--config", dir.resolve("none.toml").toString())).isEqualTo(1);
        assertThat(err()).contains("none.toml");
    }

    @Test
    void checkPrintsWhatAValidConfigServes(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("pgcat.toml");
        Files.writeString(f, String.join("\n",
                "[general]",
                "host = \"127.0.0.1\"",
                "port = 6432",
                "healthcheck_delay = 30000",
                "[pools.app]",
                "pool_mode = \"session\"",
                "[pools.app.users.0]",
                "username = \"app\"",
                "password = \"secret-pw\"",
                "pool_size = 7",
                "[pools.app.shards.0]",
                "database = \"appdb\"",
                "servers = [[\"10.1.1.1\", 5432, \"primary\"], [\"10.1.1.2\", 5432, \"replica\"]]",
                ""));
        assertThat(run("check", "--config", f.toString())).isZero();
        assertThat(out()).contains("pool \"app\"").contains("pool_size 7").contains("10.1.1.2:5432")
                .contains("config is valid").doesNotContain("secret-pw");
        assertThat(err()).contains("warning: general.healthcheck_delay: pgcat key not supported yet, ignored");
    }
}
