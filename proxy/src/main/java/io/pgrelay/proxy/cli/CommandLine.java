package io.pgrelay.proxy.cli;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A command's options: only {@code --name VALUE} / {@code --name=VALUE} pairs and {@code --help}. */
final class CommandLine {
    private final Map<String, String> values;

    private CommandLine(Map<String, String> values) {
        this.values = values;
    }

    static CommandLine parse(String command, String usage, List<String> args, String... known)
            throws UsageException, HelpRequested {
        Set<String> allowed = Set.of(known);
        Map<String, String> values = new HashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--help") || a.equals("-h")) {
                throw new HelpRequested(usage);
            }
            String name = a;
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (!allowed.contains(name)) {
                throw new UsageException(a.startsWith("-") ? "unknown option \"" + name + "\""
                        : "unexpected argument \"" + a + "\"", usage);
            }
            if (value == null) {
                if (i + 1 >= args.size()) {
                    throw new UsageException("option " + name + " needs a value", usage);
                }
                value = args.get(++i);
            }
            if (values.put(name, value) != null) {
                throw new UsageException("option " + name + " given twice", usage);
            }
        }
        return new CommandLine(values);
    }

    String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    int getPort(String name, int fallback, String usage) throws UsageException {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            int p = Integer.parseInt(v);
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new UsageException(name + " must be a port number from 1 to 65535, not \"" + v + "\"", usage);
    }

    static final class UsageException extends Exception {
        final String usage;

        UsageException(String message, String usage) {
            super(message);
            this.usage = usage;
        }
    }

    static final class HelpRequested extends Exception {
        final String usage;

        HelpRequested(String usage) {
            super(null, null, false, false);
            this.usage = usage;
        }
    }
}
