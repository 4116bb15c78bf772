package io.pgrelay.cluster;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who owns which cluster directory, so servers never outlive their JVM. A shutdown hook closes live clusters; a
 * kill -9 of the JVM skips hooks, so every cluster also has an entry {@code ROOT/<id>/owner.properties} naming the
 * JVM (pid + start time), and each start() sweeps ROOT: entries whose JVM is gone get their servers stopped
 * (immediate) and their temporary base dir deleted. Only directories carrying our files are ever touched.
 */
final class Ownership {
    private static final Logger log = LoggerFactory.getLogger(Ownership.class);
    static final String OWNER_FILE = "owner.properties";
    /** Marker in every base dir (and private socket dir) we create; holds the cluster id. */
    static final String MARKER = ".pgrelay-cluster";

    private static final Set<LocalCluster> LIVE = ConcurrentHashMap.newKeySet();
    private static volatile boolean hookInstalled;

    private Ownership() {
    }

    /** System property {@code pgrelay.cluster.root}, else /tmp/pgrelay-clusters-UID (short: socket paths). */
    static Path root(OsRunner os) throws IOException {
        String prop = System.getProperty("pgrelay.cluster.root");
        Path root = prop != null && !prop.isBlank() ? Path.of(prop).toAbsolutePath()
                : Path.of("/tmp", "pgrelay-clusters-" + os.uid());
        Files.createDirectories(root);
        if (OsRunner.currentUid() != (int) Files.getAttribute(root, "unix:uid")) {
            throw new IOException(root + " belongs to another user; set -Dpgrelay.cluster.root to a directory of yours");
        }
        // 755: the unprivileged tool user must traverse it to reach the data dirs
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
        return root;
    }

    static Properties record(String id, Path base, boolean temp, Path sockDir, List<PgServer> servers,
                             PgBinaries bins) {
        Properties p = new Properties();
        ProcessHandle self = ProcessHandle.current();
        p.setProperty("id", id);
        p.setProperty("pid", Long.toString(self.pid()));
        p.setProperty("startMillis", Long.toString(startMillis(self)));
        p.setProperty("base", base.toString());
        p.setProperty("temp", Boolean.toString(temp));
        p.setProperty("sockDir", sockDir.toString());
        p.setProperty("bindir", bins.bindir().toString());
        for (int i = 0; i < servers.size(); i++) {
            p.setProperty("dataDir." + i, servers.get(i).dataDir().toString());
        }
        return p;
    }

    static long startMillis(ProcessHandle h) {
        return h.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
    }

