package io.pgrelay.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgrelay.cluster.PgBinaries;
import io.pgrelay.cluster.ToolUser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The compose cluster's life, played by the PostgreSQL image's own scripts against local data directories: a
 * primary and two standbys from pg-entrypoint, the shipped pgrelay.toml served by the real pgrelay.jar, backups, a
 * failover with pg-promote, the split-brain guard, pg_rewind of the former primary, retiring a standby, and the
 * refusals. Each state is checked with SQL. The steps build on each other; after a failure the rest are skipped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(StopAfterFailure.class)
class ClusterScriptsIT {
    private static final String SYNC = "ANY 1 (*)";

    private Scripts s;
    private Node primary;
    private Node standby1;
    private Node standby2;
    private long t0;

    @BeforeAll
    void setUp() throws IOException {
        t0 = System.nanoTime();
        PgBinaries bins = PgBinaries.locate();
        for (String tool : List.of("pg_basebackup", "pg_rewind", "pg_controldata", "pg_isready", "psql", "pg_config")) {
            assumeTrue(bins.has(tool), bins + " has no " + tool + " (the embedded binaries lack the client tools)");
        }
        Process p = new ProcessBuilder(bins.tool("pg_config").toString(), "--pkglibdir").start();
        Path pkglib = Path.of(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
        boolean cron = Files.isRegularFile(pkglib.resolve("pg_cron.so"));
        String install = "pg_cron is not installed for " + bins + ": install the Debian package postgresql-"
                + bins.majorVersion() + "-cron (.ci/run does)";
        assertThat(cron || !"true".equalsIgnoreCase(System.getenv("CI"))).as(install).isTrue();
        assumeTrue(cron, install);
        s = new Scripts(bins, "pgr-dock-");
        primary = s.node("primary").role("primary");
        standby1 = s.node("standby1").role("standby").following(primary);
        standby2 = s.node("standby2").role("standby").following(primary);
        for (Node n : List.of(primary, standby1, standby2)) {
            n.env.put("PG_SYNCHRONOUS_STANDBY_NAMES", SYNC);
        }
    }

    @AfterAll
    void tearDown() {
        if (s != null) {
            s.close();
        }
        System.out.printf("ClusterScriptsIT: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    @Test
    @Order(1)
    void primaryInitializesWithRolesSlotsHbaAndPgCron() throws Exception {
        s.startServer(primary);

        assertThat(primary.tail()).contains("initializing a new primary",
                "created replication slots for the other nodes: standby1, standby2",
                "pg_cron: job delete-expired-sessions (0 3 * * 0)",
                "starting PostgreSQL as primary (node primary, port " + primary.port + ", TLS off, pg_cron on)");
        assertThat(primary.query("SELECT rolname, rolreplication::text, rolsuper::text FROM pg_roles"
                + " WHERE rolname IN ('replicator', 'app') ORDER BY 1"))
                .containsExactly(List.of("app", "false", "false"), List.of("replicator", "true", "false"));
        assertThat(primary.value("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"))
                .isEqualTo("app");
        assertThat(primary.query("SELECT slot_name, slot_type FROM pg_replication_slots ORDER BY 1"))
                .containsExactly(List.of("standby1", "physical"), List.of("standby2", "physical"));
        assertThat(primary.query("SELECT name, setting FROM pg_settings WHERE name IN ('wal_log_hints',"
                + " 'full_page_writes', 'wal_level', 'synchronous_standby_names', 'password_encryption', 'ssl',"
                + " 'shared_preload_libraries', 'cron.database_name') ORDER BY 1"))
                .containsExactly(List.of("cron.database_name", "app"), List.of("full_page_writes", "on"),
                        List.of("password_encryption", "scram-sha-256"), List.of("shared_preload_libraries", "pg_cron"),
                        List.of("ssl", "off"), List.of("synchronous_standby_names", SYNC),
                        List.of("wal_level", "replica"), List.of("wal_log_hints", "on"));
        assertThat(primary.query("SELECT type, array_to_string(database, ','), array_to_string(user_name, ','),"
                + " coalesce(address, ''), auth_method FROM pg_hba_file_rules ORDER BY line_number"))
                .containsExactly(List.of("local", "all", "all", "", "trust"),
                        List.of("local", "replication", "all", "", "trust"),
                        List.of("host", "replication", "replicator", "all", "scram-sha-256"),
                        List.of("host", "all", "all", "all", "scram-sha-256"));

        // pg_cron: the example job, run by the application user in its database, and a live scheduler
        assertThat(primary.query("app", "SELECT schedule, command, database, username FROM cron.job"
                + " WHERE jobname = 'delete-expired-sessions'"))
                .containsExactly(List.of("0 3 * * 0", "DELETE FROM sessions WHERE expires_at < now()", "app", "app"));
        assertThat(primary.value("app", "SELECT tableowner FROM pg_tables WHERE tablename = 'sessions'"))
                .isEqualTo("app");
        eventually(Duration.ofSeconds(10), () -> assertThat(primary.value(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_cron scheduler'"
                        + " OR backend_type = 'pg_cron launcher'")).isEqualTo("1"));

        // the application logs in over TCP with SCRAM (no writes yet: with a synchronous standby setting a commit
        // waits for a standby, and there is none before step 2)
        try (Connection c = primary.connect("app", "app", Node.APP_PASSWORD, "disable");
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_user")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getString(1)).isEqualTo("app");
        }
    }

    @Test
    @Order(2)
    void standbysCloneWithTheirSlotsAndStreamSynchronously() throws Exception {
        s.startServer(standby1);
        s.startServer(standby2);

        assertThat(standby1.tail()).contains("cloning 127.0.0.1:" + primary.port + " into " + standby1.dataDir
                + " with pg_basebackup (slot standby1)", "starting PostgreSQL as standby of 127.0.0.1:" + primary.port);
        eventually(Duration.ofSeconds(20), () -> assertThat(primary.query(
                "SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1"))
                .containsExactly(List.of("standby1", "streaming", "quorum"),
                        List.of("standby2", "streaming", "quorum")));
        assertThat(primary.query("SELECT slot_name, active::text FROM pg_replication_slots ORDER BY 1"))
                .containsExactly(List.of("standby1", "true"), List.of("standby2", "true"));
        for (Node n : List.of(standby1, standby2)) {
            assertThat(n.inRecovery()).as(n + " in recovery").isTrue();
            assertThat(n.value("SHOW primary_slot_name")).isEqualTo(n.name);
            assertThat(n.value("SHOW primary_conninfo")).contains("application_name=" + n.name,
                    "port=" + primary.port, "user='replicator'");
            // pg_basebackup -R wrote its primary_conninfo here; the entrypoint's (pgrelay.conf) must be the one used
            assertThat(Files.readString(n.dataDir.resolve("postgresql.auto.conf"))).doesNotContain("primary_conninfo");
        }
        try (Connection c = primary.connect("app", "app", Node.APP_PASSWORD, "disable");
             Statement st = c.createStatement()) {
            st.execute("INSERT INTO sessions (id, user_id, expires_at) VALUES ('expired', 1, now() - interval '1 day'),"
                    + " ('valid', 2, now() + interval '1 day'), ('replicated', 3, now() + interval '1 day')");
            // the pg_cron job's command, as the application user the job runs as
            assertThat(st.executeUpdate("DELETE FROM sessions WHERE expires_at < now()")).isEqualTo(1);
        }
        for (Node n : List.of(standby1, standby2)) {
            eventually(Duration.ofSeconds(10), () -> assertThat(n.value("app",
                    "SELECT string_agg(id, ',' ORDER BY id) FROM sessions")).isEqualTo("replicated,valid"));
            // pg_cron is loaded on the standbys too, so the jobs run wherever the primary is after a failover
            assertThat(n.value("SHOW shared_preload_libraries")).isEqualTo("pg_cron");
        }
    }

    @Test
    @Order(3)
    void pgrelayServesTheImageConfigAndPassesItsHealthCheck() throws Exception {
        int port = Scripts.freePort();
        int metricsPort = Scripts.freePort();
        // the certificates compose's certs service writes (pgrelay.toml's tls_certificate / tls_private_key)
        Path certs = s.base.resolve("pgrelay-certs");
        Scripts.Result made = PgrelayJar.composeCerts(certs);
        assertThat(made.exitCode()).as(made.toString()).isZero();
        // docker/pgrelay/pgrelay.toml as compose mounts it; only the service names, ports and /certs differ here
        String toml = PgrelayJar.imageConfig(port, metricsPort, certs, Map.of(
                primary.name, "127.0.0.1\", " + primary.port,
                standby1.name, "127.0.0.1\", " + standby1.port,
                standby2.name, "127.0.0.1\", " + standby2.port));
        // The image's ports as whole numbers: the temporary directory's random name may hold the digits 5432.
        assertThat(toml).doesNotContainPattern("(?<![0-9])[56]432(?![0-9])").doesNotContain("\"/certs/");
        Path config = s.base.resolve("pgrelay.toml");
        Files.writeString(config, toml);
        Path log = s.base.resolve("pgrelay.log");
        Process pgrelay = PgrelayJar.run(config, log);
        Map<String, String> probe = Map.of("PGRELAY_HEALTH_PORT", Integer.toString(metricsPort),
                "PGRELAY_HEALTH_TIMEOUT", "2");
        try {
            PgrelayJar.awaitHealthy(pgrelay, probe, log);
            Properties p = new Properties();
            p.setProperty("user", "app");
            p.setProperty("password", Node.APP_PASSWORD);
            // tls_mode "prefer": the driver's default sslmode=prefer gets TLS from pgrelay
            p.setProperty("sslmode", "require");
            try (Connection c = new org.postgresql.Driver().connect("jdbc:postgresql://127.0.0.1:" + port + "/app", p);
                 Statement st = c.createStatement();
                 // Reads may go to a standby (the image routes them); the hint asks for the primary.
                 ResultSet rs = st.executeQuery("/* pgrelay: primary */ SELECT inet_server_port(), "
                         + "pg_is_in_recovery(), count(*) FROM sessions")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).as("served by the primary").isEqualTo(primary.port);
                assertThat(rs.getBoolean(2)).isFalse();
                assertThat(rs.getInt(3)).isEqualTo(2);
            }
        } finally {
            PgrelayJar.stop(pgrelay);
        }
        Scripts.Result down = PgrelayHealthcheckTest.probe(probe);
        assertThat(down.exitCode()).isEqualTo(1);
        assertThat(down.output()).contains("nothing accepts connections on 127.0.0.1:" + metricsPort);
    }

    @Test
    @Order(4)
    void operatorScriptsRefuseWhatWouldBeWrong() throws Exception {
        Map<String, String> upstreamStandby1 = Map.of("PG_PRIMARY_HOST", "127.0.0.1",
                "PG_PRIMARY_PORT", Integer.toString(standby1.port));
        refused(s.run(primary, "pg-promote"), "primary is already a primary (not in recovery): nothing to promote");
        refused(s.run(standby1, "pg-promote"), "the primary 127.0.0.1:" + primary.port
                + " is still up and accepting writes: promoting standby1 now would make two primaries");
        assertThat(standby1.inRecovery()).isTrue();
        refused(s.run(primary, "pg-retire-standby", "standby2"), "standby2 is still streaming from primary");
        refused(s.run(primary, "pg-retire-standby", "nosuch"),
                "primary has no replication slot named nosuch (slots: standby1, standby2)");
        refused(s.run(standby1, "pg-retire-standby", "standby2"), "standby1 is a standby: retire standby2 on the primary");
        refused(s.run(primary, upstreamStandby1, "pg-rejoin"), "PostgreSQL is running on " + primary.dataDir);
        Path used = s.base.resolve("backups/used");
        Files.createDirectories(used);
        Files.writeString(used.resolve("something"), "x");
        refused(s.run(primary, "pg-base-backup", used.toString()), used + " exists and is not empty");
        refused(s.entrypointExpectingExit(primary, Map.of("PG_ROLE", "replica")),
                "PG_ROLE must be primary or standby, not \"replica\"");
        Scripts.Result usage = s.run(primary, "pg-promote", "--now");
        assertThat(usage.exitCode()).as(usage.toString()).isEqualTo(2);
        assertThat(usage.output()).contains("usage: pg-promote [--force]");
        // nothing changed
        assertThat(primary.inRecovery()).isFalse();
        assertThat(primary.value("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")).isEqualTo("2");
    }

    @Test
    @Order(5)
    void baseBackupsAreVerifiedAndRestorable() throws Exception {
        Scripts.Result fromPrimary = s.run(primary, "pg-base-backup");
        assertThat(fromPrimary.exitCode()).as(fromPrimary.toString()).isZero();
        assertThat(fromPrimary.output()).containsPattern("base backup of primary \\(primary\\) done: "
                + s.base.resolve("backups") + "/base-\\d{8}T\\d{6}Z, .*, verified with pg_verifybackup");

        Path backup = s.base.resolve("backups/from-standby2");
        Scripts.Result fromStandby = s.run(standby2, "pg-base-backup", backup.toString());
        assertThat(fromStandby.exitCode()).as(fromStandby.toString()).isZero();
        assertThat(fromStandby.output()).contains("base backup of standby2 (standby) done: " + backup,
                "verified with pg_verifybackup");

        // restore: start the copy as a server of its own (other port and socket) and read the data back
        Node restored = s.node("restored");
        Files.delete(restored.dataDir);
        Files.move(backup, restored.dataDir);
        List<String> ctl = List.of(s.bins.tool("pg_ctl").toString(), "-D", restored.dataDir.toString(), "-w", "-t",
                "60", "-l", restored.log.toString(), "-o", "-p " + restored.port + " -c unix_socket_directories="
                        + restored.sockDir + " -c listen_addresses=127.0.0.1", "start");
        Files.createFile(restored.log);
        ToolUser.own(restored.log);   // pg_ctl -l writes it as the postgres user
        Process p = new ProcessBuilder(ToolUser.command(ctl)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out + restored.tail()).isZero();
        try {
            assertThat(restored.value("app", "SELECT string_agg(id, ',' ORDER BY id) FROM sessions"))
                    .isEqualTo("replicated,valid");
        } finally {
            s.stopServer(restored, "immediate");
        }
    }

    @Test
    @Order(6)
    void failoverPromotesAStandbyAndKeepsSlotsForTheOthers() throws Exception {
        primary.execute("app", "INSERT INTO sessions (id, expires_at) VALUES ('before-failover', now() + interval '1 day')");
        eventually(Duration.ofSeconds(10), () -> assertThat(standby1.value("app",
                "SELECT count(*) FROM sessions WHERE id = 'before-failover'")).isEqualTo("1"));
        s.stopServer(primary, "immediate");   // the primary dies

        Scripts.Result r = s.run(standby1, "pg-promote");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.output()).contains("promoting standby1 (was a standby of 127.0.0.1:" + primary.port + ")",
                "standby1 is now the primary, on timeline 2",
                "replication slots on standby1: primary, standby2 (created now: primary, standby2)");
        assertThat(standby1.inRecovery()).isFalse();
        assertThat(standby1.value("SELECT timeline_id FROM pg_control_checkpoint()")).isEqualTo("2");
        assertThat(standby1.query("SELECT slot_name FROM pg_replication_slots ORDER BY 1"))
                .containsExactly(List.of("primary"), List.of("standby2"));
        refused(s.run(standby1, "pg-promote"), "standby1 is already a primary");
    }

    @Test
    @Order(7)
    void theOtherStandbyFollowsTheNewPrimaryAfterARestart() throws Exception {
        s.stopServer(standby2, "fast");
        standby2.following(standby1);   // UPSTREAM_HOST=standby1 in .env, then docker compose up -d standby2
        s.startServer(standby2);
        assertThat(standby2.tail()).contains("starting PostgreSQL as standby of 127.0.0.1:" + standby1.port);
        eventually(Duration.ofSeconds(20), () -> assertThat(standby1.query(
                "SELECT application_name, state, sync_state FROM pg_stat_replication"))
                .containsExactly(List.of("standby2", "streaming", "quorum")));
        // a commit needs a synchronous standby (ANY 1): standby2 provides it
        standby1.execute("app", "INSERT INTO sessions (id, expires_at) VALUES ('after-failover', now() + interval '1 day')");
        eventually(Duration.ofSeconds(10), () -> assertThat(standby2.value("app",
                "SELECT count(*) FROM sessions WHERE id IN ('before-failover', 'after-failover')")).isEqualTo("2"));
    }

    @Test
    @Order(8)
    void aPromotedServerRestartedWithItsOldRoleRefusesToBeRewoundToTheOldPrimary() throws Exception {
        // the worst case after a failover: the old primary comes back as a primary (its role still says so) and the
        // promoted standby1 restarts with its old settings (standby of "primary")
        s.startServer(primary);
        assertThat(primary.inRecovery()).isFalse();
        s.stopServer(standby1, "fast");
        Scripts.Result r = s.entrypointExpectingExit(standby1, Map.of("PG_PRIMARY_HOST", "127.0.0.1",
                "PG_PRIMARY_PORT", Integer.toString(primary.port)));
        refused(r, standby1.dataDir + " is on timeline 2, newer than 127.0.0.1:" + primary.port
                + " (timeline 1): it looks like the latest primary, refusing to rewind it");
        assertThat(r.output()).contains("was a primary and PG_ROLE=standby: rejoining");

        // the operator fixes the roles (PRIMARY_ROLE=standby, STANDBY1_ROLE=primary): standby1 is intact
        s.stopServer(primary, "fast");
        standby1.role("primary");
        s.startServer(standby1);
        assertThat(standby1.inRecovery()).isFalse();
        assertThat(standby1.value("app", "SELECT count(*) FROM sessions WHERE id = 'after-failover'")).isEqualTo("1");
        eventually(Duration.ofSeconds(20), () -> assertThat(standby1.query(
                "SELECT application_name, state FROM pg_stat_replication"))
                .containsExactly(List.of("standby2", "streaming")));
    }

    @Test
    @Order(9)
    void theFormerPrimaryRejoinsWithPgRewindWithoutAFullCopy() throws Exception {
        refused(s.run(primary, Map.of("PG_PRIMARY_HOST", "127.0.0.1", "PG_PRIMARY_PORT",
                Integer.toString(standby2.port)), "pg-rejoin"), "127.0.0.1:" + standby2.port + " is a standby (in recovery)");

        primary.role("standby").following(standby1);
        Scripts.Result r = s.run(primary, "pg-rejoin");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.output()).contains(
                "rewinding " + primary.dataDir + " (timeline 1) against 127.0.0.1:" + standby1.port + " (timeline 2)",
                "pg_rewind: servers diverged at WAL location", "pg_rewind: Done!",
                "primary (" + primary.dataDir + ") is now a standby of 127.0.0.1:" + standby1.port + " with slot primary");
        s.startServer(primary);

        assertThat(primary.inRecovery()).isTrue();
        // pg_rewind left out the slots it had as a primary: they would pin WAL here for nobody
        assertThat(primary.value("SELECT count(*) FROM pg_replication_slots")).isEqualTo("0");
        eventually(Duration.ofSeconds(20), () -> assertThat(standby1.query(
                "SELECT application_name, state, sync_state FROM pg_stat_replication ORDER BY 1"))
                .containsExactly(List.of("primary", "streaming", "quorum"), List.of("standby2", "streaming", "quorum")));
        standby1.execute("app", "INSERT INTO sessions (id, expires_at) VALUES ('after-rejoin', now() + interval '1 day')");
        for (Node n : List.of(primary, standby2)) {
            eventually(Duration.ofSeconds(10), () -> assertThat(n.value("app",
                    "SELECT string_agg(id, ',' ORDER BY id) FROM sessions"))
                    .isEqualTo("after-failover,after-rejoin,before-failover,replicated,valid"));
        }
    }

