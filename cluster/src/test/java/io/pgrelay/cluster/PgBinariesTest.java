package io.pgrelay.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PgBinariesTest {
    private static final Path DEBIAN_15 = Path.of("/usr/lib/postgresql/15/bin");

    @Test
    void explicitBinDirIsValidatedAndVersioned() throws IOException {
        assumeTrue(Files.isExecutable(DEBIAN_15.resolve("initdb")), "Debian PostgreSQL 15 not installed");
        PgBinaries b = PgBinaries.of(DEBIAN_15);
        assertThat(b.bindir()).isEqualTo(DEBIAN_15);
        assertThat(b.majorVersion()).isEqualTo(15);
        assertThat(b.version()).startsWith("15.");
        assertThat(b.has("pg_basebackup")).isTrue();
        assertThat(b.has("no_such_tool")).isFalse();
        assertThat(b.tool("pg_ctl")).isEqualTo(DEBIAN_15.resolve("pg_ctl"));
        assertThatThrownBy(() -> b.tool("no_such_tool")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void debianRootPicksTheNewestVersion(@TempDir Path tmp) throws IOException {
        assumeTrue(Files.isExecutable(DEBIAN_15.resolve("initdb")), "Debian PostgreSQL 15 not installed");
        // 9.6 sorts numerically below 15; a dir without initdb is skipped
        Files.createDirectories(tmp.resolve("9.6/bin"));
        Files.createDirectories(tmp.resolve("99/bin"));
        Path link = Files.createSymbolicLink(tmp.resolve("15"), DEBIAN_15.getParent());
        try {
            PgBinaries b = PgBinaries.locate(new PgBinaries.Sources(null, null, false, tmp, false, null, tmp));
            assertThat(b.majorVersion()).isEqualTo(15);
            assertThat(b.bindir()).isEqualTo(tmp.resolve("15/bin"));
        } finally {
            Files.delete(link);
        }
    }

    @Test
    void explicitDirThatIsNotABinDirFailsWithoutFallingBack(@TempDir Path tmp) {
        assertThatThrownBy(() -> PgBinaries.locate(
                new PgBinaries.Sources(tmp.toString(), "env PG_BIN", true, DEBIAN_15.getParent().getParent(), true,
                        null, tmp)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("env PG_BIN=" + tmp)
                .hasMessageContaining("no executable initdb");
    }

    @Test
    void nothingFoundListsWhatWasTriedAndHowToFixIt(@TempDir Path tmp) {
        assertThatThrownBy(() -> PgBinaries.locate(
                new PgBinaries.Sources(null, null, false, tmp.resolve("nope"), false, tmp.resolve("m2"), tmp)))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("PG_BIN")
                .hasMessageContaining(tmp.resolve("nope") + "/<version>/bin")
                .hasMessageContaining(tmp.resolve("m2").toString())
                .hasMessageContaining("install PostgreSQL".substring(1))
                .hasMessageContaining("mvn -B dependency:get -Dartifact=" + PgBinaries.ZONKY_ARTIFACT);
    }

    @Test
    void zonkyJarOnTheClasspathIsExtractedOnce() throws IOException {
        assumeTrue(PgBinaries.class.getClassLoader().getResource(PgBinaries.ZONKY_RESOURCE) != null);
        PgBinaries.Sources cp = new PgBinaries.Sources(null, null, false, null, true, null,
                PgBinaries.defaultCacheRoot());
        PgBinaries first = PgBinaries.locate(cp);
        assertThat(first.majorVersion()).isGreaterThanOrEqualTo(15);
        assertThat(first.has("initdb")).isTrue();
        assertThat(first.has("pg_basebackup")).isFalse();
        assertThat(first.bindir().getParent().getFileName().toString()).startsWith("pg-");
        long mtime = Files.getLastModifiedTime(first.bindir()).toMillis();
        PgBinaries again = PgBinaries.locate(cp);
        assertThat(again.bindir()).isEqualTo(first.bindir());
        assertThat(Files.getLastModifiedTime(again.bindir()).toMillis()).isEqualTo(mtime);
    }

    @Test
    void versionsCompareNumerically() {
        assertThat(PgBinaries.versionKey("17.6.0")).isGreaterThan(PgBinaries.versionKey("9.6.24"));
        assertThat(PgBinaries.versionKey("16.10.0")).isGreaterThan(PgBinaries.versionKey("16.9.0"));
        assertThat(PgBinaries.versionKey("15")).isLessThan(PgBinaries.versionKey("15.1"));
    }
}
