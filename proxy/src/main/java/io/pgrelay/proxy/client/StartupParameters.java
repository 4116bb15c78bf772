package io.pgrelay.proxy.client;

import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.proxy.PgRelayException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The run-time settings a client asked for in its StartupMessage (client_encoding, DateStyle, TimeZone,
 * application_name, extra_float_digits, {@code options=-c name=value}...), checked and picked out of the startup
 * packet. Pooled server connections were opened with neutral settings; {@link SettingsSync} applies these to every
 * connection the client is given.
 */
public final class StartupParameters {
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.$]*");

    private final Map<String, String> settings;

    private StartupParameters(Map<String, String> settings) {
        this.settings = settings;
    }

    public Map<String, String> settings() {
        return settings;
    }

    /** Picks the settings out of the startup parameters; rejects what pgrelay cannot pass on, naming it. */
    public static StartupParameters from(Map<String, String> startup) throws PgRelayException {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : startup.entrySet()) {
            String name = e.getKey();
            switch (name) {
                case "user":
                case "database":
                    break;
                case "replication":
                    throw unsupported("replication connections are not supported through pgrelay");
                case "options":
                    parseOptions(e.getValue(), out);
                    break;
                default:
                    if (name.startsWith("_pq_.")) {
                        break; // protocol extensions: answered with NegotiateProtocolVersion
                    }
                    put(out, name, e.getValue());
            }
        }
        return new StartupParameters(out);
    }

    private static void put(Map<String, String> out, String name, String value) throws PgRelayException {
        if (!NAME.matcher(name).matches()) {
            throw new PgRelayException(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION,
                    "invalid startup parameter name \"" + name + "\""));
        }
        out.put(name, value);
    }

    /**
     * The "options" parameter holds command-line switches; pgrelay passes on {@code -c name=value} and
     * {@code --name=value} (the forms libpq's PGOPTIONS users write) and refuses the rest rather than drop them.
     */
    static void parseOptions(String options, Map<String, String> out) throws PgRelayException {
        List<String> words = splitOptions(options);
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            String assignment;
            if (w.equals("-c")) {
                if (i + 1 >= words.size()) {
                    throw unsupported("startup option \"-c\" in \"options\" needs name=value");
                }
                assignment = words.get(++i);
            } else if (w.startsWith("-c")) {
                assignment = w.substring(2);
            } else if (w.startsWith("--")) {
                assignment = w.substring(2);
            } else {
                throw unsupported("unsupported startup option \"" + w + "\" in \"options\"; pgrelay passes on "
                        + "only -c name=value");
            }
            int eq = assignment.indexOf('=');
            if (eq <= 0) {
                throw unsupported("startup option \"" + assignment + "\" in \"options\" is not name=value");
            }
            // Like PostgreSQL, dashes in option names stand for underscores.
            put(out, assignment.substring(0, eq).replace('-', '_'), assignment.substring(eq + 1));
        }
    }

    /** Splits on white space; a backslash makes the next character literal (PostgreSQL's pg_split_opts rule). */
    static List<String> splitOptions(String s) {
        List<String> words = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean inWord = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(cur.toString());
                    cur.setLength(0);
                    inWord = false;
                }
            } else {
                if (c == '\\' && i + 1 < s.length()) {
                    c = s.charAt(++i);
                }
                cur.append(c);
                inWord = true;
            }
        }
        if (inWord) {
            words.add(cur.toString());
        }
        return words;
    }

    private static PgRelayException unsupported(String message) {
        return new PgRelayException(ErrorResponse.fatal(SqlState.FEATURE_NOT_SUPPORTED, message));
    }
}
