package io.pgrelay.cluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Creates a new cluster's servers: initdb, configuration, roles, standbys, and waits for streaming. */
final class ClusterInit {
    private static final Logger log = LoggerFactory.getLogger(ClusterInit.class);
    static final String REPL_USER = "repl";
    static final String PORT_FILE = "pgrelay-port.conf";
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(180);
    private static final int PORT_ATTEMPTS = 5;

    private final LocalCluster c;
    private final PgBinaries bins;
    private final OsRunner os;
    private final PgCtl ctl;

    ClusterInit(LocalCluster c) {
        this.c = c;
        this.bins = c.bins;
        this.os = c.os;
        this.ctl = c.ctl;
    }

    /** Returns true if the standbys were made with pg_basebackup, false if copied from the stopped primary. */
    boolean run(boolean useBaseBackup, Map<String, String> settings, Duration timeout) throws IOException, SQLException {
        PgServer primary = c.primary();
        initdb(primary);
        configurePrimary(primary, settings);
        startWithPortRetry(primary);
        createRolesAndSlots(primary);
        boolean baseBackup = useBaseBackup && bins.has("pg_basebackup");
        if (baseBackup) {
            for (PgServer s : c.standbys()) {
                baseBackup(primary, s);
                configureStandby(primary, s);
                startWithPortRetry(s);
            }
        } else if (!c.standbys().isEmpty()) {
            // A copy of a cleanly stopped data dir is a valid standby: it starts from the shutdown checkpoint.
            ctl.stop(primary, "fast");
            for (PgServer s : c.standbys()) {
                copyDataDir(primary, s);
            }
            startWithPortRetry(primary);
            for (PgServer s : c.standbys()) {
                configureStandby(primary, s);
                startWithPortRetry(s);
            }
        }
        awaitStreaming(primary, timeout);
        return baseBackup;
    }

    private Path out(String server, String tool) {
        return c.logDir().resolve("cmd-" + server + "-" + tool + ".log");
    }

    private void initdb(PgServer primary) throws IOException {
        Path pwfile = c.baseDir().resolve(".pwfile");
        os.write(pwfile, c.superuserPassword() + "\n", false);
        List<String> cmd = new ArrayList<>(List.of(bins.tool("initdb").toString(), "-D", primary.dataDir().toString(),
                "-U", c.superuser(), "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-locale",
                "--pwfile=" + pwfile, "-N"));   // -N: no fsync, the cluster is throwaway
        if (bins.majorVersion() >= 14) {
            cmd.add("--no-instructions");
        }
        try {
            os.run(cmd, Map.of(), c.baseDir(), out("primary", "initdb"), TOOL_TIMEOUT);
        } finally {
            Files.deleteIfExists(pwfile);
        }
    }

    private void configurePrimary(PgServer primary, Map<String, String> settings) throws IOException {
        int senders = Math.max(10, 3 * c.standbys().size() + 2);   // each pg_basebackup -X stream needs two
        StringBuilder conf = new StringBuilder()
                .append("\n# ---- pgrelay LocalCluster ----\n")
                .append("listen_addresses = '127.0.0.1'\n")
                .append("include '").append(PORT_FILE).append("'\n")
                .append("unix_socket_directories = '").append(c.sockDir()).append("'\n")
                .append("password_encryption = 'scram-sha-256'\n")
                .append("max_connections = 200\n")
                .append("shared_buffers = '32MB'\n")
                .append("wal_level = replica\n")
                .append("max_wal_senders = ").append(senders).append('\n')
                .append("max_replication_slots = ").append(Math.max(10, c.standbys().size() + 4)).append('\n')
                .append("hot_standby = on\n")
                .append("# standbys reconnect quickly after their primary restarts (default 5s)\n")
                .append("wal_retrieve_retry_interval = '200ms'\n")
                .append("# throwaway test cluster: crash safety is irrelevant, and these make initdb/checkpoints fast\n")
                .append("fsync = off\n")
                .append("full_page_writes = off\n")
                .append("logging_collector = off\n")
                .append("log_line_prefix = '%m [%p] %q%u@%d '\n");
        settings.forEach((k, v) -> conf.append(k).append(" = ").append(LocalCluster.literal(v)).append('\n'));
        os.write(primary.dataDir().resolve("postgresql.conf"), conf.toString(), true);
        os.write(primary.dataDir().resolve("pg_hba.conf"), ""
                + "# TYPE  DATABASE     USER  ADDRESS        METHOD\n"
                + "local   all          all                  trust\n"
                + "local   replication  all                  trust\n"
                + "host    replication  " + REPL_USER + "  127.0.0.1/32   scram-sha-256\n"
                + "host    all          all   127.0.0.1/32   scram-sha-256\n", false);
        writePort(primary);
    }

