package io.pgrelay.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class LocalClusterIT {
    private static final Duration REPLAY = Duration.ofSeconds(30);

    @Test
    void replicatesToReadOnlyHotStandbys() throws Exception {
        long t0 = System.nanoTime();
        try (LocalCluster c = LocalCluster.builder().start()) {
            long startMillis = (System.nanoTime() - t0) / 1_000_000;
            System.out.println("LocalClusterIT: primary + 2 standbys started in " + startMillis + " ms");
            assertThat(c.servers()).extracting(PgServer::name).containsExactly("primary", "standby1", "standby2");
            assertThat(c.servers()).extracting(PgServer::port).doesNotHaveDuplicates();
            assertThat(c.primary().jdbcUrl("app")).isEqualTo("jdbc:postgresql://127.0.0.1:" + c.primary().port() + "/app");
            assertThat(c.query(c.primary(), "postgres",
                    "SELECT application_name, state FROM pg_stat_replication ORDER BY 1"))
                    .containsExactly(List.of("standby1", "streaming"), List.of("standby2", "streaming"));

            c.execute(c.primary(), "app", "CREATE TABLE t (id int PRIMARY KEY, v text)");
            c.execute(c.primary(), "app", "INSERT INTO t VALUES (1, 'one')");
            c.awaitReplay(REPLAY);
            for (PgServer s : c.standbys()) {
                assertThat(c.query(s, "app", "SELECT id, v FROM t")).containsExactly(List.of("1", "one"));
                assertThat(c.query(s, "postgres", "SELECT pg_is_in_recovery()")).containsExactly(List.of("t"));
                assertThatThrownBy(() -> c.execute(s, "app", "INSERT INTO t VALUES (2, 'two')"))
                        .isInstanceOf(SQLException.class)
                        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("25006"));
            }
            assertThat(c.query(c.primary(), "postgres", "SELECT pg_is_in_recovery()")).containsExactly(List.of("f"));
            assertThat(c.currentPrimary()).isSameAs(c.primary());

            // the app role logs in with SCRAM and owns its database
            try (Connection app = c.connect(c.standbys().get(1), "app", "app", "app")) {
                var rs = app.createStatement().executeQuery(
                        "SELECT current_user, pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'");
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("app");
                assertThat(rs.getString(2)).isEqualTo("app");
            }
            assertThatThrownBy(() -> c.connect(c.primary(), "app", "app", "wrong"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("password authentication failed");
            assertThat(c.query(c.primary(), "postgres",
                    "SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'app'"))
                    .containsExactly(List.of("t"));
            assertThat(c.primary().logFile()).isRegularFile();
            assertThat(c.baseDir().resolve("sock").resolve(".s.PGSQL." + c.primary().port())).exists();
        }
    }

    @Test
    void stopStartKillRestart() throws Exception {
        try (LocalCluster c = LocalCluster.builder().start()) {
            PgServer s1 = c.standbys().get(0);
            PgServer s2 = c.standbys().get(1);
            c.execute(c.primary(), "app", "CREATE TABLE t (id int)");

            c.stop(s1);
            assertThat(c.isRunning(s1)).isFalse();
            assertThat(s1.dataDir().resolve("postmaster.pid")).doesNotExist();
            assertThatThrownBy(() -> c.query(s1, "postgres", "SELECT 1")).isInstanceOf(SQLException.class);
            c.stop(s1);   // idempotent
            c.execute(c.primary(), "app", "INSERT INTO t VALUES (1)");
            c.start(s1);
            assertThat(c.isRunning(s1)).isTrue();
            c.awaitReplay(REPLAY);
            assertThat(c.query(s1, "app", "SELECT count(*) FROM t")).containsExactly(List.of("1"));

            long pid = PgCtl.postmasterPid(s2.dataDir());
            c.kill(s2);
            assertThat(c.isRunning(s2)).isFalse();
            assertThat(PgCtl.alive(pid)).isFalse();
            c.execute(c.primary(), "app", "INSERT INTO t VALUES (2)");
            c.start(s2);   // crash recovery, then streams again from its slot
            c.awaitReplay(REPLAY);
            assertThat(c.query(s2, "app", "SELECT count(*) FROM t")).containsExactly(List.of("2"));

            c.restart(c.primary());
            c.execute(c.primary(), "app", "INSERT INTO t VALUES (3)");
            c.awaitReplay(REPLAY);
            for (PgServer s : c.standbys()) {
                assertThat(c.query(s, "app", "SELECT count(*) FROM t")).containsExactly(List.of("3"));
            }
        }
    }

    @Test
    void promoteAfterPrimaryDies() throws Exception {
        try (LocalCluster c = LocalCluster.builder().start()) {
            PgServer s1 = c.standbys().get(0);
            c.execute(c.primary(), "app", "CREATE TABLE t (id int)");
            c.execute(c.primary(), "app", "INSERT INTO t VALUES (1)");
            c.awaitReplay(REPLAY);
            c.kill(c.primary());
            c.promote(s1);
            assertThat(c.query(s1, "postgres", "SELECT pg_is_in_recovery()")).containsExactly(List.of("f"));
            assertThat(c.currentPrimary()).isSameAs(s1);
            c.execute(s1, "app", "INSERT INTO t VALUES (2)");
            assertThat(c.query(s1, "app", "SELECT count(*) FROM t")).containsExactly(List.of("2"));
            assertThat(c.query(c.standbys().get(1), "postgres", "SELECT pg_is_in_recovery()"))
                    .containsExactly(List.of("t"));
            assertThat(c.primary()).isNotSameAs(s1);   // primary() stays the original one
            assertThatThrownBy(() -> c.promote(c.primary())).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void closeStopsEverythingAndDeletesTheTempDir() throws Exception {
        LocalCluster c = LocalCluster.builder().start();
        List<ProcessHandle> processes = new ArrayList<>();
        for (PgServer s : c.servers()) {
            ProcessHandle pm = ProcessHandle.of(PgCtl.postmasterPid(s.dataDir())).orElseThrow();
            processes.add(pm);
            processes.addAll(pm.descendants().collect(Collectors.toList()));
        }
        assertThat(processes).hasSizeGreaterThan(3 * 4);   // postmasters plus checkpointer, walsender, ...
        Path base = c.baseDir();
        c.close();
        for (ProcessHandle p : processes) {
            assertThat(PgCtl.alive(p.pid())).as("process %d", p.pid()).isFalse();
        }
        assertThat(postgresProcessesMentioning(base)).isEmpty();
        assertThat(base).doesNotExist();
        c.close();   // idempotent
        assertThatThrownBy(() -> c.stop(c.primary())).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void givenBaseDirIsKeptAndCanBeReused() throws Exception {
        Path parent = traversableTempDir();
        Path base = parent.resolve("cluster");
        try {
            LocalCluster c = LocalCluster.builder().baseDir(base).standbys(1).start();
            assertThat(c.baseDir()).isEqualTo(base);
            PgServer p = c.primary();
            c.close();
            assertThat(base.resolve("log/primary.log")).isRegularFile();
            assertThat(base.resolve("log/cmd-primary-initdb.log")).isRegularFile();
            // pg_ctl itself agrees: exit code 3 = no server running
            for (PgServer s : c.servers()) {
                int rc = c.os.exec(List.of(c.bins.tool("pg_ctl").toString(), "status", "-D", s.dataDir().toString()),
                        java.util.Map.of(), Path.of("/"), null, Duration.ofSeconds(30));
                assertThat(rc).as(s.name()).isEqualTo(3);
            }
            assertThatThrownBy(() -> LocalCluster.builder().baseDir(parent).start())
                    .hasMessageContaining("not empty");

            try (LocalCluster again = LocalCluster.builder().baseDir(base).standbys(1).start()) {
                again.execute(again.primary(), "postgres", "SELECT 1");
                assertThat(again.primary().port()).isNotEqualTo(p.port());
            }
            assertThat(base).isDirectory();
        } finally {
            OsRunner.deleteTree(parent);
        }
    }

    @Test
    void standbysByCopyWhenBaseBackupIsOff() throws Exception {
        try (LocalCluster c = LocalCluster.builder().useBaseBackup(false)
                .setting("work_mem", "7MB")
                .appUser("shop", "it's secret").appDatabase("shopdb").start()) {
            assertThat(c.logDir().resolve("cmd-standby1-cp.log")).isRegularFile();
            assertThat(c.logDir().resolve("cmd-standby1-pg_basebackup.log")).doesNotExist();
            c.execute(c.primary(), "shopdb", "CREATE TABLE t AS SELECT 42 AS x");
            c.awaitReplay(REPLAY);
            for (PgServer s : c.servers()) {
                assertThat(c.query(s, "shopdb", "SELECT x FROM t")).containsExactly(List.of("42"));
                assertThat(c.query(s, "postgres", "SHOW work_mem")).containsExactly(List.of("7MB"));
            }
            for (PgServer s : c.standbys()) {
                // the primary's slots were not copied along
                assertThat(c.query(s, "postgres", "SELECT count(*) FROM pg_replication_slots"))
                        .containsExactly(List.of("0"));
            }
            try (Connection app = c.connect(c.standbys().get(0), "shopdb", "shop", "it's secret")) {
                assertThat(app.isValid(5)).isTrue();
            }
        }
    }

    @Test
    void zonkyBinariesForReal() throws Exception {
        String repo = System.getProperty("maven.repo.local");
        Path m2 = repo != null ? Path.of(repo) : Path.of(System.getProperty("user.home"), ".m2", "repository");
        PgBinaries zonky = PgBinaries.locate(PgBinaries.Sources.zonkyOnly(m2, PgBinaries.defaultCacheRoot()));
        assertThat(zonky.majorVersion()).isGreaterThanOrEqualTo(15);
        assertThat(zonky.has("pg_basebackup")).isFalse();
        try (LocalCluster c = LocalCluster.builder().binaries(zonky).start()) {
            assertThat(c.query(c.primary(), "postgres", "SHOW server_version_num").get(0).get(0))
                    .startsWith(String.valueOf(zonky.majorVersion()));
            c.execute(c.primary(), "app", "CREATE TABLE t AS SELECT 'z' AS v");
            c.awaitReplay(REPLAY);
            for (PgServer s : c.standbys()) {
                assertThat(c.query(s, "app", "SELECT v FROM t")).containsExactly(List.of("z"));
            }
            assertThat(c.logDir().resolve("cmd-standby2-cp.log")).isRegularFile();
        }
    }

    @Test
    void failedStartReportsTheServerLogAndLeavesNothingRunning() throws Exception {
        Path parent = traversableTempDir();
        // long enough that the unix sockets must live in a short dir under /tmp instead
        Path base = parent.resolve("broken-" + "x".repeat(70));
        try {
            assertThatThrownBy(() -> LocalCluster.builder().baseDir(base).setting("shared_buffers", "lots").start())
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("kept for inspection")
                    .hasMessageContaining(base.resolve("log/primary.log").toString())
                    .hasMessageContaining("shared_buffers");
            assertThat(postgresProcessesMentioning(base)).isEmpty();
            assertThat(base.resolve("log/primary.log")).isRegularFile();

            // the same dir can be used again right away
            try (LocalCluster c = LocalCluster.builder().baseDir(base).standbys(1).start()) {
                assertThat(c.sockDir().toString()).startsWith("/tmp/pgrelay-sock-");
                assertThat(c.sockDir().resolve(".s.PGSQL." + c.primary().port())).exists();
                c.execute(c.standbys().get(0), "postgres", "SELECT 1");
                c.close();
                assertThat(c.sockDir()).doesNotExist();
            }
        } finally {
            OsRunner.deleteTree(parent);
        }
    }

    @Test
    void startSweepsClustersOfDeadJvmsOnly() throws Exception {
        Path root = Ownership.root(OsRunner.get());
        Path foreign = Files.createDirectories(root.resolve("not-ours-" + System.nanoTime()));
        Files.writeString(foreign.resolve("data"), "keep me");
        LocalCluster stale = LocalCluster.builder().standbys(1).start();
        try {
            List<Long> pids = new ArrayList<>();
            for (PgServer s : stale.servers()) {
                pids.add(PgCtl.postmasterPid(s.dataDir()));
            }
            // pretend its JVM was kill -9'ed: the owner file names a pid that is gone
            Process gone = new ProcessBuilder("true").start();
            gone.waitFor();
            Path ownerFile = stale.entryDir().resolve(Ownership.OWNER_FILE);
            Properties p = Ownership.read(ownerFile);
            p.setProperty("pid", Long.toString(gone.pid()));
            Ownership.write(ownerFile, p);

            try (LocalCluster fresh = LocalCluster.builder().standbys(0).start()) {
                assertThat(fresh.isRunning(fresh.primary())).isTrue();
            }
            for (long pid : pids) {
                assertThat(PgCtl.alive(pid)).as("postmaster %d", pid).isFalse();
            }
            assertThat(stale.baseDir()).doesNotExist();
            assertThat(foreign.resolve("data")).hasContent("keep me");
        } finally {
            stale.close();   // harmless after the sweep
            OsRunner.deleteTree(foreign);
        }
    }

    @Test
    void shutdownHookStopsTheClustersOfAJvmThatExits() throws Exception {
        Child child = Child.spawn("exit");
        assertThat(child.process.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        for (long pid : child.pids) {
            assertThat(PgCtl.alive(pid)).as("postmaster %d", pid).isFalse();
        }
        assertThat(child.base).doesNotExist();
    }

    @Test
    void nextStartSweepsTheClustersOfAKilledJvm() throws Exception {
        Child child = Child.spawn("hang");
        child.process.destroyForcibly();   // SIGKILL: no shutdown hook runs
        child.process.waitFor();
        for (long pid : child.pids) {
            assertThat(PgCtl.alive(pid)).as("postmaster %d outlives its JVM", pid).isTrue();
        }
        try (LocalCluster fresh = LocalCluster.builder().standbys(0).start()) {
            for (long pid : child.pids) {
                assertThat(PgCtl.alive(pid)).as("postmaster %d", pid).isFalse();
            }
            assertThat(child.base).doesNotExist();
            assertThat(fresh.isRunning(fresh.primary())).isTrue();
        }
    }

    /** A separate JVM that starts a cluster, reports it, then exits without close() or hangs until killed. */
    static final class Child {
        Process process;
        Path base;
        List<Long> pids = new ArrayList<>();

        static Child spawn(String mode) throws Exception {
            String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Child c = new Child();
            c.process = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"),
                    Child.class.getName(), mode).redirectErrorStream(true).start();
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(c.process.getInputStream(),
                    StandardCharsets.UTF_8));
            StringBuilder seen = new StringBuilder();
            for (String line; (line = in.readLine()) != null; ) {
                seen.append(line).append('\n');
                if (line.startsWith("BASE ")) {
                    c.base = Path.of(line.substring(5));
                } else if (line.startsWith("PID ")) {
                    c.pids.add(Long.parseLong(line.substring(4)));
                } else if (line.equals("READY")) {
                    // keep draining so the child never blocks on a full pipe
                    Thread drain = new Thread(() -> {
                        try {
                            in.transferTo(java.io.Writer.nullWriter());
                        } catch (IOException e) {
                            // child gone
                        }
                    });
                    drain.setDaemon(true);
                    drain.start();
                    assertThat(c.pids).hasSize(2);
                    return c;
                }
            }
            throw new AssertionError("child JVM ended before READY:\n" + seen);
        }

        public static void main(String[] args) throws Exception {
            LocalCluster c = LocalCluster.builder().standbys(1).start();
            System.out.println("BASE " + c.baseDir());
            for (PgServer s : c.servers()) {
                System.out.println("PID " + PgCtl.postmasterPid(s.dataDir()));
            }
            System.out.println("READY");
            System.out.flush();
            if (args[0].equals("hang")) {
                Thread.sleep(120_000);
            }
        }
    }

    /** JUnit's @TempDir is 700, which the unprivileged server user could not traverse when we run as root. */
    private static Path traversableTempDir() throws IOException {
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "pgrelay-it-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        return dir;
    }

    /** Live processes whose command line names a path under {@code dir} (the postmasters do: -D DATADIR). */
    private static List<Long> postgresProcessesMentioning(Path dir) throws IOException {
        List<Long> found = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String name = p.getFileName().toString();
                if (!name.matches("\\d+")) {
                    continue;
                }
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
                    if (cmd.contains(dir.toString()) && PgCtl.alive(Long.parseLong(name))) {
                        found.add(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // exited meanwhile
                }
            }
        }
        return found;
    }
}
