package io.pgrelay.proxy.cli;

import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.proxy.PgRelayServer;
import io.pgrelay.proxy.admin.AdminConsole;
import io.pgrelay.proxy.admin.Reloader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * {@code pgrelay run}: serve a config until told to stop. SIGHUP reloads the config file (as RELOAD does);
 * SIGTERM and SIGINT stop gracefully (as SHUTDOWN: transactions in flight get up to shutdown_timeout) and the
 * process exits 0; a second SIGTERM/SIGINT closes at once. The admin console's SHUTDOWN ends the process too.
 */
final class RunCommand {
    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);
    static final String USAGE = String.join("\n",
            "usage: pgrelay run [--config FILE]",
            "",
            "Runs the proxy. SIGHUP reloads the config file; SIGTERM or SIGINT stops it gracefully",
            "(transactions in flight get up to shutdown_timeout to finish).",
            "",
            "  --config FILE   the config file (default: ./pgrelay.toml)");

    private RunCommand() {
    }

    static int run(CommandLine cl, PrintStream out, PrintStream err) {
        Path file = Path.of(cl.get("--config", "pgrelay.toml"));
        PgRelayConfig config = CheckCommand.load(file, err);
        if (config == null) {
            return 1;
        }
        // Handlers first: once "listening" is logged, a signal must already find them (the JVM's default for
        // SIGHUP would end the process). A stop asked for before the console exists is honoured right after.
        java.util.concurrent.atomic.AtomicReference<AdminConsole> ready = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean stopEarly = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicBoolean reloadEarly = new java.util.concurrent.atomic.AtomicBoolean();
        Runnable stop = () -> {
            AdminConsole c = ready.get();
            if (c == null) {
                stopEarly.set(true);
            } else {
                c.shutdown(false);
            }
        };
        Runnable reloadNow = () -> {
            AdminConsole c = ready.get();
            if (c != null) {
                reload(c);
            } else {
                reloadEarly.set(true); // "listening" may be logged before the console is handed over
                AdminConsole late = ready.get(); // handed over meanwhile: whoever claims the flag reloads
                if (late != null && reloadEarly.getAndSet(false)) {
                    reload(late);
                }
            }
        };
        String stops = "stop pgrelay (the admin console's SHUTDOWN does)";
        boolean signals = handle("TERM", stops, stop) & handle("INT", stops, stop)
                & handle("HUP", "reload the config (the admin console's RELOAD does)", reloadNow);
        PgRelayServer server;
        try {
            server = PgRelayServer.start(config);
        } catch (Exception e) {
            err.println("pgrelay: could not start: " + e.getMessage());
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        AdminConsole console = server.admin();
        console.onStopped(stopped::countDown);
        ready.set(console);
        if (stopEarly.get()) {
            console.shutdown(false);
        } else if (reloadEarly.getAndSet(false)) {
            reload(console);
        }
        if (!signals) {
            // Without signal handlers (a JVM without sun.misc.Signal): stop in a shutdown hook, at once.
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "pgrelay-shutdown-hook"));
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }

    private static void reload(AdminConsole console) {
        log.info("SIGHUP: reloading the config");
        Reloader.Outcome outcome = console.reload();
        if (!outcome.ok()) {
            log.warn("SIGHUP: {}", outcome.error().replace('\n', ' '));
        }
    }

    /**
     * Installs a handler for a signal; runs it on a thread of its own. False when signals cannot be handled.
     * {@code purpose}: what the signal would do, named in the warning when it cannot.
     */
    private static boolean handle(String signal, String purpose, Runnable action) {
        try {
            sun.misc.SignalHandler old = sun.misc.Signal.handle(new sun.misc.Signal(signal), s -> {
                Thread t = new Thread(action, "pgrelay-SIG" + signal);
                t.start();
            });
            if (old == sun.misc.SignalHandler.SIG_IGN) {
                // The JVM leaves a signal ignored at its start ignored (nohup does this to SIGHUP): say so, or
                // the signal would be lost without a word.
                log.warn("SIG{} was ignored when pgrelay started (nohup?): it will not {}", signal, purpose);
            }
            return true;
        } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
            log.warn("cannot handle SIG{}: {}", signal, e.toString());
            return false;
        }
    }

    /** Blocks until the JVM is asked to stop, running {@code onStop} in the shutdown hook (the demo command). */
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
