package io.pgrelay.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real local PostgreSQL cluster on 127.0.0.1: a primary and N hot standbys streaming from it through physical
 * replication slots. For integration tests and {@code pgrelay demo}; fsync is off, so never keep data in it.
 */
public final class LocalCluster implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LocalCluster.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Set<Integer> PORTS_HANDED_OUT = ConcurrentHashMap.newKeySet();
    private static final org.postgresql.Driver DRIVER = new org.postgresql.Driver();
    private static final String SUPERUSER = "postgres";

    final PgBinaries bins;
    final OsRunner os;
    final PgCtl ctl;
    private final String id;
    private final Path entryDir;
    private final Path baseDir;
    private final boolean tempBase;
    private final Path sockDir;
    private final Path logDir;
    private final PgServer primary;
    private final List<PgServer> standbys;
    private final List<PgServer> servers;
    private final String superuserPassword = randomPassword();
    private final String replicationPassword = randomPassword();
    private final String appUser;
    private final String appPassword;
    private final String appDatabase;
    private final List<PgServer> promoted = new CopyOnWriteArrayList<>();
    private final AtomicBoolean closed = new AtomicBoolean();

    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private int standbys = 2;
        private Path baseDir;
        private final Map<String, String> settings = new LinkedHashMap<>();
        private String appUser = "app";
        private String appPassword = "app";
        private String appDatabase = "app";
        private PgBinaries binaries;
        private boolean useBaseBackup = true;
        private Duration startTimeout = Duration.ofSeconds(60);

        private Builder() {
        }

        /** Number of hot standbys (default 2). */
        public Builder standbys(int n) {
            if (n < 0 || n > 20) {
                throw new IllegalArgumentException("standbys must be 0..20: " + n);
            }
            this.standbys = n;
            return this;
        }

        /** Default: a new temp dir, deleted on close. A given dir is kept (it must be empty or one of ours). */
        public Builder baseDir(Path dir) {
            this.baseDir = Objects.requireNonNull(dir);
            return this;
        }

        /** An extra postgresql.conf line for all servers; the value is quoted for you. */
        public Builder setting(String key, String value) {
            if (!key.matches("[A-Za-z_][A-Za-z0-9_.]*") || key.equalsIgnoreCase("port")) {
                throw new IllegalArgumentException("bad or reserved setting name: " + key);
            }
            if (value.contains("\n") || value.contains("\r")) {
                throw new IllegalArgumentException("setting value must be one line: " + key);
            }
            settings.put(key, Objects.requireNonNull(value));
            return this;
        }

        /** The application role (default app/app), owner of {@link #appDatabase}. */
        public Builder appUser(String user, String password) {
            if (user.equals(SUPERUSER) || user.equals(ClusterInit.REPL_USER)) {
                throw new IllegalArgumentException("reserved role name: " + user);
            }
            this.appUser = user;
            this.appPassword = Objects.requireNonNull(password);
            return this;
        }

        /** Default "app". */
        public Builder appDatabase(String db) {
            if (db.equals("postgres") || db.startsWith("template")) {
                throw new IllegalArgumentException("reserved database name: " + db);
            }
            this.appDatabase = db;
            return this;
        }

        /** Binaries to use instead of {@link PgBinaries#locate()}. */
        public Builder binaries(PgBinaries binaries) {
            this.binaries = Objects.requireNonNull(binaries);
            return this;
        }

        /**
         * false: make standbys by copying the stopped primary's data dir even when pg_basebackup exists (the path
         * taken anyway with binaries that lack it, such as the zonky ones).
         */
        public Builder useBaseBackup(boolean use) {
            this.useBaseBackup = use;
            return this;
        }

        /** How long start() waits for the standbys to stream (default 60 s). */
        public Builder startTimeout(Duration timeout) {
            this.startTimeout = Objects.requireNonNull(timeout);
            return this;
        }

        /** Creates and starts the cluster; returns once all standbys are streaming. */
        public LocalCluster start() throws IOException {
            return LocalCluster.create(this);
        }
    }

    private static LocalCluster create(Builder b) throws IOException {
        long t0 = System.nanoTime();
        PgBinaries bins = b.binaries != null ? b.binaries : PgBinaries.locate();
        if (bins.majorVersion() < 12) {
            throw new IOException(bins + " is too old: LocalCluster needs PostgreSQL 12 or newer");
        }
        OsRunner os = OsRunner.get();
        Path root = Ownership.root(os);
        Ownership.sweep(root, os, bins);
        LocalCluster c = new LocalCluster(b, bins, os, root);
        boolean baseBackup;
        try {
            baseBackup = new ClusterInit(c).run(b.useBaseBackup, b.settings, b.startTimeout);
        } catch (IOException | SQLException | RuntimeException e) {
            c.abort();
            throw new IOException("LocalCluster start failed after " + (System.nanoTime() - t0) / 1_000_000
                    + " ms (kept for inspection: " + c.baseDir + "; removed by a start() after this JVM exits): "
                    + e.getMessage(), e);
        }
        log.info("cluster started in {} ms: {} ({}, standbys by {}, base dir {})",
                (System.nanoTime() - t0) / 1_000_000,
                c.servers.stream().map(PgServer::toString).collect(Collectors.joining(", ")),
                bins, baseBackup ? "pg_basebackup" : "copy", c.baseDir);
        return c;
    }

    private LocalCluster(Builder b, PgBinaries bins, OsRunner os, Path root) throws IOException {
        this.bins = bins;
        this.os = os;
        this.appUser = b.appUser;
        this.appPassword = b.appPassword;
        this.appDatabase = b.appDatabase;
        this.id = "c" + Long.toString(System.currentTimeMillis(), 36) + "-" + Integer.toHexString(RANDOM.nextInt());
        this.entryDir = root.resolve(id);
        Files.createDirectory(entryDir);
        try {
            this.tempBase = b.baseDir == null;
            this.baseDir = tempBase ? entryDir : b.baseDir.toAbsolutePath().normalize();
            if (!tempBase) {
                Ownership.reclaimGivenBase(root, baseDir, bins, os);
            }
            os.mkdir(baseDir, "rwxr-xr-x");
            Ownership.writeMarker(baseDir, id);
            if (os.isRoot()) {
                os.requireTraversable(baseDir);
            }
            // the socket path must stay under the ~107 byte sun_path limit
            Path sock = baseDir.resolve("sock");
            if ((sock + "/.s.PGSQL.65535.lock").length() >= 100) {
                sock = Files.createTempDirectory(Path.of("/tmp"), "pgrelay-sock-");
                Ownership.writeMarker(sock, id);
            }
            this.sockDir = sock;
            os.mkdir(sockDir, "rwx------");
            this.logDir = baseDir.resolve("log");
            os.mkdir(logDir, "rwxr-xr-x");
            this.ctl = new PgCtl(bins, os, baseDir, logDir);
            List<PgServer> all = new ArrayList<>();
            for (int i = 0; i <= b.standbys; i++) {
                String name = i == 0 ? "primary" : "standby" + i;
                all.add(new PgServer(name, freePort(), baseDir.resolve(name), logDir.resolve(name + ".log")));
            }
            this.servers = List.copyOf(all);
            this.primary = servers.get(0);
            this.standbys = servers.subList(1, servers.size());
            Ownership.write(entryDir.resolve(Ownership.OWNER_FILE),
                    Ownership.record(id, baseDir, tempBase, sockDir, servers, bins));
        } catch (IOException | RuntimeException e) {
            OsRunner.deleteTree(entryDir);   // nothing runs yet, and without an owner file no sweep would find it
            throw e;
        }
        Ownership.track(this);
    }

    /** A 127.0.0.1 port that is free now and was not handed out before in this JVM. */
    static int freePort() throws IOException {
        for (int i = 0; i < 100; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                if (PORTS_HANDED_OUT.add(s.getLocalPort())) {
                    return s.getLocalPort();
                }
            }
        }
        throw new IOException("no free port on 127.0.0.1");
    }

    private static String randomPassword() {
        byte[] b = new byte[18];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    static String literal(String s) {
        return "'" + s.replace("'", "''") + "'";
    }

    static String ident(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    public PgServer primary() {
        return primary;
    }

    public List<PgServer> standbys() {
        return standbys;
    }

    /** Primary first, then standby1..N. */
    public List<PgServer> servers() {
        return servers;
    }

    public String superuser() {
        return SUPERUSER;
    }

    public String superuserPassword() {
        return superuserPassword;
    }

    public String appUser() {
        return appUser;
    }

    public String appPassword() {
        return appPassword;
    }

    public String appDatabase() {
        return appDatabase;
    }

    /** The replication role the standbys use ("repl"). */
    public String replicationUser() {
        return ClusterInit.REPL_USER;
    }

    public String replicationPassword() {
        return replicationPassword;
    }

    public Path baseDir() {
        return baseDir;
    }

    Path logDir() {
        return logDir;
    }

    /** Where the servers' Unix sockets are: local connections are trusted, so a test's raw client needs no password. */
    public Path sockDir() {
        return sockDir;
    }

    Path entryDir() {
        return entryDir;
    }

    /** A new JDBC connection as the superuser over TCP (SCRAM). */
    public Connection connect(PgServer s, String database) throws SQLException {
        return connect(s, database, SUPERUSER, superuserPassword);
    }

    /** A new JDBC connection as any role of the cluster, e.g. {@code connect(s, appDatabase(), appUser(), appPassword())}. */
    public Connection connect(PgServer s, String database, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "10");
        p.setProperty("sslmode", "disable");
        p.setProperty("gssEncMode", "disable");
        p.setProperty("ApplicationName", "pgrelay-cluster");
        return DRIVER.connect(s.jdbcUrl(database), p);
    }

    public void execute(PgServer s, String database, String sql) throws SQLException {
        try (Connection c = connect(s, database); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** Runs a query; every value as text (SQL NULL stays null). */
    public List<List<String>> query(PgServer s, String database, String sql) throws SQLException {
        try (Connection c = connect(s, database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            List<List<String>> rows = new ArrayList<>();
            while (rs.next()) {
                List<String> row = new ArrayList<>(md.getColumnCount());
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    row.add(rs.getString(i));
                }
                rows.add(Collections.unmodifiableList(row));
            }
            return Collections.unmodifiableList(rows);
        }
    }

    /** Whether the server's postmaster is alive (from postmaster.pid; no connection needed). */
    public boolean isRunning(PgServer s) {
        return PgCtl.isRunning(own(s).dataDir());
    }

    /** pg_ctl stop -m fast; no-op if the server is not running. */
    public void stop(PgServer s) {
        control(s, "stop", () -> ctl.stop(s, "fast"));
    }

    /** Immediate death (pg_ctl stop -m immediate): no shutdown checkpoint, crash recovery on the next start. */
    public void kill(PgServer s) {
        control(s, "kill", () -> ctl.stop(s, "immediate"));
    }

    /** kill -9 of the postmaster alone, as the OOM killer would do it; its backends notice and exit. */
    public void crash(PgServer s) {
        control(s, "crash", () -> {
            long pid = PgCtl.postmasterPid(s.dataDir());
            signal(List.of(pid), "KILL");
            long deadline = System.nanoTime() + Duration.ofSeconds(PgCtl.WAIT_SECONDS).toNanos();
            while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("postmaster " + pid + " of " + s + " still alive after kill -9");
                }
                PgCtl.sleep(20);
            }
        });
    }

    /** SIGSTOP of the postmaster and every backend: a hung server, its sockets open and nothing answering. */
    public void freeze(PgServer s) {
        control(s, "freeze", () -> signal(processes(s), "STOP"));
    }

    /** SIGCONT of what {@link #freeze} stopped (backends first, then the postmaster). */
    public void thaw(PgServer s) {
        control(s, "thaw", () -> {
            List<Long> pids = processes(s);
            Collections.reverse(pids);
            signal(pids, "CONT");
        });
    }

    /** The postmaster, then its children. */
    private static List<Long> processes(PgServer s) throws IOException {
        long pid = PgCtl.postmasterPid(s.dataDir());
        if (pid <= 0) {
            throw new IOException(s + " is not running");
        }
        List<Long> pids = new ArrayList<>();
        pids.add(pid);
        ProcessHandle.of(pid).ifPresent(h -> h.children().forEach(c -> pids.add(c.pid())));
        return pids;
    }

    private static void signal(List<Long> pids, String signal) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("kill", "-" + signal));
        for (long pid : pids) {
            cmd.add(Long.toString(pid));
        }
        try {
            int rc = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor();
            if (rc != 0) {
                throw new IOException(String.join(" ", cmd) + " failed with exit code " + rc);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while signalling " + pids, e);
        }
    }

    /** Starts a stopped server again (same port); no-op if it runs. */
    public void start(PgServer s) {
        if (!isRunning(s)) {
            control(s, "start", () -> ctl.start(s));
        }
    }

    public void restart(PgServer s) {
        if (isRunning(s)) {
            control(s, "restart", () -> ctl.restart(s));
        } else {
            start(s);
        }
    }

    /** pg_ctl promote, then waits until pg_is_in_recovery() is false. */
    public void promote(PgServer standby) {
        if (!standbys.contains(standby)) {
            throw new IllegalArgumentException(standby + " is not a standby of this cluster");
        }
        if (!isRunning(standby)) {
            throw new IllegalStateException(standby + " is not running");
        }
        control(standby, "promote", () -> {
            ctl.promote(standby);
            long deadline = System.nanoTime() + Duration.ofSeconds(PgCtl.WAIT_SECONDS).toNanos();
            while (inRecovery(standby)) {
                if (System.nanoTime() > deadline) {
                    throw new IOException(standby + " still in recovery after promote; see " + standby.logFile());
                }
                PgCtl.sleep(20);
            }
        });
        promoted.add(standby);
    }

    private interface Op {
        void run() throws IOException;
    }

    private synchronized void control(PgServer s, String what, Op op) {
        own(s);
        if (closed.get()) {
            throw new IllegalStateException("cluster is closed");
        }
        long t0 = System.nanoTime();
        try {
            op.run();
        } catch (IOException e) {
            throw new UncheckedIOException(what + " " + s + " failed: " + e.getMessage(), e);
        }
        log.info("{} {}: done in {} ms", what, s, (System.nanoTime() - t0) / 1_000_000);
    }

    private PgServer own(PgServer s) {
        if (!servers.contains(s)) {
            throw new IllegalArgumentException(s + " is not a server of this cluster");
        }
        return s;
    }

    private boolean inRecovery(PgServer s) throws IOException {
        try (Connection c = connect(s, "postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        } catch (SQLException e) {
            throw new IOException("cannot ask " + s + " whether it is in recovery: " + e.getMessage(), e);
        }
    }

    /**
     * The running server that is out of recovery: the most recently promoted standby that is, else the original
     * primary. IllegalStateException if there is none.
     */
    public PgServer currentPrimary() {
        List<PgServer> order = new ArrayList<>(promoted);
        Collections.reverse(order);
        order.add(primary);
        order.addAll(standbys);
        for (PgServer s : order) {
            try {
                if (isRunning(s) && !inRecovery(s)) {
                    return s;
                }
            } catch (IOException e) {
                // not accepting connections (starting, stopping): not a primary now
            }
        }
        throw new IllegalStateException("no running server of the cluster is out of recovery");
    }

    /**
     * Waits until every running standby that is still in recovery has replayed the WAL that {@link #primary()} (the
     * server they stream from) has written at the time of the call.
     */
    public void awaitReplay(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String lsn;
        try {
            lsn = query(primary, "postgres", "SELECT pg_current_wal_lsn()::text").get(0).get(0);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the WAL position of " + primary + ": " + e.getMessage(), e);
        }
        for (PgServer s : standbys) {
            String last = "?";
            while (isRunning(s)) {
                try {
                    List<String> r = query(s, "postgres", "SELECT pg_is_in_recovery()::text, pg_last_wal_replay_lsn()"
                            + "::text, coalesce(pg_last_wal_replay_lsn() >= " + literal(lsn) + "::pg_lsn, false)::text")
                            .get(0);
                    last = r.get(1);
                    if (r.get(0).equals("false") || r.get(2).equals("true")) {
                        break;
                    }
                } catch (SQLException e) {
                    last = e.getMessage();   // e.g. still starting up: retry
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(s + " has not replayed " + lsn + " within " + timeout
                            + " (at " + last + "); see " + s.logFile());
                }
                PgCtl.sleep(10);
            }
        }
    }

    /**
     * Stops the servers of this cluster (fast, then immediate) and deletes a temp base dir. Idempotent; also run by a
     * JVM shutdown hook.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Ownership.untrack(this);
        long t0 = System.nanoTime();
        boolean allStopped = true;
        List<PgServer> order = new ArrayList<>(servers);
        Collections.reverse(order);   // standbys first: the primary then has no walsenders to drain
        for (PgServer s : order) {
            if (PgCtl.isRunning(s.dataDir())) {
                allStopped &= ctl.stopHard(s.dataDir(), s.name());
            }
        }
        if (!allStopped) {
            log.warn("cluster {}: some servers did not stop; leaving {}", id, baseDir);
            return;
        }
        if (!Files.exists(entryDir)) {
            log.info("cluster {} closed (already swept)", id);
            return;
        }
        try {
            if (tempBase) {
                OsRunner.deleteTree(baseDir);
            }
            if (!sockDir.startsWith(baseDir)) {
                OsRunner.deleteTree(sockDir);
            }
            OsRunner.deleteTree(entryDir);
        } catch (IOException e) {
            log.warn("cluster {}: could not delete its directories: {}", id, e.toString());
        }
        log.info("cluster stopped in {} ms ({})", (System.nanoTime() - t0) / 1_000_000,
                tempBase ? "deleted " + baseDir : "kept " + baseDir);
    }

    /**
     * After a failed start: stop whatever runs and keep the files for inspection. A temp base dir is removed by a
     * sweep once this JVM is gone; a given one is the caller's, and dropping its owner entry lets a retry reuse it.
     */
    private void abort() {
        closed.set(true);
        Ownership.untrack(this);
        boolean allStopped = true;
        for (PgServer s : servers) {
            if (PgCtl.isRunning(s.dataDir())) {
                allStopped &= ctl.stopHard(s.dataDir(), s.name());
            }
        }
        if (allStopped && !tempBase) {
            try {
                if (!sockDir.startsWith(baseDir)) {
                    OsRunner.deleteTree(sockDir);
                }
                OsRunner.deleteTree(entryDir);
            } catch (IOException e) {
                log.warn("cluster {}: could not delete its owner entry: {}", id, e.toString());
            }
        }
    }

    @Override
    public String toString() {
        return "LocalCluster" + servers + " in " + baseDir;
    }
}
