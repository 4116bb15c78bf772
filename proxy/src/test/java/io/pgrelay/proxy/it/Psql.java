package io.pgrelay.proxy.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs the real psql client, the way a user would. */
public final class Psql {
    public record Result(int exitCode, String stdout, String stderr) {
    }

    private Psql() {
    }

    public static Path binary() {
        for (String p : new String[] {"/usr/bin/psql", "/usr/lib/postgresql/15/bin/psql"}) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        throw new IllegalStateException("psql not found: install the postgresql-client package");
    }

    /** {@code psql URL -X -At -c SQL}, with psql's default sslmode and gssencmode unless the URL says otherwise. */
    public static Result run(String url, Map<String, String> env, String... sqlCommands) throws IOException,
            InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(binary().toString(), url, "-X", "-At", "-v", "ON_ERROR_STOP=1"));
        for (String sql : sqlCommands) {
            cmd.add("-c");
            cmd.add(sql);
        }
        Process p = start(cmd, env);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("psql did not finish within 30 s: " + cmd);
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    public static Process start(List<String> cmd, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        pb.environment().putAll(env);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        return pb.start();
    }
}
