package io.pgrelay.proxy.cli;

import io.pgrelay.proxy.tls.DevCertificates;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** {@code pgrelay certs DIR}: a development CA and server/client certificates for TLS tests and demos. */
final class CertsCommand {
    static final String USAGE = String.join("\n",
            "usage: pgrelay certs DIR [--host NAME[,NAME...]] [--client-user NAME] [--days N]",
            "",
            "Writes a development CA (ca.crt, ca.key), a server certificate (server.crt, server.key) for",
            "localhost, 127.0.0.1, ::1 and the --host names (e.g. compose service names), and a client",
            "certificate (client.crt, client.key) whose CN is --client-user. Keys are PKCS#8 PEM with mode",
            "0600, as PostgreSQL and libpq want them. For development and tests, not production.",
            "",
            "  --host NAMES        more DNS names or IP addresses for the server certificate, comma-separated",
            "  --client-user NAME  CN of the client certificate (default: app)",
            "  --days N            validity in days (default: 825)");

    private CertsCommand() {
    }

    static int run(List<String> args, PrintStream out, PrintStream err)
            throws CommandLine.UsageException, CommandLine.HelpRequested {
        List<String> options = new ArrayList<>();
        String dir = null;
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.startsWith("-")) {
                options.add(a);
                if (!a.contains("=") && !a.equals("--help") && !a.equals("-h") && i + 1 < args.size()) {
                    options.add(args.get(++i));
                }
            } else if (dir == null) {
                dir = a;
            } else {
                throw new CommandLine.UsageException("unexpected argument \"" + a + "\"", USAGE);
            }
        }
        CommandLine cl = CommandLine.parse("certs", USAGE, options, "--host", "--client-user", "--days");
        if (dir == null) {
            throw new CommandLine.UsageException("the directory to write to is missing", USAGE);
        }
        List<String> hosts = new ArrayList<>();
        for (String h : cl.get("--host", "").split(",")) {
            if (!h.isBlank()) {
                hosts.add(h.trim());
            }
        }
        String user = cl.get("--client-user", "app");
        int days;
        try {
            days = Integer.parseInt(cl.get("--days", "825"));
        } catch (NumberFormatException e) {
            days = -1;
        }
        if (days < 1) {
            throw new CommandLine.UsageException("--days must be a positive number of days", USAGE);
        }
        Path target = Path.of(dir);
        try {
            DevCertificates.generate(target, hosts, user, Duration.ofDays(days));
        } catch (Exception e) {
            err.println("pgrelay certs: could not write certificates to " + target + ": " + e.getMessage());
            return 1;
        }
        Path abs = target.toAbsolutePath();
        out.println("wrote a development CA and certificates to " + abs + ":");
        out.println("  ca.crt, ca.key          the CA (give ca.crt to clients: sslrootcert=" + abs.resolve("ca.crt")
                + ")");
        out.println("  server.crt, server.key  for pgrelay (tls_certificate, tls_private_key) or PostgreSQL");
        out.println("  client.crt, client.key  client certificate, CN \"" + user + "\" (sslcert, sslkey)");
        return 0;
    }
}
