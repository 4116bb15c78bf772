package io.pgrelay.cluster;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** pg_ctl for one cluster's servers, plus postmaster liveness checks that need no subprocess. */
final class PgCtl {
    /** How long pg_ctl waits (-t) for start/stop/promote. */
    static final int WAIT_SECONDS = 60;
    private static final Duration TIMEOUT = Duration.ofSeconds(WAIT_SECONDS + 30);

    /** A server could not start because its port was taken meanwhile: the caller may retry with another port. */
    static final class PortInUseException extends IOException {
        private static final long serialVersionUID = 1L;

        PortInUseException(String message) {
            super(message);
        }
    }

    private final Path pgCtl;
    private final OsRunner os;
    private final Path workDir;
    private final Path logDir;   // command output files; null: discard

    PgCtl(PgBinaries bins, OsRunner os, Path workDir, Path logDir) {
        this.pgCtl = bins.tool("pg_ctl");
        this.os = os;
        this.workDir = workDir;
        this.logDir = logDir;
    }

    private Path out(String server) {
        return logDir == null ? null : logDir.resolve("cmd-" + server + "-pg_ctl.log");
    }

    void start(PgServer s) throws IOException {
        long offset = size(s.logFile());
        Path out = out(s.name());
        int rc = os.exec(List.of(pgCtl.toString(), "-D", s.dataDir().toString(), "-l", s.logFile().toString(),
                "-w", "-t", String.valueOf(WAIT_SECONDS), "start"), Map.of(), workDir, out, TIMEOUT);
        if (rc != 0) {
            String log = OsRunner.tail(s.logFile(), offset);
            String msg = "pg_ctl start of " + s + " failed with exit code " + rc + "; server log " + s.logFile()
                    + ":\n" + log + (out == null ? "" : "--- pg_ctl output (" + out + ") ---\n" + OsRunner.lastRun(out));
            if (log.contains("Address already in use") || log.contains("could not create any TCP/IP sockets")) {
                throw new PortInUseException(msg);
            }
            throw new IOException(msg);
        }
    }

    /** pg_ctl stop with the given mode ("fast" or "immediate"); no-op when the server is not running. */
    void stop(PgServer s, String mode) throws IOException {
        stop(s.dataDir(), s.name(), mode);
    }

    void stop(Path dataDir, String name, String mode) throws IOException {
        if (!isRunning(dataDir)) {
            return;
        }
        int rc = os.exec(List.of(pgCtl.toString(), "-D", dataDir.toString(), "-m", mode, "-w", "-t",
                String.valueOf(WAIT_SECONDS), "stop"), Map.of(), workDir, out(name), TIMEOUT);
        if (rc != 0 && isRunning(dataDir)) {
            throw new IOException("pg_ctl stop -m " + mode + " of " + name + " (" + dataDir + ") failed with exit code "
                    + rc + (logDir == null ? "" : ": " + OsRunner.lastRun(out(name))));
        }
    }

    /**
     * Stops a server whatever it takes: fast, then immediate, then SIGKILL of the postmaster. Never throws; returns
     * false if a postmaster is still alive afterwards.
     */
    boolean stopHard(Path dataDir, String name) {
        for (String mode : List.of("fast", "immediate")) {
            try {
                stop(dataDir, name, mode);
                return true;
            } catch (IOException | RuntimeException e) {
                // try the next, harder way
            }
        }
        long pid = postmasterPid(dataDir);
        if (pid > 0 && isPostgres(pid)) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            for (int i = 0; i < 50 && alive(pid); i++) {
                sleep(100);
            }
        }
        return !isRunning(dataDir);
    }

    void restart(PgServer s) throws IOException {
        long offset = size(s.logFile());
        Path out = out(s.name());
        int rc = os.exec(List.of(pgCtl.toString(), "-D", s.dataDir().toString(), "-l", s.logFile().toString(),
                "-m", "fast", "-w", "-t", String.valueOf(WAIT_SECONDS), "restart"), Map.of(), workDir, out, TIMEOUT);
        if (rc != 0) {
            throw new IOException("pg_ctl restart of " + s + " failed with exit code " + rc + "; server log "
                    + s.logFile() + ":\n" + OsRunner.tail(s.logFile(), offset));
        }
    }

    void promote(PgServer s) throws IOException {
        os.run(List.of(pgCtl.toString(), "-D", s.dataDir().toString(), "-w", "-t", String.valueOf(WAIT_SECONDS),
                "promote"), Map.of(), workDir, out(s.name()), TIMEOUT);
    }

    /** The postmaster pid from postmaster.pid, or -1. */
    static long postmasterPid(Path dataDir) {
        try {
            List<String> lines = Files.readAllLines(dataDir.resolve("postmaster.pid"), StandardCharsets.UTF_8);
            return lines.isEmpty() ? -1 : Long.parseLong(lines.get(0).trim());
        } catch (NoSuchFileException e) {
            return -1;
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /** True if postmaster.pid names a live postgres process (a stale pid file after kill -9 does not count). */
    static boolean isRunning(Path dataDir) {
        long pid = postmasterPid(dataDir);
        return pid > 0 && alive(pid) && isPostgres(pid);
    }

    /** Alive and not a zombie: containers often have a PID 1 that does not reap orphans. */
    static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.UTF_8);
            int p = stat.lastIndexOf(')');
            char state = p > 0 && p + 2 < stat.length() ? stat.charAt(p + 2) : '?';
            return state != 'Z' && state != 'X';
        } catch (IOException e) {
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) && !Files.isDirectory(Path.of("/proc"));
        }
    }

    /** Guards against pid reuse: the process must be a postgres/postmaster binary. */
    static boolean isPostgres(long pid) {
        try {
            byte[] cmd = Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline"));
            String first = new String(cmd, StandardCharsets.UTF_8).split("\0", 2)[0];
            return first.endsWith("postgres") || first.endsWith("postmaster") || first.startsWith("postgres:");
        } catch (IOException e) {
            return !Files.isDirectory(Path.of("/proc"));
        }
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return 0;
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
