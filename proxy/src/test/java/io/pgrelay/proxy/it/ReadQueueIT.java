package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.route.PoolGroup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Where reads wait and go, over the real primary and two standbys with one connection each: a read that finds both
 * busy waits for whichever frees first, runs on the primary after query_wait_timeout, leaves both lines when its
 * client goes, and does not spill over to a primary that takes reads; `loc` balancing picks the less busy standby.
 */
class ReadQueueIT {
    private static final String WHERE = "SELECT pg_catalog.inet_server_port()";
    private static final String SLEEP = "SELECT pg_catalog.inet_server_port() FROM pg_catalog.pg_sleep(%s)";
    private static LocalCluster cluster;
    private static TestProxy proxy;
    private static PoolGroup group;
    private static PoolGroup withPrimary;
    private static Set<Integer> standbyPorts;
    private final ExecutorService threads = Executors.newFixedThreadPool(3);

    @BeforeAll
    static void start() throws Exception {
        cluster = SharedCluster.get();
        standbyPorts = new HashSet<>();
        for (PgServer s : cluster.standbys()) {
            standbyPorts.add(s.port());
        }
        String routing = "pool_mode = \"transaction\"\nload_balancing_mode = \"round_robin\"\n"
                + "read_only_functions = [\"^pg_sleep$\"]\n";
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 1, "query_wait_timeout = 3000", "")
                .replace("pool_mode = \"session\"\n", routing + "primary_reads_enabled = false\n")
                // The primary takes reads too, by weight: 1 in 201, so round robin gives it none of the first 200.
                + "\n[pools.withprimary]\n" + routing + "primary_reads_enabled = true\n"
                + "[pools.withprimary.users.0]\nusername = \"app\"\npassword = \"app\"\npool_size = 1\n"
                + "[pools.withprimary.shards.0]\ndatabase = \"app\"\nservers = [[\"127.0.0.1\", "
                + cluster.primary().port() + ", \"primary\", 1], [\"127.0.0.1\", " + cluster.standbys().get(0).port()
                + ", \"replica\", 100], [\"127.0.0.1\", " + cluster.standbys().get(1).port() + ", \"replica\", 100]]\n"
                + "\n[pools.loc]\n" + routing.replace("round_robin", "loc") + "primary_reads_enabled = false\n"
                + "[pools.loc.users.0]\nusername = \"app\"\npassword = \"app\"\npool_size = 2\n"
                + "[pools.loc.shards.0]\ndatabase = \"app\"\nservers = " + TestProxy.servers(cluster) + "\n");
        group = proxy.server().group("app", "app");
        withPrimary = proxy.server().group("withprimary", "app");
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    @AfterEach
    void idleAgain() {
        threads.shutdownNow();
        // Copies of a read left in the line it did not take are dropped: no one waits, every connection is idle.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            for (Pool p : java.util.stream.Stream.of(group, withPrimary, proxy.server().group("loc", "app"))
                    .flatMap(g -> g.all().stream()).toList()) {
                assertThat(p.stats().waiting()).as("waiting in %s", p.target().address()).isZero();
                assertThat(p.stats().active()).as("active in %s", p.target().address()).isZero();
            }
        });
    }

    private static Connection connect(String database) throws SQLException {
        return proxy.connect(database, "app", "app", new Properties());
    }

    /** Three clients of the pool, a statement each. */
    private record Clients(Statement a, Statement b, Statement c) implements AutoCloseable {
        static Clients open() throws SQLException {
            return open("app");
        }

        static Clients open(String database) throws SQLException {
            return new Clients(connect(database).createStatement(), connect(database).createStatement(),
                    connect(database).createStatement());
        }

        @Override
        public void close() throws SQLException {
            for (Statement st : new Statement[] {a, b, c}) {
                st.getConnection().close();
            }
        }
    }

    private static int port(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /**
     * Starts a read that holds a standby connection for {@code seconds}; returns once {@code busy} standby
     * connections are in use (the primary's are not counted: a login borrows one for a moment).
     */
    private Future<Integer> hold(Statement st, String seconds, int busy) {
        return hold(group, st, seconds, busy);
    }

    private Future<Integer> hold(PoolGroup g, Statement st, String seconds, int busy) {
        Future<Integer> f = threads.submit(() -> port(st, String.format(SLEEP, seconds)));
        await().atMost(Duration.ofSeconds(5)).until(() -> busyStandbys(g) == busy);
        return f;
    }

    private static int busyStandbys(PoolGroup g) {
        int n = 0;
        for (Pool p : g.standbys()) {
            n += p.stats().active();
        }
        return n;
    }

    private static int waiting(PoolGroup g) {
        int n = 0;
        for (Pool p : g.all()) {
            n += p.stats().waiting();
        }
        return n;
    }

    /**
     * Round robin sends the third read to the standby of the first, long one; it runs on the other as soon as the
     * short one ends, rather than waiting for the long one in its own standby's line.
     */
    @Test
    void aReadTakesTheFirstStandbyConnectionThatFrees() throws Exception {
        try (Clients t = Clients.open()) {
            Future<Integer> longRead = hold(t.a(), "6", 1);
            Future<Integer> shortRead = hold(t.b(), "0.5", 2);
            int third = port(t.c(), WHERE);
            assertThat(longRead.isDone()).as("the third read did not wait for the long one").isFalse();
            int shortPort = shortRead.get(10, TimeUnit.SECONDS);
            assertThat(third).isEqualTo(shortPort);
            assertThat(Set.of(shortPort, longRead.get(15, TimeUnit.SECONDS))).isEqualTo(standbyPorts);
        }
    }

    @Test
    void aReadThatWaitedQueryWaitTimeoutForTheStandbysRunsOnThePrimary() throws Exception {
        try (Clients t = Clients.open()) {
            Future<Integer> first = hold(t.a(), "6", 1);
            Future<Integer> second = hold(t.b(), "6", 2);
            long start = System.nanoTime();
            int third = port(t.c(), WHERE);
            long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(third).isEqualTo(cluster.primary().port());
            assertThat(tookMs).as("it waited query_wait_timeout first").isBetween(2500L, 5900L);
            assertThat(first.isDone() || second.isDone()).isFalse();
            assertThat(Set.of(first.get(15, TimeUnit.SECONDS), second.get(15, TimeUnit.SECONDS)))
                    .isEqualTo(standbyPorts);
        }
    }

    @Test
    void aClientThatLeavesWhileWaitingLeavesBothLines() throws Exception {
        try (Clients t = Clients.open()) {
            Future<Integer> first = hold(t.a(), "4", 1);
            Future<Integer> second = hold(t.b(), "4", 2);
            Future<Integer> third = threads.submit(() -> port(t.c(), WHERE));
            await().atMost(Duration.ofSeconds(3)).until(() -> waiting(group) == 2); // one copy in each line
            t.c().getConnection().abort(Runnable::run); // the socket closes; pgrelay sees the client go
            await().atMost(Duration.ofSeconds(3)).until(() -> waiting(group) == 0);
            assertThat(first.isDone() || second.isDone()).as("both standbys still busy").isFalse();
            assertThat(third).failsWithin(Duration.ofSeconds(5));
            assertThat(Set.of(first.get(15, TimeUnit.SECONDS), second.get(15, TimeUnit.SECONDS)))
                    .isEqualTo(standbyPorts);
        }
        try (Connection d = connect("app"); Statement sd = d.createStatement()) {
            assertThat(standbyPorts).contains(port(sd, WHERE));
        }
    }

    /**
     * With primary_reads_enabled the primary takes the reads the balancing mode gives it, and no others: a read
     * that finds the standbys full waits for one of them even though the primary has a connection free, so reads
     * that spilled over do not queue ahead of writes in the primary's line. (Round robin by weight sends all three
     * reads here to the first standby; the second spills to the other standby.)
     */
    @Test
    void withPrimaryReadsAReadThatFindsTheStandbysFullWaitsForThemNotThePrimary() throws Exception {
        try (Clients t = Clients.open("withprimary")) {
            Future<Integer> longRead = hold(withPrimary, t.a(), "6", 1);
            Future<Integer> shortRead = hold(withPrimary, t.b(), "0.5", 2);
            int third = port(t.c(), WHERE);
            assertThat(third).isEqualTo(shortRead.get(10, TimeUnit.SECONDS)).isNotEqualTo(cluster.primary().port());
            assertThat(longRead.isDone()).isFalse();
            assertThat(Set.of(third, longRead.get(15, TimeUnit.SECONDS))).isEqualTo(standbyPorts);
        }
    }

    /** Least outstanding connections: while one standby runs a long read, the short ones all go to the other. */
    @Test
    void locSendsReadsToTheLessBusyStandby() throws Exception {
        PoolGroup loc = proxy.server().group("loc", "app");
        try (Clients t = Clients.open("loc")) {
            Future<Integer> longRead = hold(loc, t.a(), "3", 1);
            Set<Integer> seen = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                seen.add(port(t.b(), WHERE));
                // Its connection back in the pool (given back just after the reply): the next choice is 1 against 0.
                await().atMost(Duration.ofSeconds(5)).until(() -> busyStandbys(loc) == 1);
            }
            int busy = longRead.get(10, TimeUnit.SECONDS);
            assertThat(seen).hasSize(1).doesNotContain(busy);
            assertThat(standbyPorts).containsAll(seen);
        }
    }
}
