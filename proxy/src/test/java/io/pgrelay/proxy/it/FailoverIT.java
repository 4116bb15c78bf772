package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.proxy.LeakTracker;
import io.pgrelay.proxy.metrics.HostStates;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Failover against a real primary and two streaming standbys of its own (each test breaks its cluster): the health
 * checks find the promoted standby, writes wait out the gap and resume there, reads never stop, and a former primary
 * that comes back is fenced.
 */
class FailoverIT {
    private static final Logger log = LoggerFactory.getLogger(FailoverIT.class);
    private static final int INTERVAL_MS = 500;
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

    private TestProxy start(String user, String password, String general) {
        String toml = "[general]\nhost = \"127.0.0.1\"\nport = %PORT%\nconnect_timeout = 1000\n"
                + "admin_username = \"admin\"\nadmin_password = \"adminpw\"\n"
                + "healthcheck_interval = " + INTERVAL_MS + "\nhealthcheck_timeout = 500\nban_after_failures = 2\n"
                + "ban_time = 1\nfailover_timeout = 20000\n" + general + "\n"
                + "[pools.app]\npool_mode = \"transaction\"\nprimary_reads_enabled = false\n"
                + "[pools.app.users.0]\nusername = \"" + user + "\"\npassword = \"" + password + "\"\npool_size = 10\n"
                + "[pools.app.shards.0]\ndatabase = \"app\"\nservers = " + TestProxy.servers(cluster) + "\n";
        return TestProxy.start(toml);
    }

    private Connection connect(String user, String password) throws SQLException {
        return proxy.connect("app", user, password, new java.util.Properties());
    }

    private void createTable() throws SQLException {
        cluster.execute(cluster.primary(), "app", "CREATE TABLE acked(id bigint PRIMARY KEY); "
                + "GRANT ALL ON acked TO " + cluster.appUser());
        cluster.awaitReplay(Duration.ofSeconds(10));
    }

    private Set<Long> ids(PgServer s) throws SQLException {
        Set<Long> out = new HashSet<>();
        for (List<String> row : cluster.query(s, "app", "SELECT id FROM acked")) {
            out.add(Long.parseLong(row.get(0)));
        }
        return out;
    }

    private HostStates.Host host(PgServer s) {
        return proxy.server().admin().metrics().hosts().byAddress("127.0.0.1", s.port()).get(0);
    }

    @Test
    void primaryStoppedUnderLoadThenStandbyPromotedWritesResumeAndNothingAckedIsLost() throws Exception {
        // Commits wait for standby1, the one promoted: every write a client saw acknowledged must be there.
        cluster = LocalCluster.builder().start();
        createTable();
        // Set once the standbys stream (during setup no standby could acknowledge a commit).
        cluster.execute(cluster.primary(), "postgres", "ALTER SYSTEM SET synchronous_standby_names = 'standby1'");
        cluster.execute(cluster.primary(), "postgres", "SELECT pg_reload_conf()");
        PgServer oldPrimary = cluster.primary();
        PgServer promoted = cluster.standbys().get(0);
        proxy = start("app", "app", "");
        MixedLoad load = new MixedLoad(20, 0.5, () -> connect("app", "app"));
        Thread.sleep(1500);
        long killed = System.nanoTime();
        cluster.kill(oldPrimary);
        long dead = System.nanoTime(); // pg_ctl stop -m immediate has returned: the server is gone
        Thread.sleep(1000); // writes wait for a primary meanwhile; reads go on on the standbys
        cluster.promote(promoted);
        long promotedAt = System.nanoTime();
        // The operator's part of a manual failover with synchronous replication: nobody left to wait for.
        cluster.execute(promoted, "postgres", "ALTER SYSTEM SET synchronous_standby_names = ''");
        cluster.execute(promoted, "postgres", "SELECT pg_reload_conf()");
        await().atMost(Duration.ofSeconds(20)).until(() -> load.firstWriteAfter(promotedAt) > 0);
        Thread.sleep(1000);
        load.close();
        assertThat(load.stuck.get()).as("clients that never got an answer").isZero();

        long resumeMs = (load.firstWriteAfter(promotedAt) - promotedAt) / 1_000_000;
        log.info("failover under load: writes resumed {} ms after the promotion ({} ms after the kill); {} reads, "
                + "{} writes, failures: {}", resumeMs, (load.firstWriteAfter(promotedAt) - killed) / 1_000_000,
                load.reads.get(), load.writes.get(), load.failures);
        assertThat(resumeMs).isLessThanOrEqualTo(INTERVAL_MS + 1000);
        // Reads ran on the standbys, which never stopped: none failed; clients reconnecting waited, none failed.
        assertThat(load.failures(false)).isEmpty();
        assertThat(load.loginFailures()).isEmpty();
        // Writes failed only if in flight on the primary when it died (at most one per client), each told why.
        List<MixedLoad.Failure> failedWrites = load.failures(true);
        assertThat(failedWrites).hasSizeLessThanOrEqualTo(20);
        for (MixedLoad.Failure f : failedWrites) {
            // In flight when it died; the grace covers a write handed a pooled connection whose close pgrelay's
            // event loop had not processed yet on this loaded 2-core machine (the server was already gone).
            assertThat(f.startedNanos() - dead - 250_000_000L).as("in flight when the primary died: %s", f)
                    .isNegative();
            assertThat(f.sqlState()).isIn("08006", "57P01", "57P02");
        }
        assertThat(ids(promoted)).containsAll(load.acked);
        assertThat(proxy.server().admin().metrics().hosts().failovers()).isEqualTo(1);
        assertThat(host(promoted).role).isEqualTo("primary");

        // The old primary comes back as it was: a primary on the old timeline. It is fenced, never written to.
        cluster.start(oldPrimary);
        await().atMost(Duration.ofSeconds(10)).until(() -> host(oldPrimary).state == HostStates.State.FENCED);
        try (Connection c = connect("app", "app"); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO acked(id) VALUES (-1)");
        }
        assertThat(ids(promoted)).contains(-1L);
        assertThat(ids(oldPrimary)).doesNotContain(-1L);
        // What an operator sees in the console.
        try (Connection admin = AdminIT.admin(proxy, "admin", "adminpw")) {
            List<java.util.Map<String, String>> hosts = AdminIT.query(admin, "SHOW HOSTS");
            assertThat(AdminIT.row(hosts, "port", Integer.toString(promoted.port())))
                    .containsEntry("role", "primary").containsEntry("state", "up").containsEntry("failovers", "1");
            assertThat(AdminIT.row(hosts, "port", Integer.toString(oldPrimary.port())))
                    .containsEntry("state", "fenced");
        }
    }

