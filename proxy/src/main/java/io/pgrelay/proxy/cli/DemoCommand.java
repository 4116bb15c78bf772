package io.pgrelay.proxy.cli;

import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.cluster.PgServer;
import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.proxy.PgRelayServer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code pgrelay demo}: a primary and two streaming standbys from the local PostgreSQL binaries, and pgrelay in front
 * of them; everything started is stopped and its files removed on Ctrl-C or SIGTERM.
 */
final class DemoCommand {
    static final String USAGE = String.join("\n",
            "usage: pgrelay demo [--port PORT] [--tls]",
            "",
            "Starts a local PostgreSQL primary and two streaming standbys (PostgreSQL binaries from PG_BIN,",
            "pg_config, /usr/lib/postgresql or the embedded Maven binaries) and pgrelay in front of them.",
            "Ctrl-C or SIGTERM stops everything and removes the temporary files.",
            "",
            "  --port PORT   where pgrelay listens (default 6432)",
            "  --tls         also serve TLS, with a development CA and certificates made by 'pgrelay certs'");

    static final String USER = "app";
    static final String PASSWORD = "app";
    static final String DATABASE = "app";
    static final String ADMIN = "admin";

    private DemoCommand() {
    }

    static int run(CommandLine cl, PrintStream out, PrintStream err) throws CommandLine.UsageException {
        return run(cl, false, out, err);
    }

    static int run(CommandLine cl, boolean tls, PrintStream out, PrintStream err) throws CommandLine.UsageException {
        int port = cl.getPort("--port", 6432, USAGE);
        LocalCluster cluster;
        try {
            err.println("pgrelay demo: starting a primary and two standbys...");
            cluster = LocalCluster.builder().appUser(USER, PASSWORD).appDatabase(DATABASE).start();
        } catch (IOException e) {
            err.println("pgrelay demo: could not start the PostgreSQL cluster: " + e.getMessage());
            return 1;
        }
        PgRelayServer server;
        Path configFile = cluster.baseDir().resolve("pgrelay.toml");
        try {
            String toml = config(cluster, port);
            if (tls) {
                Path certs = cluster.baseDir().resolve("certs");
                io.pgrelay.proxy.tls.DevCertificates.generate(certs, java.util.List.of(), USER,
                        java.time.Duration.ofDays(30));
                toml = toml.replace("[general]\n", "[general]\n"
                        + "tls_mode = \"prefer\"\n"
                        + "tls_certificate = \"" + certs.resolve("server.crt") + "\"\n"
                        + "tls_private_key = \"" + certs.resolve("server.key") + "\"\n"
                        + "tls_ca_file = \"" + certs.resolve("ca.crt") + "\"\n");
            }
            Files.writeString(configFile, toml);
            PgRelayConfig config = CheckCommand.load(configFile, err);
            if (config == null) {
                cluster.close();
                return 1;
            }
            server = PgRelayServer.start(config);
        } catch (Exception e) {
            err.println("pgrelay demo: could not start pgrelay on port " + port + ": " + e.getMessage());
            cluster.close();
            return 1;
        }
        out.println();
        out.println("pgrelay is serving on localhost:" + port);
        out.println("  psql:   psql postgresql://" + USER + ":" + PASSWORD + "@localhost:" + port + "/" + DATABASE);
        out.println("  JDBC:   jdbc:postgresql://localhost:" + port + "/" + DATABASE + "?user=" + USER
                + "&password=" + PASSWORD);
        if (tls) {
            Path ca = cluster.baseDir().resolve("certs").resolve("ca.crt");
            out.println("  TLS:    psql 'postgresql://" + USER + ":" + PASSWORD + "@localhost:" + port + "/" + DATABASE
                    + "?sslmode=verify-full&sslrootcert=" + ca + "'");
        }
        out.println("  admin:  psql postgresql://" + ADMIN + ":" + ADMIN + "@localhost:" + port
                + "/pgbouncer -c 'SHOW POOLS'");
        for (PgServer s : cluster.servers()) {
            out.println("  " + s.name() + ": 127.0.0.1:" + s.port() + "  data " + s.dataDir() + "  log " + s.logFile());
        }
        out.println("  config: " + configFile);
        out.println("Ctrl-C stops pgrelay and the cluster and removes " + cluster.baseDir());
        out.flush();
        RunCommand.awaitSignal(() -> {
            server.close();
            cluster.close();
        });
        return 0;
    }

    /** A pgcat-style config for the demo cluster, in transaction mode as the project recommends. */
    static String config(LocalCluster cluster, int port) {
        StringBuilder servers = new StringBuilder();
        for (PgServer s : cluster.servers()) {
            if (servers.length() > 0) {
                servers.append(", ");
            }
            servers.append("[\"127.0.0.1\", ").append(s.port()).append(", \"")
                    .append(s == cluster.primary() ? "primary" : "replica").append("\"]");
        }
        return String.join("\n",
                "# Written by 'pgrelay demo' for its temporary cluster.",
                "[general]",
                "host = \"127.0.0.1\"",
                "port = " + port,
                "admin_username = \"" + ADMIN + "\"",
                "admin_password = \"" + ADMIN + "\"",
                "",
                "[pools." + DATABASE + "]",
                "pool_mode = \"transaction\"",
                "",
                "[pools." + DATABASE + ".users.0]",
                "username = \"" + USER + "\"",
                "password = \"" + PASSWORD + "\"",
                "pool_size = 20",
                "",
                "[pools." + DATABASE + ".shards.0]",
                "database = \"" + DATABASE + "\"",
                "servers = [" + servers + "]",
                "");
    }
}
