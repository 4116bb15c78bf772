package io.pgrelay.cluster;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs PostgreSQL tools. initdb and postgres refuse to run as root, so when the JVM is root every tool runs as an
 * unprivileged OS user ({@code postgres} if it exists, else {@code nobody}; system property {@code pgrelay.osuser}
 * overrides) and the files the tools must own are chowned to it.
 */
final class OsRunner {
    static final String PATH = "/usr/local/bin:/usr/bin:/bin";
    private static final int TAIL_CHARS = 3000;
    private static volatile OsRunner instance;

    private final int uid;
    private final String runAs;          // null: run tools directly as the JVM user
    private final UserPrincipal owner;   // null: no chown needed
    private final List<String> prefix;   // runuser/setpriv prefix, empty when not root

    private OsRunner(int uid, String runAs, UserPrincipal owner, List<String> prefix) {
        this.uid = uid;
        this.runAs = runAs;
        this.owner = owner;
        this.prefix = List.copyOf(prefix);
    }

    static OsRunner get() throws IOException {
        OsRunner r = instance;
        if (r == null) {
            synchronized (OsRunner.class) {
                if (instance == null) {
                    instance = detect();
                }
                r = instance;
            }
        }
        return r;
    }

    private static OsRunner detect() throws IOException {
        int uid = currentUid();
        if (uid != 0) {
            return new OsRunner(uid, null, null, List.of());
        }
        var lookup = FileSystems.getDefault().getUserPrincipalLookupService();
        String forced = System.getProperty("pgrelay.osuser");
        List<String> candidates = forced != null ? List.of(forced) : List.of("postgres", "nobody");
        for (String user : candidates) {
            UserPrincipal principal;
            try {
                principal = lookup.lookupPrincipalByName(user);
            } catch (UserPrincipalNotFoundException e) {
                continue;
            }
            Path runuser = findExecutable("runuser");
            List<String> prefix;
            if (runuser != null) {
                prefix = List.of(runuser.toString(), "-u", user, "--");
            } else {
                Path setpriv = findExecutable("setpriv");
                if (setpriv == null) {
                    throw new IOException("the JVM runs as root, PostgreSQL refuses root, and neither runuser nor"
                            + " setpriv (util-linux) is installed to switch to user " + user);
                }
                String gid = capture(List.of("id", "-g", user)).trim();
                prefix = List.of(setpriv.toString(), "--reuid=" + user, "--regid=" + gid, "--init-groups", "--");
            }
            return new OsRunner(0, user, principal, prefix);
        }
        throw new IOException("the JVM runs as root and PostgreSQL refuses root, but none of the OS users "
                + candidates + " exists to run it as");
    }

