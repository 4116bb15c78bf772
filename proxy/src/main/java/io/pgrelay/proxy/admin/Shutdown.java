package io.pgrelay.proxy.admin;

import io.pgrelay.proxy.PgRelayServer;
import io.pgrelay.proxy.pool.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Graceful shutdown (SIGTERM, SHUTDOWN): stop accepting; hold new transactions (every pool paused) and let those in
 * flight finish up to shutdown_timeout; then close every connection. SHUTDOWN WAIT_FOR_CLIENTS instead lets clients
 * go on working and waits for all of them to leave, as PgBouncer does (no time limit). A second request while one
 * runs closes at once. Runs on its own thread: closing the event loops must not happen on one of them.
 */
final class Shutdown {
    private static final Logger log = LoggerFactory.getLogger(Shutdown.class);
    private static final long POLL_MILLIS = 50;

    private final AdminConsole console;
    private volatile Runnable onStopped = () -> {
    };
    private CompletableFuture<Void> done;
    private volatile boolean force;

    Shutdown(AdminConsole console) {
        this.console = console;
    }

    void onStopped(Runnable r) {
        onStopped = r;
    }

    synchronized CompletableFuture<Void> start(boolean waitForClients) {
        if (done != null) {
            if (!force) {
                log.info("shutdown requested again: closing every connection now");
            }
            force = true;
            return done;
        }
        done = new CompletableFuture<>();
        Thread t = new Thread(() -> run(waitForClients), "pgrelay-shutdown");
        t.start();
        return done;
    }

    private void run(boolean waitForClients) {
        PgRelayServer server = console.server();
        try {
            Duration timeout = server.config().general().shutdownTimeout();
            server.stopAccepting();
            if (waitForClients) {
                log.info("shutdown: no longer accepting connections; waiting for {} clients to disconnect",
                        clients(server));
                while (!force && clients(server) > 0) {
                    Thread.sleep(POLL_MILLIS);
                }
            } else {
                console.pause(null); // transactions not yet started wait, and fail when pgrelay closes
                int busy = busy(server);
                log.info("shutdown: no longer accepting connections; {} server connections in use, waiting up to "
                        + "shutdown_timeout ({} ms) for their transactions to finish", busy, timeout.toMillis());
                long deadline = System.nanoTime() + timeout.toNanos();
                while (!force && busy(server) > 0 && (timeout.isZero() || System.nanoTime() - deadline < 0)) {
                    Thread.sleep(POLL_MILLIS);
                }
                int left = busy(server);
                if (left > 0) {
                    log.warn("shutdown: {} server connections still in use after shutdown_timeout; closing them", left);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("shutdown: {}; closing now", e.toString());
        }
        try {
            server.close();
        } finally {
            try {
                onStopped.run();
            } finally {
                done.complete(null);
            }
        }
    }

    private int clients(PgRelayServer server) {
        return Math.max(0, server.clientCount() - console.sessionCount());
    }

    private static int busy(PgRelayServer server) {
        int n = 0;
        for (Pool p : server.allPools()) {
            Pool.PoolStats s = p.stats();
            n += s.active();
        }
        return n;
    }
}