    /** Writes atomically so a concurrent sweeper never reads half a file. */
    static void write(Path file, Properties p) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            p.store(w, "pgrelay LocalCluster owner");
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    static Properties read(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
        }
        return p;
    }

    /** The owner JVM still runs: same pid and (when known) the same start time, so a reused pid does not count. */
    static boolean ownerAlive(Properties p) {
        long pid;
        long start;
        try {
            pid = Long.parseLong(p.getProperty("pid", "-1"));
            start = Long.parseLong(p.getProperty("startMillis", "0"));
        } catch (NumberFormatException e) {
            return false;
        }
        if (pid <= 0 || !PgCtl.alive(pid)) {
            return false;
        }
        long actual = ProcessHandle.of(pid).map(Ownership::startMillis).orElse(0L);
        return start == 0 || actual == 0 || Math.abs(actual - start) < 2000;
    }

    static boolean hasMarker(Path dir, String id) {
        try {
            return id != null && Files.readString(dir.resolve(MARKER), StandardCharsets.UTF_8).trim().equals(id);
        } catch (IOException e) {
            return false;
        }
    }

    static void writeMarker(Path dir, String id) throws IOException {
        Files.writeString(dir.resolve(MARKER), id + "\n", StandardCharsets.UTF_8);
    }

    /**
     * A given base dir must be new, empty, or left behind by an earlier cluster whose JVM is gone; in the last case its
     * servers are stopped and its contents deleted.
     */
    static void reclaimGivenBase(Path root, Path baseDir, PgBinaries bins, OsRunner os) throws IOException {
        if (!Files.exists(baseDir)) {
            return;
        }
        List<Path> children = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(baseDir)) {
            ds.forEach(children::add);
        }
        if (children.isEmpty()) {
            return;
        }
        Path marker = baseDir.resolve(MARKER);
        if (!Files.isRegularFile(marker)) {
            throw new IOException("baseDir " + baseDir + " is not empty and was not created by LocalCluster");
        }
        String oldId = Files.readString(marker, StandardCharsets.UTF_8).trim();
        Path oldOwner = root.resolve(oldId).resolve(OWNER_FILE);
        if (!oldId.isEmpty() && Files.isRegularFile(oldOwner) && ownerAlive(read(oldOwner))) {
            throw new IOException("baseDir " + baseDir + " is in use by a running cluster (" + oldOwner + ")");
        }
        PgCtl leftovers = new PgCtl(bins, os, Path.of("/"), null);
        for (Path child : children) {
            if (PgCtl.isRunning(child) && !leftovers.stopHard(child, child.getFileName().toString())) {
                throw new IOException("cannot stop the old server in " + child);
            }
        }
        for (Path child : children) {
            OsRunner.deleteTree(child);
        }
        if (!oldId.isEmpty()) {
            OsRunner.deleteTree(root.resolve(oldId));
        }
    }

    /** Stops the servers of clusters whose JVM died and deletes their temporary dirs. Never throws. */
    static int sweep(Path root, OsRunner os, PgBinaries bins) {
        int swept = 0;
        List<Path> entries = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
            ds.forEach(entries::add);
        } catch (IOException e) {
            log.warn("cannot list {} for stale clusters: {}", root, e.toString());
            return 0;
        }
        for (Path entry : entries) {
            Path ownerFile = entry.resolve(OWNER_FILE);
            if (!Files.isDirectory(entry) || !Files.isRegularFile(ownerFile)) {
                continue;
            }
            try {
                Properties p = read(ownerFile);
                if (ownerAlive(p)) {
                    continue;
                }
                sweepOne(entry, p, os, bins);
                swept++;
            } catch (IOException | RuntimeException e) {
                log.warn("could not sweep stale cluster {}: {}", entry, e.toString());
            }
        }
        return swept;
    }

    private static void sweepOne(Path entry, Properties p, OsRunner os, PgBinaries bins) throws IOException {
        String id = p.getProperty("id");
        Path base = Path.of(p.getProperty("base", entry.toString()));
        boolean temp = Boolean.parseBoolean(p.getProperty("temp"));
        int stopped = 0;
        if (hasMarker(base, id)) {
            Path recorded = Path.of(p.getProperty("bindir", ""));
            PgBinaries b = bins;
            try {
                if (!recorded.toString().isEmpty() && !recorded.equals(bins.bindir())) {
                    b = PgBinaries.of(recorded);
                }
            } catch (IOException e) {
                // the recorded binaries are gone: stop with the current ones (pg_ctl stop is version-agnostic)
            }
            PgCtl ctl = new PgCtl(b, os, Path.of("/"), null);
            for (String key : p.stringPropertyNames()) {
                Path data = Path.of(p.getProperty(key)).normalize();
                if (key.startsWith("dataDir.") && data.startsWith(base) && PgCtl.isRunning(data)) {
                    ctl.stopHard(data, data.getFileName().toString());
                    stopped++;
                }
            }
            if (temp) {
                OsRunner.deleteTree(base);
            }
        }
        String what = !Files.exists(base) ? "deleted " + base : "kept " + base;
        Path sock = Path.of(p.getProperty("sockDir", base.toString()));
        if (!sock.startsWith(base) && hasMarker(sock, id)) {
            OsRunner.deleteTree(sock);
        }
        OsRunner.deleteTree(entry);
        log.info("swept stale cluster {} of dead JVM pid {}: stopped {} server(s), {}", id, p.getProperty("pid"),
                stopped, what);
    }

    static void track(LocalCluster c) {
        if (!hookInstalled) {
            synchronized (Ownership.class) {
                if (!hookInstalled) {
                    Runtime.getRuntime().addShutdownHook(new Thread(Ownership::closeAll, "pgrelay-cluster-shutdown"));
                    hookInstalled = true;
                }
            }
        }
        LIVE.add(c);
    }

    static void untrack(LocalCluster c) {
        LIVE.remove(c);
    }

    private static void closeAll() {
        for (LocalCluster c : List.copyOf(LIVE)) {
            try {
                c.close();
            } catch (RuntimeException e) {
                // the JVM is going down; nothing left to report to
            }
        }
    }
}
