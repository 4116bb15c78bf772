package io.pgrelay.proxy.cli;

import io.pgrelay.config.ConfigException;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.ConfigSummary;
import io.pgrelay.config.PgRelayConfig;

import java.io.PrintStream;
import java.nio.file.Path;

/** {@code pgrelay check}: validate a config file and say what it would serve. */
final class CheckCommand {
    static final String USAGE = String.join("\n",
            "usage: pgrelay check [--config FILE]",
            "",
            "Validates a pgrelay (pgcat-style) TOML config and prints what it would serve.",
            "Exit code 0 when valid, 1 when not (every problem is listed as file:line: key: problem).",
            "",
            "  --config FILE   the config file (default: ./pgrelay.toml)");

    private CheckCommand() {
    }

    static int run(CommandLine cl, PrintStream out, PrintStream err) {
        PgRelayConfig config = load(Path.of(cl.get("--config", "pgrelay.toml")), err);
        if (config == null) {
            return 1;
        }
        out.print(ConfigSummary.describe(config));
        out.println("config is valid");
        return 0;
    }

    /** Loads and reports: problems and warnings to {@code err}; null when the config is unusable. */
    static PgRelayConfig load(Path file, PrintStream err) {
        try {
            PgRelayConfig config = ConfigLoader.load(file);
            for (String w : config.warnings()) {
                err.println("warning: " + w);
            }
            return config;
        } catch (ConfigException e) {
            err.println(e.getMessage());
            err.println("pgrelay: invalid configuration, not starting");
            return null;
        }
    }
}
