package io.pgrelay.bench;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.util.ResourceLeakDetector;
import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.proxy.PgRelayServer;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The soak run of the hardening work: pgrelay in this JVM, in front of a fresh local primary and two standbys, under
 * mixed load for a given time, with Netty's leak detection at paranoid (every buffer tracked). Clients keep opening
 * and closing connections: each connects, runs a few transactions (simple reads, prepared reads, writes, an explicit
 * transaction) and disconnects; a few stay connected throughout. Every minute it prints the heap used after a full
 * GC, the process RSS, Netty's pooled direct memory and the counts so far; at the end, the leak reports Netty made.
 *
 * <pre>java -Dio.netty.leakDetection.level=paranoid -cp bench/target/benchmarks.jar io.pgrelay.bench.SoakRun [minutes]</pre>
 */
public final class SoakRun {
    private static final AtomicLong LEAKS = new AtomicLong();

    private SoakRun() {
    }

    public static void main(String[] args) throws Exception {
        int minutes = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 24;
        countLeakReports();
        System.out.printf("soak: %d minutes, %d client threads, leak detection %s%n", minutes, clients,
                ResourceLeakDetector.getLevel());
        try (LocalCluster cluster = LocalCluster.builder().start()) {
            cluster.execute(cluster.primary(), "app", "CREATE TABLE soak(id bigserial PRIMARY KEY, v text); "
                    + "GRANT ALL ON soak, soak_id_seq TO " + cluster.appUser());
            int port = freePort();
            StringBuilder servers = new StringBuilder("[");
            for (PgServer s : cluster.servers()) {
                servers.append(servers.length() > 1 ? ", " : "").append("[\"127.0.0.1\", ").append(s.port())
                        .append(", \"").append(s == cluster.primary() ? "primary" : "replica").append("\"]");
            }
            String toml = "[general]\nhost = \"127.0.0.1\"\nport = " + port + "\n[pools.app]\npool_mode = "
                    + "\"transaction\"\nread_your_writes = \"lsn\"\n[pools.app.users.0]\nusername = \"app\"\n"
                    + "password = \"app\"\npool_size = 10\n[pools.app.shards.0]\ndatabase = \"app\"\nservers = "
                    + servers + "]\n";
            try (PgRelayServer relay = PgRelayServer.start(ConfigLoader.parse(toml, "soak.toml"), 2)) {
                run(relay, "jdbc:postgresql://127.0.0.1:" + port + "/app", minutes, clients);
            }
        }
        System.gc();
        Thread.sleep(1000);
        System.gc(); // a leaked buffer is reported when it is collected: give the last ones the chance
        Thread.sleep(1000);
        String end = String.format("soak: done; Netty leak reports: %d%n", LEAKS.get());
        System.out.print(end);
        Files.createDirectories(Path.of("bench/results"));
        Files.writeString(Path.of("bench/results/soak.txt"), LOG.append(end).toString());
    }

    private static final StringBuilder LOG = new StringBuilder();

    private static void run(PgRelayServer relay, String url, int minutes, int clients) throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong transactions = new AtomicLong();
        AtomicLong connections = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            boolean stays = i < 4; // a few long-lived clients beside the churning ones
            Thread t = new Thread(() -> {
                while (running.get()) {
                    try (Connection c = DriverManager.getConnection(url, "app", "app")) {
                        connections.incrementAndGet();
                        int n = stays ? Integer.MAX_VALUE : 1 + ThreadLocalRandom.current().nextInt(50);
                        for (int k = 0; k < n && running.get(); k++) {
                            work(c);
                            transactions.incrementAndGet();
                        }
                    } catch (SQLException e) {
                        errors.incrementAndGet();
                        if (errors.get() < 20) {
                            System.out.println("soak: error: " + e.getSQLState() + " " + e.getMessage());
                        }
                    }
                }
            });
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        long start = System.nanoTime();
        sample(0, transactions, connections, errors);
        for (int m = 1; m <= minutes; m++) {
            long wake = start + m * 60_000_000_000L;
            while (System.nanoTime() < wake) {
                Thread.sleep(Math.max(1, (wake - System.nanoTime()) / 1_000_000));
            }
            sample(m, transactions, connections, errors);
        }
        running.set(false);
        for (Thread t : threads) {
            t.join(30_000);
        }
        // Closes reach pgrelay a moment after the drivers return: give them time before counting.
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (relay.clientCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        String counted = String.format("soak: pgrelay clients still counted 10 s after the load: %d%n",
                relay.clientCount());
        System.out.print(counted);
        LOG.append(counted);
    }

    private static void work(Connection c) throws SQLException {
        int kind = ThreadLocalRandom.current().nextInt(10);
        if (kind < 5) {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM soak")) {
                rs.next();
            }
        } else if (kind < 8) {
            try (PreparedStatement ps = c.prepareStatement("SELECT v FROM soak WHERE id = ?")) {
                ps.setLong(1, ThreadLocalRandom.current().nextInt(1000));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                }
            }
        } else if (kind < 9) {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO soak(v) VALUES (?)")) {
                ps.setString(1, "x".repeat(ThreadLocalRandom.current().nextInt(200)));
                ps.executeUpdate();
            }
        } else {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.executeUpdate("INSERT INTO soak(v) VALUES ('tx')");
                st.executeQuery("SELECT max(id) FROM soak").close();
            }
            c.commit();
            c.setAutoCommit(true);
        }
    }

    private static void sample(int minute, AtomicLong transactions, AtomicLong connections, AtomicLong errors)
            throws Exception {
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long direct = ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p
                ? p.metric().usedDirectMemory() : -1; // Netty's default allocator (adaptive in 4.2)
        String line = String.format("soak: minute %3d: heap after GC %6.1f MB, RSS %6.1f MB, Netty direct %6.1f MB, "
                + "transactions %,d, connections %,d, errors %d, leak reports %d%n", minute, heap / 1e6, rss() / 1e6,
                direct / 1e6, transactions.get(), connections.get(), errors.get(), LEAKS.get());
        System.out.print(line);
        LOG.append(line);
    }

    private static long rss() throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("\\D", "")) * 1024;
            }
        }
        return -1;
    }

    /** Netty reports a leaked buffer as an ERROR of ResourceLeakDetector's logger: count them. */
    private static void countLeakReports() {
        Logger logger = (Logger) LoggerFactory.getLogger("io.netty.util.ResourceLeakDetector");
        AppenderBase<ILoggingEvent> counter = new AppenderBase<>() {
            @Override
            protected void append(ILoggingEvent e) {
                if (e.getFormattedMessage().contains("LEAK")) {
                    LEAKS.incrementAndGet();
                }
            }
        };
        counter.setContext(logger.getLoggerContext());
        counter.start();
        logger.addAppender(counter);
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
