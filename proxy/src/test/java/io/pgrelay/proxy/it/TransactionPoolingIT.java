package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Transaction pooling with real drivers: pgbench in every protocol mode, JDBC prepared statements, COPY. */
class TransactionPoolingIT {
    private static LocalCluster cluster;
    private static TestProxy proxy;

    @BeforeAll
    static void start() {
        cluster = SharedCluster.get();
        String users = "[pools.app.users.1]\nusername = \"tiny\"\npassword = \"tiny\"\npool_size = 1\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n";
        // Reads are routed to standbys; these tests read what they just wrote, as apps do, so the pool keeps a
        // client's reads on servers that have its writes (read_your_writes = lsn).
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 10, "query_wait_timeout = 3000", users)
                .replace("pool_mode = \"session\"", "pool_mode = \"transaction\"\nread_your_writes = \"lsn\""));
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    private static Connection tiny(Properties extra) throws SQLException {
        return proxy.connect("app", "tiny", "tiny", extra);
    }

    private static Properties props(String... kv) {
        Properties p = new Properties();
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    private static String one(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    static Path pgbench() {
        for (String p : new String[] {"/usr/lib/postgresql/15/bin/pgbench", "/usr/bin/pgbench"}) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        throw new IllegalStateException("pgbench not found (Debian package postgresql-contrib / postgresql-client)");
    }

    private static Psql.Result pgbench(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(pgbench().toString(), "-h", "127.0.0.1",
                "-p", Integer.toString(proxy.port()), "-U", "app"));
        cmd.addAll(List.of(args));
        cmd.add("app");
        Process p = Psql.start(cmd, Map.of("PGPASSWORD", "app"));
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Psql.Result(p.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err, StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @ValueSource(strings = {"simple", "extended", "prepared"})
    void pgbenchWithAHundredClientsOnAPoolOfTen(String mode) throws Exception {
        synchronized (TransactionPoolingIT.class) {
            if (!initialized) {
                Psql.Result init = pgbench("-i", "-s", "1", "-q");
                assertThat(init.exitCode()).as(init.stderr()).isZero();
                initialized = true;
            }
        }
        Psql.Result r = pgbench("-c", "100", "-j", "2", "-T", "4", "-M", mode, "-n");
        assertThat(r.exitCode()).as(r.stderr() + r.stdout()).isZero();
        assertThat(r.stdout()).contains("number of failed transactions: 0").contains("query mode: " + mode);
        assertThat(r.stderr()).doesNotContain("ERROR").doesNotContain("FATAL");
        long done = Long.parseLong(r.stdout().replaceAll("(?s).*number of transactions actually processed: (\\d+).*",
                "$1"));
        assertThat(done).isGreaterThan(100);
        // pgrelay's own accounting: no pool of app@app (primary or standby) is above its pool_size of 10.
        for (io.pgrelay.proxy.pool.Pool pool : proxy.server().group("app", "app").all()) {
            io.pgrelay.proxy.pool.Pool.PoolStats s = pool.stats();
            assertThat(s.active() + s.idle() + s.opening()).as(pool.target().address()).isLessThanOrEqualTo(10);
        }
    }

    private static boolean initialized;

    @Test
    void jdbcPreparedStatementsHopBetweenServerConnections() throws Exception {
        Properties p = props("prepareThreshold", "1");
        int clients = 6;
        ExecutorService exec = Executors.newFixedThreadPool(clients);
        try {
            List<Future<Set<Integer>>> results = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                results.add(exec.submit(() -> {
                    Set<Integer> pids = new HashSet<>();
                    try (Connection conn = proxy.connect("app", "app", "app", p);
                         PreparedStatement ps = conn.prepareStatement(
                                 "SELECT ?::int * 2, pg_backend_pid(), pg_sleep(0.002)")) {
                        for (int i = 0; i < 200; i++) {
                            ps.setInt(1, client * 1000 + i);
                            try (ResultSet rs = ps.executeQuery()) {
                                rs.next();
                                assertThat(rs.getInt(1)).isEqualTo((client * 1000 + i) * 2);
                                pids.add(rs.getInt(2));
                            }
                        }
                        assertThat(((org.postgresql.PGStatement) ps).isUseServerPrepare()).isTrue();
                    }
                    return pids;
                }));
            }
            Set<Integer> all = new HashSet<>();
            int hopped = 0;
            for (Future<Set<Integer>> f : results) {
                Set<Integer> pids = f.get(120, TimeUnit.SECONDS);
                all.addAll(pids);
                if (pids.size() > 1) {
                    hopped++;
                }
            }
            assertThat(hopped).as("clients whose statement ran on more than one server connection").isPositive();
            assertThat(all.size()).as("backends used, at most pool_size on each of the three servers").isBetween(2, 30);
        } finally {
            exec.shutdownNow();
        }
    }

    @Test
    void twoClientsUseTheSameStatementNameForDifferentTexts() throws SQLException {
        Properties p = props("prepareThreshold", "1");
        // Both drivers call their first statement S_1; with one server connection they share it.
        try (Connection a = tiny(p); Connection b = tiny(p);
             PreparedStatement pa = a.prepareStatement("SELECT ?::int + 1");
             PreparedStatement pb = b.prepareStatement("SELECT 'b:' || ?::text")) {
            for (int i = 0; i < 20; i++) {
                pa.setInt(1, i);
                try (ResultSet rs = pa.executeQuery()) {
                    rs.next();
                    assertThat(rs.getString(1)).isEqualTo(Integer.toString(i + 1));
                }
                pb.setString(1, "x" + i);
                try (ResultSet rs = pb.executeQuery()) {
                    rs.next();
                    assertThat(rs.getString(1)).isEqualTo("b:x" + i);
                }
            }
        }
    }

    @Test
    void oneClientBindsStatementsWhoseNamesDifferInTheLastByteInTurn() throws SQLException {
        // pgrelay keeps the last Bind's statement name as bytes; S_1 and S_2 are equally long and differ at the end.
        Properties p = props("prepareThreshold", "1");
        try (Connection c = tiny(p);
             PreparedStatement plus = c.prepareStatement("SELECT ?::int + 1");
             PreparedStatement times = c.prepareStatement("SELECT ?::int * 10")) {
            for (int i = 0; i < 20; i++) {
                PreparedStatement ps = i % 3 == 0 ? times : plus;
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertThat(rs.getInt(1)).as("execution %d", i).isEqualTo(i % 3 == 0 ? i * 10 : i + 1);
                }
            }
            assertThat(((org.postgresql.PGStatement) plus).isUseServerPrepare()).isTrue();
            assertThat(((org.postgresql.PGStatement) times).isUseServerPrepare()).isTrue();
        }
    }

    @Test
    void pipelinedBatchWithAnErrorInTheMiddleStaysInStep() throws SQLException {
        // The same batch directly on the primary and through pgrelay must end the same way.
        String direct;
        try (Connection c = cluster.connect(cluster.primary(), "app")) {
            direct = runFailingBatch(c, "tx_batch_direct");
        }
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            assertThat(runFailingBatch(c, "tx_batch")).isEqualTo(direct);
            // The stream is still in step: every later answer belongs to its own query.
            for (int i = 0; i < 5; i++) {
                assertThat(one(st, "SELECT " + i)).isEqualTo(Integer.toString(i));
            }
        }
    }

    /** A pipelined JDBC batch whose fourth insert fails; returns the error and what the table holds afterwards. */
    private static String runFailingBatch(Connection c, String table) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS " + table);
            st.execute("CREATE TABLE " + table + " (id int PRIMARY KEY)");
            String error;
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + table + " VALUES (?)")) {
                for (int id : new int[] {1, 2, 3, 2, 5, 6}) {
                    ps.setInt(1, id);
                    ps.addBatch();
                }
                BatchUpdateException e = org.junit.jupiter.api.Assertions.assertThrows(BatchUpdateException.class,
                        ps::executeBatch);
                error = e.getSQLState() + " " + e.getUpdateCounts().length;
            }
            return error + " rows=" + one(st, "SELECT count(*) FROM " + table);
        }
    }

    @Test
    void eachClientKeepsItsOwnSettingsOnASharedConnection() throws SQLException {
        try (Connection a = tiny(props("ApplicationName", "client-a", "options", "-c TimeZone=Asia/Tokyo"));
             Connection b = tiny(props("ApplicationName", "client-b", "options", "-c statement_timeout=4321"));
             Statement sa = a.createStatement(); Statement sb = b.createStatement()) {
            for (int i = 0; i < 5; i++) {
                assertThat(one(sa, "SHOW application_name")).isEqualTo("client-a");
                assertThat(one(sa, "SHOW TimeZone")).isEqualTo("Asia/Tokyo");
                assertThat(one(sa, "SHOW statement_timeout")).isEqualTo("0");
                assertThat(one(sb, "SHOW application_name")).isEqualTo("client-b");
                assertThat(one(sb, "SHOW statement_timeout")).isEqualTo("4321ms");
                assertThat(one(sb, "SHOW TimeZone")).isNotEqualTo("Asia/Tokyo");
            }
            // A SET pgrelay cannot follow does not leak to the next client of the connection.
            sa.execute("SET work_mem = '9MB'");
            assertThat(one(sb, "SHOW work_mem")).isEqualTo("4MB");
        }
    }

    @Test
    void deallocateAllAndDiscardAllAreHonoured() throws SQLException {
        try (Connection c = tiny(props("prepareThreshold", "1"));
             PreparedStatement ps = c.prepareStatement("SELECT ?::int + 100");
             Statement st = c.createStatement()) {
            for (String reset : new String[] {"DEALLOCATE ALL", "DISCARD ALL"}) {
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(101);
                }
                st.execute(reset);
                ps.setInt(1, 2);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    assertThat(rs.getInt(1)).isEqualTo(102);
                }
            }
        }
    }

    @Test
    void listenIsRefusedWithAHintToUseSessionMode() throws Exception {
        Psql.Result r = Psql.run(proxy.psqlUrl("app", "app", "app"), Map.of(), "LISTEN some_channel");
        assertThat(r.exitCode()).isNotZero();
        assertThat(r.stderr()).contains("LISTEN is not supported in transaction pooling mode")
                .contains("pool_mode = \"session\"");
    }

    @Test
    void aBatchSentWhileTheClientWaitsForAServerRunsWhole() throws Exception {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS wait_batch (i int)");
            st.execute("TRUNCATE wait_batch");
        }
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Connection batcher = tiny(new Properties()); Connection holder = tiny(new Properties());
             Statement hs = holder.createStatement()) {
            holder.setAutoCommit(false);
            hs.execute("INSERT INTO wait_batch VALUES (-1)"); // tiny's only primary connection stays with this
            Future<int[]> batch = pool.submit(() -> {
                try (PreparedStatement ps = batcher.prepareStatement("INSERT INTO wait_batch VALUES (?)")) {
                    for (int i = 0; i < 500; i++) {
                        ps.setInt(1, i);
                        ps.addBatch();
                    }
                    return ps.executeBatch();
                }
            });
            // Meanwhile the batch arrives (hundreds of frames): pgrelay holds it, and stops reading the client once
            // it holds more than a few, until a server is there.
            Thread.sleep(700);
            assertThat(batch).isNotDone();
            holder.commit();
            assertThat(batch.get(20, TimeUnit.SECONDS)).hasSize(500).containsOnly(1);
        } finally {
            pool.shutdownNow();
        }
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("/* pgrelay: primary */ SELECT count(*), sum(i) FROM wait_batch")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(501);
            assertThat(rs.getLong(2)).isEqualTo(499L * 500 / 2 - 1);
        }
    }

    @Test
    void queryWaitTimeoutEndsTheWaitWithAClearError() throws Exception {
        try (Connection holder = tiny(new Properties()); Statement hs = holder.createStatement()) {
            holder.setAutoCommit(false);
            hs.execute("SELECT 1"); // BEGIN + SELECT: the only server connection stays with this transaction
            long start = System.nanoTime();
            assertThatThrownBy(() -> {
                try (Connection other = tiny(new Properties())) {
                    other.createStatement().execute("SELECT 2");
                }
            }).isInstanceOf(SQLException.class)
                    .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("53300"))
                    .hasMessageContaining("query_wait_timeout");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
            holder.rollback();
        }
    }

    @Test
    void copyInAndOutOf100MegabytesMatchesItsChecksum() throws Exception {
        long rows = 1_600_000; // 64 bytes a row: about 100 MB
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS tx_copy");
            st.execute("CREATE TABLE tx_copy (n bigint, pad text)");
            CopyManager copy = ((PGConnection) c).getCopyAPI();
            MessageDigest in = MessageDigest.getInstance("MD5");
            long copied = copy.copyIn("COPY tx_copy FROM STDIN", new RowStream(rows, in));
            assertThat(copied).isEqualTo(rows);
            MessageDigest out = MessageDigest.getInstance("MD5");
            long[] bytes = new long[1];
            // pgrelay streams: its direct memory must not grow with the data (it once grew the decoder's buffer
            // by everything that passed while earlier frames were still being written).
            java.lang.management.BufferPoolMXBean direct = java.lang.management.ManagementFactory
                    .getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                    .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
            long baseline = direct.getMemoryUsed();
            long[] peak = {baseline};
            copy.copyOut("COPY tx_copy TO STDOUT", new OutputStream() {
                @Override
                public void write(int b) {
                    out.update((byte) b);
                    bytes[0]++;
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    out.update(b, off, len);
                    bytes[0] += len;
                    if ((bytes[0] & 0xFFFFF) < len) { // about once a megabyte
                        peak[0] = Math.max(peak[0], direct.getMemoryUsed());
                    }
                }
            });
            assertThat(peak[0] - baseline).as("direct memory growth during a 100 MB COPY OUT")
                    .isLessThan(32L << 20);
            assertThat(bytes[0]).isEqualTo(rows * 64);
            assertThat(out.digest()).isEqualTo(in.digest());
            st.execute("DROP TABLE tx_copy");
        }
    }

    /** Rows "n\tpadding\n" of exactly 64 bytes, made as they are read, digested as they go. */
    private static final class RowStream extends InputStream {
        private final long rows;
        private final MessageDigest digest;
        private long row;
        private byte[] line = new byte[0];
        private int pos;

        RowStream(long rows, MessageDigest digest) {
            this.rows = rows;
            this.digest = digest;
        }

        private boolean fill() {
            if (pos < line.length) {
                return true;
            }
            if (row >= rows) {
                return false;
            }
            String n = Long.toString(row++);
            StringBuilder b = new StringBuilder(64).append(n).append('\t');
            while (b.length() < 63) {
                b.append((char) ('a' + (b.length() + row) % 26));
            }
            line = b.append('\n').toString().getBytes(StandardCharsets.US_ASCII);
            digest.update(line);
            pos = 0;
            return true;
        }

        @Override
        public int read() {
            return fill() ? line[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (!fill()) {
                return -1;
            }
            int n = Math.min(len, line.length - pos);
            System.arraycopy(line, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    @Test
    void cancelReachesTheConnectionRunningTheQuery() throws Exception {
        try (Connection c = proxy.connect("app", "app"); Statement st = c.createStatement()) {
            ExecutorService exec = Executors.newSingleThreadExecutor();
            try {
                Future<?> cancel = exec.submit(() -> {
                    Thread.sleep(500);
                    st.cancel();
                    return null;
                });
                long start = System.nanoTime();
                assertThatThrownBy(() -> st.execute("SELECT pg_sleep(10)"))
                        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("57014"));
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
                cancel.get();
            } finally {
                exec.shutdownNow();
            }
            assertThat(one(st, "SELECT 'still usable'")).isEqualTo("still usable");
        }
    }
}
