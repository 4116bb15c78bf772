package io.pgrelay.proxy.it;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * JDBC clients through pgrelay, each on its own connection, running autocommit reads and writes until stopped:
 * writes insert a unique id into {@code acked(id)}, reads count it. Every outcome is kept with its time, so a test
 * can say which requests failed, when, and which writes the clients saw acknowledged.
 */
final class MixedLoad implements AutoCloseable {
    /**
     * One failed request: when it started and ended (System.nanoTime()), and what the client was told; {@code login}
     * when it failed while connecting (a login needs a primary connection), before the read or write was sent.
     */
    record Failure(boolean write, long startedNanos, long endedNanos, String sqlState, String message, boolean login) {
    }

    interface Connector {
        Connection connect() throws SQLException;
    }

    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong ids = new AtomicLong();
    final Set<Long> acked = ConcurrentHashMap.newKeySet();
    final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
    final AtomicLong reads = new AtomicLong();
    final AtomicLong writes = new AtomicLong();
    /** Completion times (System.nanoTime()) of successful writes. */
    final ConcurrentLinkedQueue<Long> writeTimes = new ConcurrentLinkedQueue<>();
    final AtomicLong reconnects = new AtomicLong();
    /** Client threads that had not come back 30 s after close(). */
    final AtomicLong stuck = new AtomicLong();
    private final List<Thread> threads = new ArrayList<>();

    MixedLoad(int clients, double writeShare, Connector connector) {
        for (int i = 0; i < clients; i++) {
            Thread t = new Thread(() -> run(writeShare, connector), "load-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
    }

    private void run(double writeShare, Connector connector) {
        Connection c = null;
        while (running.get()) {
            boolean write = ThreadLocalRandom.current().nextDouble() < writeShare;
            long started = System.nanoTime();
            boolean connecting = false;
            try {
                if (c == null || c.isClosed()) {
                    if (c != null) {
                        reconnects.incrementAndGet();
                    }
                    connecting = true;
                    c = null;
                    c = connector.connect();
                    connecting = false;
                }
                if (write) {
                    long id = ids.incrementAndGet();
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO acked(id) VALUES (?)")) {
                        ps.setLong(1, id);
                        ps.executeUpdate();
                    }
                    acked.add(id);
                    writes.incrementAndGet();
                    writeTimes.add(System.nanoTime());
                } else {
                    try (PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM acked");
                         ResultSet rs = ps.executeQuery()) {
                        rs.next();
                    }
                    reads.incrementAndGet();
                }
            } catch (SQLException e) {
                failures.add(new Failure(write, started, System.nanoTime(), e.getSQLState(), e.getMessage(),
                        connecting));
                sleep(20); // a failing client does not spin
            }
        }
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // the server may be gone
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Failed reads or writes, logins excluded. */
    List<Failure> failures(boolean write) {
        return failures.stream().filter(f -> f.write() == write && !f.login()).toList();
    }

    List<Failure> loginFailures() {
        return failures.stream().filter(Failure::login).toList();
    }

    /** The first successful write completed after {@code nanos}, or -1. */
    long firstWriteAfter(long nanos) {
        return writeTimes.stream().filter(t -> t - nanos > 0).min(Long::compare).orElse(-1L);
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        for (Thread t : threads) {
            t.join(stuck.get() > 0 ? 1_000 : 30_000);
            if (t.isAlive()) {
                // A client that does not come back is a hang: show where it waits.
                StringBuilder where = new StringBuilder(t.getName() + " still running after 30 s:");
                for (StackTraceElement e : t.getStackTrace()) {
                    where.append("\n    at ").append(e);
                }
                System.err.println(where); // evidence for whoever looks into it; the caller's asserts decide
                stuck.incrementAndGet();
            }
        }
    }
}
