package io.pgrelay.proxy.cli;

import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.proxy.PgRelayServer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/** {@code pgrelay run}: serve a config until SIGINT/SIGTERM. */
final class RunCommand {
    static final String USAGE = String.join("\n",
            "usage: pgrelay run [--config FILE]",
            "",
            "Runs the proxy until SIGINT or SIGTERM.",
            "",
            "  --config FILE   the config file (default: ./pgrelay.toml)");

    private RunCommand() {
    }

    static int run(CommandLine cl, PrintStream out, PrintStream err) {
        PgRelayConfig config = CheckCommand.load(Path.of(cl.get("--config", "pgrelay.toml")), err);
        if (config == null) {
            return 1;
        }
        PgRelayServer server;
        try {
            server = PgRelayServer.start(config);
        } catch (Exception e) {
            err.println("pgrelay: could not start: " + e.getMessage());
            return 1;
        }
        awaitSignal(server::close);
        return 0;
    }

    /** Blocks until the JVM is asked to stop, running {@code onStop} in the shutdown hook. */
    static void awaitSignal(Runnable onStop) {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                onStop.run();
            } finally {
                stopped.countDown();
            }
        }, "pgrelay-shutdown"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