    @Test
    void autoPromoteReplacesADeadPrimaryAndTheOtherStandbyFollows() throws Exception {
        cluster = LocalCluster.builder().start();
        createTable();
        PgServer oldPrimary = cluster.primary();
        // auto_promote runs pg_promote and ALTER SYSTEM: the pool user is the superuser here.
        proxy = start(cluster.superuser(), cluster.superuserPassword(), "auto_promote = true\npromote_after = 1000");
        try (Connection c = connect(cluster.superuser(), cluster.superuserPassword());
             Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO acked(id) VALUES (1)");
        }
        cluster.awaitReplay(Duration.ofSeconds(10));
        long killed = System.nanoTime();
        cluster.kill(oldPrimary);
        // No outside help: the write waits for pgrelay to promote a standby, then runs there.
        try (Connection c = connect(cluster.superuser(), cluster.superuserPassword());
             Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO acked(id) VALUES (2)");
        }
        log.info("auto_promote: first write through pgrelay {} ms after the primary was killed",
                (System.nanoTime() - killed) / 1_000_000);
        PgServer newPrimary = null;
        PgServer follower = null;
        for (PgServer s : cluster.standbys()) {
            if ("f".equals(cluster.query(s, "postgres", "SELECT pg_is_in_recovery()").get(0).get(0))) {
                newPrimary = s;
            } else {
                follower = s;
            }
        }
        assertThat(newPrimary).as("a promoted standby").isNotNull();
        assertThat(ids(newPrimary)).contains(1L, 2L);
        PgServer leader = newPrimary;
        PgServer third = follower;
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(cluster.query(third, "postgres",
                "SELECT status, sender_port FROM pg_stat_wal_receiver")).containsExactly(
                List.of("streaming", Integer.toString(leader.port()))));
        try (Connection c = connect(cluster.superuser(), cluster.superuserPassword());
             Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO acked(id) VALUES (3)");
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(ids(third)).contains(1L, 2L, 3L));
    }

    @Test
    void aKilledStandbyLosesOnlyReadsInFlightAndGetsReadsAgainWhenBack() throws Exception {
        cluster = LocalCluster.builder().start();
        createTable();
        PgServer victim = cluster.standbys().get(0);
        proxy = start("app", "app", "");
        MixedLoad load = new MixedLoad(10, 0.0, () -> connect("app", "app"));
        Thread.sleep(1000);
        cluster.kill(victim);
        long dead = System.nanoTime();
        Thread.sleep(2000);
        long readsBefore = load.reads.get();
        Thread.sleep(500);
        assertThat(load.reads.get()).as("reads go on on the other standby").isGreaterThan(readsBefore);
        for (MixedLoad.Failure f : load.failures) {
            assertThat(f.startedNanos() - dead).as("only reads in flight at the kill fail: %s", f).isNegative();
        }
        assertThat(load.failures).hasSizeLessThanOrEqualTo(10);
        cluster.start(victim);
        // Back up, unbanned after ban_time: it takes reads again.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(cluster.query(victim, "app",
                "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND state IS NOT NULL "
                        + "AND backend_type = 'client backend' AND query LIKE 'SELECT count(*) FROM acked%'")
                .get(0).get(0)).isNotEqualTo("0"));
        load.close();
    }

    @Test
    void aHungPrimaryIsBannedItsClientsAreToldAndWritesResumeWhenItIsBack() throws Exception {
        cluster = LocalCluster.builder().start();
        createTable();
        PgServer primary = cluster.primary();
        proxy = start("app", "app", "");
        try (Connection c = connect("app", "app"); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO acked(id) VALUES (1)");
            cluster.freeze(primary);
            try {
                long t0 = System.nanoTime();
                // In flight on a server that will not answer: banned after two probes time out, then told.
                assertThatThrownBy(() -> st.executeUpdate("INSERT INTO acked(id) VALUES (2)"))
                        .isInstanceOf(SQLException.class)
                        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("08006"));
                long waitedMs = (System.nanoTime() - t0) / 1_000_000;
                log.info("hung primary: the client was told after {} ms", waitedMs);
                assertThat(waitedMs).isLessThan(10_000);
                assertThat(host(primary).state).isEqualTo(HostStates.State.BANNED);
            } finally {
                cluster.thaw(primary);
            }
            // The same connection: the next write waits for the primary to be back (unbanned) and runs.
            st.executeUpdate("INSERT INTO acked(id) VALUES (3)");
        }
        assertThat(ids(primary)).contains(1L, 3L);
    }
}