    @Test
    @Order(10)
    void retiringAStandbyDropsItsSlot() throws Exception {
        refused(s.run(standby1, "pg-retire-standby", "standby2"), "standby2 is still streaming from standby1");
        s.stopServer(standby2, "fast");
        Scripts.Result r = s.run(standby1, "pg-retire-standby", "standby2");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.output()).contains("retired standby2: dropped its replication slot on standby1 (it held WAL from");
        assertThat(standby1.query("SELECT slot_name, active::text FROM pg_replication_slots"))
                .containsExactly(List.of("primary", "true"));
        refused(s.run(standby1, "pg-retire-standby", "standby2"), "standby1 has no replication slot named standby2");
        // commits go on: the rejoined former primary is the synchronous standby now
        standby1.execute("app", "INSERT INTO sessions (id, expires_at) VALUES ('after-retire', now() + interval '1 day')");
        // a standby's data with PG_ROLE=primary is not silently promoted
        refused(s.entrypointExpectingExit(standby2, Map.of("PG_ROLE", "primary")),
                standby2.dataDir + " is a standby but PG_ROLE=primary: start it as a standby and promote it with pg-promote");
    }

    @Test
    @Order(11)
    void statusTellsEachServersRole() throws Exception {
        Scripts.Result onPrimary = s.run(standby1, "pg-status");
        assertThat(onPrimary.exitCode()).as(onPrimary.toString()).isZero();
        assertThat(onPrimary.output()).contains("standby1: primary, timeline 2, WAL at").containsPattern(
                "primary\\s+\\| 127\\.0\\.0\\.1\\s+\\| streaming \\| quorum");
        Scripts.Result onStandby = s.run(primary, "pg-status");
        assertThat(onStandby.exitCode()).as(onStandby.toString()).isZero();
        assertThat(onStandby.output()).contains("primary: standby, receiving from 127.0.0.1:" + standby1.port
                + " (streaming)");
        refused(s.run(standby2, "pg-status"), "PostgreSQL is not running on " + standby2.dataDir);
    }

    private static void refused(Scripts.Result r, String message) {
        assertThat(r.exitCode()).as("exit code of a refusal:\n%s", r.output()).isEqualTo(1);
        assertThat(r.output()).contains(message);
    }

    interface Check {
        void run() throws Exception;
    }

    /** Retries a check until it passes or the time is up (then its last failure is thrown). */
    static void eventually(Duration timeout, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                check.run();
                return;
            } catch (AssertionError | java.sql.SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
            Scripts.sleep(100);
        }
    }
}
