package io.pgrelay.bench;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.proxy.PgRelayServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Failover time through pgrelay, end to end: a fresh local primary with two standbys per run, pgrelay with its
 * default health settings in front, 10 JDBC clients writing in a loop. The primary is stopped (immediate mode) and
 * either a standby is promoted right away with pg_ctl promote, as an outside manager would ({@code manual}), or
 * pgrelay promotes one itself ({@code auto}, auto_promote with promote_after = 3 s). Failover time: from the stop
 * to the first write acknowledged through pgrelay afterwards; also counted: writes that failed.
 *
 * <pre>java -cp bench/target/benchmarks.jar io.pgrelay.bench.FailoverBench [runs] [manual|auto|both]</pre>
 */
public final class FailoverBench {
    private static final int CLIENTS = 10;

    private FailoverBench() {
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        String modes = args.length > 1 ? args[1] : "both";
        StringBuilder report = new StringBuilder();
        for (String mode : List.of("manual", "auto")) {
            if (!modes.equals("both") && !modes.equals(mode)) {
                continue;
            }
            List<Long> times = new ArrayList<>();
            List<Long> failed = new ArrayList<>();
            for (int i = 1; i <= runs; i++) {
                long[] r = run(mode.equals("auto"));
                times.add(r[0]);
                failed.add(r[1]);
                System.out.printf("%s run %d: failover %d ms, %d failed writes%n", mode, i, r[0], r[1]);
            }
            List<Long> sorted = new ArrayList<>(times);
            Collections.sort(sorted);
            String line = String.format("%s promotion, %d runs: failover median %d ms, max %d ms; failed writes "
                    + "per run %s%n", mode, runs, sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1),
                    failed);
            System.out.print(line);
            report.append(line);
        }
        Path out = Path.of("bench/results/failover.txt");
        Files.createDirectories(out.getParent());
        Files.writeString(out, report.toString());
    }

    /** One failover; returns {milliseconds from the stop to the first acknowledged write, failed writes}. */
    private static long[] run(boolean auto) throws Exception {
        try (LocalCluster cluster = LocalCluster.builder().start()) {
            cluster.execute(cluster.primary(), "app", "CREATE TABLE t(id bigint PRIMARY KEY); GRANT ALL ON t TO "
                    + cluster.appUser());
            String user = auto ? cluster.superuser() : cluster.appUser();
            String password = auto ? cluster.superuserPassword() : cluster.appPassword();
            int port = freePort();
            StringBuilder servers = new StringBuilder("[");
            for (PgServer s : cluster.servers()) {
                servers.append(servers.length() > 1 ? ", " : "").append("[\"127.0.0.1\", ").append(s.port())
                        .append(", \"").append(s == cluster.primary() ? "primary" : "replica").append("\"]");
            }
            servers.append(']');
            String toml = "[general]\nhost = \"127.0.0.1\"\nport = " + port + "\nconnect_timeout = 1000\n"
                    + (auto ? "auto_promote = true\npromote_after = 3000\n" : "")
                    + "[pools.app]\npool_mode = \"transaction\"\n[pools.app.users.0]\nusername = \"" + user
                    + "\"\npassword = \"" + password + "\"\npool_size = 10\n[pools.app.shards.0]\ndatabase = \"app\"\n"
                    + "servers = " + servers + "\n";
            try (PgRelayServer relay = PgRelayServer.start(ConfigLoader.parse(toml, "failover-bench.toml"), 2)) {
                String url = "jdbc:postgresql://127.0.0.1:" + port + "/app";
                AtomicBoolean running = new AtomicBoolean(true);
                AtomicLong ids = new AtomicLong();
                AtomicLong failures = new AtomicLong();
                AtomicLong lastOk = new AtomicLong();
                List<Thread> threads = new ArrayList<>();
                long[] stoppedAt = {Long.MAX_VALUE};
                AtomicLong firstAfter = new AtomicLong(Long.MAX_VALUE);
                for (int i = 0; i < CLIENTS; i++) {
                    Thread t = new Thread(() -> {
                        Connection c = null;
                        while (running.get()) {
                            try {
                                if (c == null || c.isClosed()) {
                                    c = DriverManager.getConnection(url, user, password);
                                }
                                try (PreparedStatement ps = c.prepareStatement("INSERT INTO t VALUES (?)")) {
                                    ps.setLong(1, ids.incrementAndGet());
                                    ps.executeUpdate();
                                }
                                long now = System.nanoTime();
                                lastOk.set(now);
                                if (now - stoppedAt[0] > 0) {
                                    firstAfter.accumulateAndGet(now, Math::min);
                                }
                            } catch (SQLException e) {
                                failures.incrementAndGet();
                                sleep(20);
                            }
                        }
                        try {
                            if (c != null) {
                                c.close();
                            }
                        } catch (SQLException ignored) {
                            // the server may be gone
                        }
                    });
                    t.setDaemon(true);
                    threads.add(t);
                    t.start();
                }
                Thread.sleep(2000);
                long failedBefore = failures.get();
                cluster.kill(cluster.primary());
                stoppedAt[0] = System.nanoTime();
                if (!auto) {
                    cluster.promote(cluster.standbys().get(0));
                }
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (firstAfter.get() == Long.MAX_VALUE && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                Thread.sleep(500);
                running.set(false);
                for (Thread t : threads) {
                    t.join(10_000);
                }
                long ms = firstAfter.get() == Long.MAX_VALUE ? -1 : (firstAfter.get() - stoppedAt[0]) / 1_000_000;
                return new long[] {ms, failures.get() - failedBefore};
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
