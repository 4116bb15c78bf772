package io.pgrelay.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OwnershipTest {

    private static Properties owner(long pid, long startMillis) {
        Properties p = new Properties();
        p.setProperty("pid", Long.toString(pid));
        p.setProperty("startMillis", Long.toString(startMillis));
        return p;
    }

    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    @Test
    void ownerIsAliveOnlyWithTheSamePidAndStartTime() throws Exception {
        ProcessHandle self = ProcessHandle.current();
        long start = Ownership.startMillis(self);
        assertThat(Ownership.ownerAlive(owner(self.pid(), start))).isTrue();
        assertThat(Ownership.ownerAlive(owner(self.pid(), start - 3_600_000))).as("pid reused").isFalse();
        assertThat(Ownership.ownerAlive(owner(deadPid(), start))).isFalse();
        assertThat(Ownership.ownerAlive(new Properties())).isFalse();
        assertThat(Ownership.ownerAlive(owner(-1, 0))).isFalse();
    }

    @Test
    void ownerFileRoundTrips(@TempDir Path tmp) throws Exception {
        Properties p = owner(42, 7);
        p.setProperty("base", "/tmp/x y");
        Ownership.write(tmp.resolve("owner.properties"), p);
        assertThat(Ownership.read(tmp.resolve("owner.properties"))).isEqualTo(p);
        assertThat(tmp.resolve("owner.properties.tmp")).doesNotExist();
    }

    @Test
    void sweepTouchesOnlyMarkedEntriesOfDeadOwners(@TempDir Path root) throws Exception {
        PgBinaries bins = PgBinaries.locate();
        OsRunner os = OsRunner.get();

        Path unmarked = Files.createDirectories(root.resolve("unmarked"));          // no owner file
        Path alive = Files.createDirectories(root.resolve("alive"));
        Properties live = owner(ProcessHandle.current().pid(), Ownership.startMillis(ProcessHandle.current()));
        live.setProperty("id", "alive");
        live.setProperty("base", alive.toString());
        live.setProperty("temp", "true");
        Ownership.write(alive.resolve(Ownership.OWNER_FILE), live);
        Ownership.writeMarker(alive, "alive");

        Path dead = Files.createDirectories(root.resolve("dead"));
        Properties gone = owner(deadPid(), 1);
        gone.setProperty("id", "dead");
        gone.setProperty("base", dead.toString());
        gone.setProperty("temp", "true");
        Ownership.write(dead.resolve(Ownership.OWNER_FILE), gone);
        Ownership.writeMarker(dead, "dead");

        // dead owner, but the base dir it names carries no marker of that id: the base is left alone
        Path other = Files.createDirectories(root.resolve("other-base"));
        Files.writeString(other.resolve("precious"), "x");
        Path wrong = Files.createDirectories(root.resolve("wrong"));
        Properties w = owner(deadPid(), 1);
        w.setProperty("id", "wrong");
        w.setProperty("base", other.toString());
        w.setProperty("temp", "true");
        Ownership.write(wrong.resolve(Ownership.OWNER_FILE), w);

        assertThat(Ownership.sweep(root, os, bins)).isEqualTo(2);
        assertThat(unmarked).isDirectory();
        assertThat(alive.resolve(Ownership.OWNER_FILE)).isRegularFile();
        assertThat(dead).doesNotExist();
        assertThat(wrong).doesNotExist();
        assertThat(other.resolve("precious")).hasContent("x");
    }
}