    /** Effective uid from /proc (Linux); falls back to user.name. */
    static int currentUid() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return "root".equals(System.getProperty("user.name")) ? 0 : 1000;
    }

    private static Path findExecutable(String name) {
        String path = System.getenv().getOrDefault("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin";
        for (String dir : path.split(":")) {
            if (!dir.isEmpty()) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) {
                    return p;
                }
            }
        }
        return null;
    }

    /** As root the servers run as another user, who must be able to walk down to the data dirs. */
    void requireTraversable(Path dir) throws IOException {
        for (Path p = dir.getParent(); p != null; p = p.getParent()) {
            if (!Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                throw new IOException("the servers run as OS user " + runAs + ", which cannot reach " + dir
                        + " because " + p + " is not world-traversable; pick a baseDir under /tmp");
            }
        }
    }

    int uid() {
        return uid;
    }

    boolean isRoot() {
        return uid == 0;
    }

    /** The OS user the tools run as, or null when they run as the JVM user. */
    String runAs() {
        return runAs;
    }

    /** The runuser/setpriv words that make a command run as {@link #runAs()}; empty when not root. */
    List<String> prefix() {
        return prefix;
    }

    /** Runs a tool (as the unprivileged user when root), appending its output to {@code out} (null: discard). */
    void run(List<String> cmd, Map<String, String> env, Path workDir, Path out, Duration timeout)
            throws IOException {
        int rc = exec(cmd, env, workDir, out, timeout);
        if (rc != 0) {
            throw new IOException("command failed with exit code " + rc + ": " + String.join(" ", cmd)
                    + (out == null ? "" : "\n--- output (" + out + ") ---\n" + lastRun(out)));
        }
    }

    /** Like {@link #run} but returns the exit code instead of failing on a non-zero one. */
    int exec(List<String> cmd, Map<String, String> env, Path workDir, Path out, Duration timeout)
            throws IOException {
        List<String> full = new ArrayList<>(prefix);
        full.addAll(cmd);
        ProcessBuilder pb = new ProcessBuilder(full).redirectErrorStream(true)
                .directory(workDir.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Map<String, String> e = pb.environment();
        e.clear();
        e.put("PATH", PATH);
        e.put("LC_ALL", "C");
        e.put("LANG", "C");
        e.put("HOME", workDir.toString());
        e.putAll(env);
        if (out != null) {
            Files.writeString(out, "=== " + LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + " $ "
                            + String.join(" ", cmd) + "\n", StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            pb.redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
        } else {
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        }
        Process p = pb.start();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException("command timed out after " + timeout.toSeconds() + " s: "
                        + String.join(" ", cmd) + (out == null ? "" : "\n--- output ---\n" + lastRun(out)));
            }
        } catch (InterruptedException ie) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", cmd), ie);
        }
        return p.exitValue();
    }

    /** Runs a short command as the JVM user and returns its output (for id, pg_config, postgres --version). */
    static String capture(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " failed: "
                        + new String(out, StandardCharsets.UTF_8).trim());
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (InterruptedException ie) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), ie);
        }
    }

    /** The output of the last command appended to a capture file (after its last "===" header), tail only. */
    static String lastRun(Path out) {
        String all = tail(out, 0);
        int h = all.lastIndexOf("\n=== ");
        return h >= 0 ? all.substring(h + 1) : all;
    }

    /** The last few KB of a file from byte offset {@code from}; "" when unreadable. */
    static String tail(Path file, long from) {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long start = Math.max(from, f.length() - TAIL_CHARS);
            f.seek(start);
            byte[] b = new byte[(int) (f.length() - start)];
            f.readFully(b);
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** Creates a directory (and parents) with the given mode, owned by the tool user. */
    void mkdir(Path dir, String mode) throws IOException {
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString(mode));
        own(dir);
    }

    /** Writes a file that the tools read or own. */
    void write(Path file, String content, boolean append) throws IOException {
        if (append) {
            Files.writeString(file, content, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } else {
            Files.writeString(file, content, StandardCharsets.UTF_8);
        }
        Files.setPosixFilePermissions(file, EnumSet.of(PosixFilePermission.OWNER_READ,
                PosixFilePermission.OWNER_WRITE));
        own(file);
    }

    void own(Path p) throws IOException {
        if (owner != null) {
            Files.getFileAttributeView(p, java.nio.file.attribute.PosixFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS).setOwner(owner);
        }
    }

    /** Deletes a tree; as root (or owner) this works whatever the tools left behind. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Makes a tree readable (and dirs/executables traversable) for everyone: the tool user must run it. */
    static void openUp(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isSymbolicLink(p)) {
                    continue;
                }
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
                perms.add(PosixFilePermission.OWNER_READ);
                perms.add(PosixFilePermission.GROUP_READ);
                perms.add(PosixFilePermission.OTHERS_READ);
                if (Files.isDirectory(p) || perms.contains(PosixFilePermission.OWNER_EXECUTE)) {
                    perms.add(PosixFilePermission.GROUP_EXECUTE);
                    perms.add(PosixFilePermission.OTHERS_EXECUTE);
                }
                Files.setPosixFilePermissions(p, perms);
            }
        }
    }
}
