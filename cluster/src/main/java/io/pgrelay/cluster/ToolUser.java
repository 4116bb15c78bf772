package io.pgrelay.cluster;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The OS user that PostgreSQL tools run as, for code outside this package that starts its own PostgreSQL processes
 * (the docker module's script tests): as root that is {@code postgres} (else {@code nobody}), otherwise the JVM user.
 */
public final class ToolUser {
    private ToolUser() {
    }

    /** The user name the tools run as, or null when they run as the JVM user (the JVM is not root). */
    public static String name() throws IOException {
        return OsRunner.get().runAs();
    }

    /** {@code cmd} prefixed (runuser/setpriv) so that it runs as the tool user; unchanged when not root. */
    public static List<String> command(List<String> cmd) throws IOException {
        List<String> full = new ArrayList<>(OsRunner.get().prefix());
        full.addAll(cmd);
        return full;
    }

    /** Creates a directory (and parents) with a mode such as "rwx------", owned by the tool user. */
    public static void mkdir(Path dir, String mode) throws IOException {
        OsRunner.get().mkdir(dir, mode);
    }

    /** Hands a file or directory (not its contents) to the tool user; no-op when not root. */
    public static void own(Path p) throws IOException {
        OsRunner.get().own(p);
    }

    /** Deletes a directory tree (as root: whatever the tools left in it). */
    public static void deleteTree(Path dir) throws IOException {
        OsRunner.deleteTree(dir);
    }
}
