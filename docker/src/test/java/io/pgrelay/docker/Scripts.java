package io.pgrelay.docker;

import io.pgrelay.cluster.PgBinaries;
import io.pgrelay.cluster.ToolUser;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Runs the PostgreSQL image's scripts ({@code docker/postgres/bin}) the way the container does, with the local
 * binaries: as the {@code postgres} OS user when the JVM is root (or, with {@link #startServerAsRoot}, as root so
 * that the entrypoint's own privilege drop is exercised).
 */
final class Scripts {
    private static final Set<Integer> PORTS = new HashSet<>();

    final PgBinaries bins;
    final Path base;
    private final List<Node> nodes = new ArrayList<>();

    /** The outcome of one script run: exit code and everything it printed (stdout and stderr together). */
    record Result(int exitCode, String output) {
        @Override
        public String toString() {
            return "exit " + exitCode + ":\n" + output;
        }
    }

    Scripts(PgBinaries bins, String prefix) throws IOException {
        this.bins = bins;
        // short: unix socket paths must stay under ~107 bytes; world-traversable: the postgres user walks it
        this.base = Files.createTempDirectory(Path.of("/tmp"), prefix);
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        ToolUser.mkdir(base.resolve("backups"), "rwx------");
    }

    static Path repoRoot() {
        return Path.of(System.getProperty("pgrelay.repo.root", "..")).toAbsolutePath().normalize();
    }

    static Path binDir() {
        return repoRoot().resolve("docker/postgres/bin");
    }

    static synchronized int freePort() throws IOException {
        for (int i = 0; i < 100; i++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
                if (PORTS.add(s.getLocalPort())) {
                    return s.getLocalPort();
                }
            }
        }
        throw new IOException("no free port on 127.0.0.1");
    }

    /** A node whose directories live under this harness's base dir; its data dir is empty, like a new volume. */
    Node node(String name) throws IOException {
        Node n = new Node(name, freePort(), base);
        ToolUser.mkdir(n.sockDir, "rwx------");
        ToolUser.mkdir(n.dataDir, "rwx------");
        n.env.put("PG_NODES", "primary,standby1,standby2");
        nodes.add(n);
        return n;
    }

    private Map<String, String> environment(Node n, Map<String, String> extra) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("PG_BIN", bins.bindir().toString());
        env.put("HOME", base.toString());
        env.put("LANG", "C.UTF-8");
        env.putAll(n.env);
        env.putAll(extra);
        return env;
    }

    private static ProcessBuilder builder(List<String> cmd, Map<String, String> env, Path dir) {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().clear();
        pb.environment().putAll(env);
        return pb;
    }

    /** Runs {@code docker/postgres/bin/<script> args...} for node n as the postgres user; waits at most 3 minutes. */
    Result run(Node n, Map<String, String> extraEnv, String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(binDir().resolve(script).toString());
        cmd.addAll(List.of(args));
        Process p = builder(ToolUser.command(cmd), environment(n, extraEnv), base).start();
        byte[] out;
        try {
            out = p.getInputStream().readAllBytes();
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(script + " did not finish in 180 s: " + new String(out, StandardCharsets.UTF_8));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    Result run(Node n, String script, String... args) throws IOException {
        return run(n, Map.of(), script, args);
    }

    /** Runs {@code docker/postgres/bin/<script> args...} for node n as the JVM's user (root in CI, as docker exec). */
    Result runAsIs(Node n, Map<String, String> extraEnv, String script, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(binDir().resolve(script).toString());
        cmd.addAll(List.of(args));
        Process p = builder(cmd, environment(n, extraEnv), base).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(script + " did not finish in 180 s: " + new String(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** Like the container: {@code pg-entrypoint postgres} as the postgres user; returns once pg-healthcheck passes. */
    void startServer(Node n, Map<String, String> extraEnv) throws IOException {
        start(n, extraEnv, false);
    }

    void startServer(Node n) throws IOException {
        start(n, Map.of(), false);
    }

    /** The container's own start: pg-entrypoint runs as root, prepares the directories and drops to postgres. */
    void startServerAsRoot(Node n, Map<String, String> extraEnv) throws IOException {
        start(n, extraEnv, true);
    }

    private void start(Node n, Map<String, String> extraEnv, boolean asRoot) throws IOException {
        if (n.server != null && n.server.isAlive()) {
            throw new IllegalStateException(n + " already runs");
        }
        List<String> cmd = List.of(binDir().resolve("pg-entrypoint").toString(), "postgres");
        Map<String, String> env = environment(n, extraEnv);
        long offset = Files.exists(n.log) ? Files.size(n.log) : 0;
        Files.writeString(n.log, "=== pg-entrypoint postgres " + extraEnv + "\n", StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        n.server = builder(asRoot ? cmd : ToolUser.command(cmd), env, base)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(n.log.toFile())).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (true) {
            if (!n.server.isAlive()) {
                throw new IOException("pg-entrypoint of " + n + " exited with " + n.server.exitValue() + ":\n"
                        + tail(n.log, offset));
            }
            if (run(n, env, "pg-healthcheck").exitCode() == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException(n + " not healthy after 120 s:\n" + tail(n.log, offset));
            }
            sleep(100);
        }
    }

    /** Runs pg-entrypoint where it is expected to refuse: returns its result instead of waiting for a server. */
    Result entrypointExpectingExit(Node n, Map<String, String> extraEnv) throws IOException {
        Result r = run(n, extraEnv, "pg-entrypoint", "postgres");
        if (r.exitCode() == 0) {
            throw new IllegalStateException("pg-entrypoint ran a server for " + n + ": " + r);
        }
        return r;
    }

    /** pg_ctl stop (mode fast or immediate) as the postgres user, then waits for the entrypoint process to end. */
    void stopServer(Node n, String mode) throws IOException {
        List<String> cmd = List.of(bins.tool("pg_ctl").toString(), "-D", n.dataDir.toString(), "-m", mode, "-w",
                "-t", "60", "stop");
        Process p = builder(ToolUser.command(cmd), environment(n, Map.of()), base)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(n.log.toFile())).start();
        try {
            if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("pg_ctl stop -m " + mode + " of " + n + " failed:\n" + n.tail());
            }
            if (n.server != null && !n.server.waitFor(30, TimeUnit.SECONDS)) {
                throw new IOException("the entrypoint process of " + n + " outlived its server");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        n.server = null;
    }

    /** Stops whatever still runs (immediate) and deletes the base dir. Never throws. */
    void close() {
        for (Node n : nodes) {
            if (Files.exists(n.dataDir.resolve("postmaster.pid"))) {
                try {
                    stopServer(n, "immediate");
                } catch (IOException | RuntimeException e) {
                    // not running, or already gone
                }
            }
            if (n.server != null) {
                n.server.destroyForcibly();
            }
        }
        try {
            ToolUser.deleteTree(base);
        } catch (IOException e) {
            System.err.println("could not delete " + base + ": " + e);
        }
    }

    static String tail(Path file) throws IOException {
        return tail(file, 0);
    }

    static String tail(Path file, long from) throws IOException {
        if (!Files.exists(file)) {
            return "";
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long start = Math.max(from, f.length() - 6000);
            f.seek(start);
            byte[] b = new byte[(int) (f.length() - start)];
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
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