    private void writePort(PgServer s) throws IOException {
        os.write(s.dataDir().resolve(PORT_FILE), "port = " + s.port() + "\n", false);
    }

    /** Starts a server; if its port was taken since we picked it, picks another (before anyone knows the port). */
    private void startWithPortRetry(PgServer s) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                ctl.start(s);
                return;
            } catch (PgCtl.PortInUseException e) {
                if (attempt >= PORT_ATTEMPTS) {
                    throw e;
                }
                int old = s.port();
                s.port(LocalCluster.freePort());
                writePort(s);
                log.warn("port {} of {} was taken, retrying on port {}", old, s.name(), s.port());
            }
        }
    }

    private void createRolesAndSlots(PgServer primary) throws SQLException {
        try (Connection conn = c.connect(primary, "postgres"); Statement st = conn.createStatement()) {
            st.execute("CREATE ROLE " + REPL_USER + " LOGIN REPLICATION PASSWORD "
                    + LocalCluster.literal(c.replicationPassword()));
            st.execute("CREATE ROLE " + LocalCluster.ident(c.appUser()) + " LOGIN PASSWORD "
                    + LocalCluster.literal(c.appPassword()));
            st.execute("CREATE DATABASE " + LocalCluster.ident(c.appDatabase()) + " OWNER "
                    + LocalCluster.ident(c.appUser()));
            for (PgServer s : c.standbys()) {
                // reserve WAL now: the copied standbys start from a checkpoint taken after this
                st.execute("SELECT pg_create_physical_replication_slot(" + LocalCluster.literal(s.name()) + ", true)");
            }
        }
    }

    private void baseBackup(PgServer primary, PgServer s) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(bins.tool("pg_basebackup").toString(), "-h", primary.host(),
                "-p", String.valueOf(primary.port()), "-U", REPL_USER, "-w", "-D", s.dataDir().toString(),
                "-S", s.name(), "-X", "stream", "-c", "fast", "-N"));
        if (bins.majorVersion() >= 13) {
            cmd.add("--no-manifest");
        }
        // primary_conninfo is written by configureStandby() (not -R) so both standby paths configure identically
        os.run(cmd, Map.of("PGPASSWORD", c.replicationPassword()), c.baseDir(), out(s.name(), "pg_basebackup"),
                TOOL_TIMEOUT);
    }

    private void copyDataDir(PgServer primary, PgServer s) throws IOException {
        os.run(List.of("cp", "-a", primary.dataDir().toString(), s.dataDir().toString()), Map.of(), c.baseDir(),
                out(s.name(), "cp"), TOOL_TIMEOUT);
        // the primary's slots would pin WAL on the standby forever
        try (Stream<Path> slots = Files.list(s.dataDir().resolve("pg_replslot"))) {
            for (Path slot : (Iterable<Path>) slots::iterator) {
                OsRunner.deleteTree(slot);
            }
        }
        Files.deleteIfExists(s.dataDir().resolve("postmaster.opts"));
    }

    private void configureStandby(PgServer primary, PgServer s) throws IOException {
        writePort(s);
        os.write(s.dataDir().resolve("standby.signal"), "", false);
        String conninfo = "host=" + primary.host() + " port=" + primary.port() + " user=" + REPL_USER
                + " password=" + c.replicationPassword() + " application_name=" + s.name() + " connect_timeout=5";
        os.write(s.dataDir().resolve("postgresql.auto.conf"), "primary_conninfo = " + LocalCluster.literal(conninfo)
                + "\nprimary_slot_name = " + LocalCluster.literal(s.name()) + "\n", true);
    }

    private void awaitStreaming(PgServer primary, Duration timeout) throws IOException, SQLException {
        int want = c.standbys().size();
        long deadline = System.nanoTime() + timeout.toNanos();
        int streaming = 0;
        try (Connection conn = c.connect(primary, "postgres"); Statement st = conn.createStatement()) {
            while (true) {
                try (ResultSet rs = st.executeQuery(
                        "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) {
                    rs.next();
                    streaming = rs.getInt(1);
                }
                if (streaming >= want) {
                    return;
                }
                for (PgServer s : c.standbys()) {
                    if (!PgCtl.isRunning(s.dataDir())) {
                        throw new IOException(s.name() + " died while starting; server log " + s.logFile() + ":\n"
                                + OsRunner.tail(s.logFile(), 0));
                    }
                }
                if (System.nanoTime() > deadline) {
                    break;
                }
                PgCtl.sleep(20);
            }
        }
        StringBuilder msg = new StringBuilder("only " + streaming + " of " + want + " standbys streaming after "
                + timeout.toSeconds() + " s; see the server logs in " + c.logDir());
        for (PgServer s : c.servers()) {
            msg.append("\n--- ").append(s.logFile()).append(" ---\n").append(OsRunner.tail(s.logFile(), 0));
        }
        throw new IOException(msg.toString());
    }
}
