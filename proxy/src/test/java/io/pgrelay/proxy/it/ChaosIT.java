package io.pgrelay.proxy.it;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.proxy.LeakTracker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Faults under JDBC load, each on a cluster of its own: a standby killed with SIGKILL and another one frozen with
 * SIGSTOP past every timeout, and a pool filled with long transactions. pgrelay stays up without a restart, clients
 * see errors only where the issue allows them, and Netty's direct memory stays bounded.
 */
class ChaosIT {
    private static final Logger log = LoggerFactory.getLogger(ChaosIT.class);
    private LocalCluster cluster;
    private TestProxy proxy;

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        LeakTracker.assertNoLeaks();
    }

    private TestProxy start(int poolSize, String general) {
        return TestProxy.start("[general]\nhost = \"127.0.0.1\"\nport = %PORT%\nconnect_timeout = 1000\n"
                + "healthcheck_interval = 300\nhealthcheck_timeout = 300\nban_after_failures = 2\nban_time = 1\n"
                + "failover_timeout = 20000\n" + general + "\n"
                + "[pools.app]\npool_mode = \"transaction\"\nprimary_reads_enabled = false\n"
                + "[pools.app.users.0]\nusername = \"app\"\npassword = \"app\"\npool_size = " + poolSize + "\n"
                + "[pools.app.shards.0]\ndatabase = \"app\"\nservers = " + TestProxy.servers(cluster) + "\n");
    }

    private void createTable() throws SQLException {
        cluster.execute(cluster.primary(), "app", "CREATE TABLE acked(id bigint PRIMARY KEY); "
                + "GRANT ALL ON acked TO " + cluster.appUser());
        cluster.awaitReplay(Duration.ofSeconds(10));
    }

    private static long directMemory() {
        return ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider p
                ? p.metric().usedDirectMemory() : 0;
    }

    @Test
    void aStandbyKilledAndAnotherFrozenCostNoClientAnything() throws Exception {
        cluster = LocalCluster.builder().start();
        createTable();
        PgServer killed = cluster.standbys().get(0);
        PgServer frozen = cluster.standbys().get(1);
        proxy = start(10, "");
        MixedLoad load = new MixedLoad(20, 0.3, () -> proxy.connect("app", "app"));
        Thread.sleep(1000);
        long directBefore = directMemory();

        // kill -9 of the postmaster: its backends notice and exit, their connections drop mid-query.
        cluster.crash(killed);
        Thread.sleep(1500);
        // Frozen longer than healthcheck_timeout x ban_after_failures: queries in flight there hang until the ban.
        cluster.freeze(frozen);
        long frozenAt = System.nanoTime();
        long readsWhileFrozen = load.reads.get();
        Thread.sleep(3000);
        assertThat(load.reads.get()).as("reads go on without either standby (on the primary)")
                .isGreaterThan(readsWhileFrozen);
        cluster.thaw(frozen);
        // The killed one comes back (after kill -9 the old backends may still hold its shared memory a moment).
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> {
            cluster.start(killed);
            return cluster.isRunning(killed);
        });
        // Both standbys take reads again, without restarting pgrelay.
        for (PgServer s : List.of(killed, frozen)) {
            long t0 = System.nanoTime();
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(cluster.query(s, "postgres",
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND query LIKE 'SELECT count(*) "
                            + "FROM acked%'").get(0).get(0)).isNotEqualTo("0"));
            log.info("chaos: {} takes reads again after {} ms", s, (System.nanoTime() - t0) / 1_000_000);
        }
        long t0 = System.nanoTime();
        load.close();
        log.info("chaos: the load stopped in {} ms, {} client threads stuck", (System.nanoTime() - t0) / 1_000_000,
                load.stuck.get());
        assertThat(load.stuck.get()).as("clients that never got an answer").isZero();
        long directAfter = directMemory();
        log.info("chaos: {} reads, {} writes, failures {}; Netty direct memory {} -> {} bytes", load.reads.get(),
                load.writes.get(), load.failures, directBefore, directAfter);
        // Reads that lost their standby before it answered ran again elsewhere; only one caught in the middle of
        // its answer (nothing to replay then) may fail, once per client at most. Writes never touched a failed server.
        assertThat(load.failures(true)).isEmpty();
        assertThat(load.loginFailures()).isEmpty();
        assertThat(load.failures).hasSizeLessThanOrEqualTo(20);
        for (MixedLoad.Failure f : load.failures) {
            assertThat(f.startedNanos() - frozenAt - 250_000_000L).as("in flight at a fault: %s", f).isNegative();
            assertThat(f.sqlState()).isIn("08006", "57P01");
        }
        assertThat(directAfter - directBefore).isLessThan(32L << 20);
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO acked(id) VALUES (-1)");
        }
    }

    @Test
    void aPoolFullOfLongTransactionsMakesWritersWaitThenServesAgain() throws Exception {
        cluster = LocalCluster.builder().start();
        createTable();
        proxy = start(3, "query_wait_timeout = 1000");
        MixedLoad load = new MixedLoad(6, 0.5, () -> proxy.connect("app", "app"));
        Thread.sleep(500); // the load's clients are logged in
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<?>> holders = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            int id = -100 - i; // the load's own ids count up from 1
            holders.add(pool.submit(() -> {
                try (Connection c = proxy.connect("app", "app")) {
                    c.setAutoCommit(false);
                    try (Statement st = c.createStatement()) {
                        st.executeUpdate("INSERT INTO acked(id) VALUES (" + id + ")"); // holds a primary connection
                        st.execute("SELECT pg_sleep(3)");
                    }
                    c.commit();
                }
                return null;
            }));
        }
        Thread.sleep(2500); // the three hold all of the primary's pool
        for (Future<?> h : holders) {
            h.get();
        }
        long failedWhileFull = load.failures(true).size();
        pool.shutdown();
        long writesAfter = load.writes.get();
        Thread.sleep(1500);
        load.close();
        log.info("full pool: writes failed while full {}, failures {}", failedWhileFull, load.failures);
        // Reads run on the standbys' pools: the full primary pool never touched them.
        assertThat(load.failures(false)).isEmpty();
        // Writers waited query_wait_timeout and were told so, nothing else; so were clients logging in again
        // meanwhile (a login takes a primary connection, to learn the server's parameters).
        assertThat(failedWhileFull).isPositive();
        for (MixedLoad.Failure f : load.failures) {
            assertThat(f.write() || f.login()).as("%s", f).isTrue();
            assertThat(f.message()).contains("within query_wait_timeout (1000 ms)");
        }
        // Once the long transactions ended, writes flow again on the same pgrelay.
        assertThat(load.writes.get()).isGreaterThan(writesAfter);
    }
}
