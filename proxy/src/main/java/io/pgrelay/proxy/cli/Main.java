package io.pgrelay.proxy.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/** The {@code pgrelay} command: run, check, demo. Exit codes: 0 done, 1 failed, 2 bad command line. */
public final class Main {
    static final String USAGE = String.join("\n",
            "usage: pgrelay <command> [options]",
            "",
            "commands:",
            "  run   [--config FILE]   run the proxy (default config: ./pgrelay.toml)",
            "  check [--config FILE]   validate a config and print what it would serve",
            "  demo  [--port PORT] [--tls]  start a local primary, two streaming standbys and pgrelay",
            "                          in front of them on localhost:6432 (Ctrl-C stops everything)",
            "  certs DIR [--host NAMES] write a development CA, server and client certificates to DIR",
            "",
            "'pgrelay <command> --help' shows the options of one command.");

    private Main() {
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        // run and demo return 0 only from their shutdown hook's latch: exiting again would block, so just return.
        if (code != 0) {
            System.exit(code);
        }
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(USAGE);
            return 2;
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        try {
            switch (args[0]) {
                case "run":
                    return RunCommand.run(CommandLine.parse("run", RunCommand.USAGE, rest, "--config"), out, err);
                case "check":
                    return CheckCommand.run(CommandLine.parse("check", CheckCommand.USAGE, rest, "--config"), out,
                            err);
                case "demo": {
                    boolean tls = rest.contains("--tls");
                    List<String> demoArgs = rest.stream().filter(a -> !a.equals("--tls")).toList();
                    return DemoCommand.run(CommandLine.parse("demo", DemoCommand.USAGE, demoArgs, "--port"), tls, out,
                            err);
                }
                case "certs":
                    return CertsCommand.run(rest, out, err);
                case "help":
                case "--help":
                case "-h":
                    out.println(USAGE);
                    return 0;
                default:
                    err.println("pgrelay: unknown command \"" + args[0] + "\"");
                    err.println(USAGE);
                    return 2;
            }
        } catch (CommandLine.HelpRequested h) {
            out.println(h.usage);
            return 0;
        } catch (CommandLine.UsageException u) {
            err.println("pgrelay " + args[0] + ": " + u.getMessage());
            err.println(u.usage);
            return 2;
        }
    }
}
