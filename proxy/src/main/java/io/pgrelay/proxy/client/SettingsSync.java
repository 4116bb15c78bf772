package io.pgrelay.proxy.client;

import io.pgrelay.proxy.server.ServerConnection;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The run-time settings one client expects on whatever server connection it is given: the settings from its
 * StartupMessage, and the reported parameters (ParameterStatus) as it last saw them. Before a connection serves the
 * client, {@link #sql} says what to run to make the connection match, skipping what already matches.
 */
final class SettingsSync {
    /** Reported parameters a client can change; the rest (server_version, is_superuser...) are read-only. */
    private static final Set<String> SETTABLE_REPORTED = Set.of("application_name", "client_encoding", "datestyle",
            "intervalstyle", "timezone", "standard_conforming_strings", "search_path",
            "default_transaction_read_only", "scram_iterations");

    /** Lower-case name -> value, in the order the client gave them. */
    private final Map<String, String> desired = new LinkedHashMap<>();
    private Map<String, String> snapshot; // null when desired changed since the last snapshot()
    private static final java.util.concurrent.ConcurrentHashMap<Map<String, String>, Map<String, String>> SHARED =
            new java.util.concurrent.ConcurrentHashMap<>();
    private static final int MAX_SHARED = 10_000;

    SettingsSync(Map<String, String> startupSettings) {
        startupSettings.forEach((k, v) -> desired.put(k.toLowerCase(Locale.ROOT), v));
    }

    /** The client saw a ParameterStatus (its own SET, or the server's normalised value at login). */
    void reported(String name, String value) {
        String key = name.toLowerCase(Locale.ROOT);
        if (SETTABLE_REPORTED.contains(key) && !value.equals(desired.put(key, value))) {
            snapshot = null;
        }
    }

    /**
     * The desired settings as one shared object per distinct content, so that a connection last synced for another
     * client with the same settings (pgbench's, an application's many identical clients) needs no check at all. The
     * table is bounded: past it, a client gets a snapshot of its own and is merely checked every time.
     */
    Object snapshot() {
        Map<String, String> s = snapshot;
        if (s == null) {
            Map<String, String> copy = Map.copyOf(desired);
            s = SHARED.get(copy);
            if (s == null) {
                s = SHARED.size() < MAX_SHARED ? SHARED.computeIfAbsent(copy, k -> k) : copy;
            }
            snapshot = s;
        }
        return s;
    }

    /** Takes the server's normalised values for everything reported, e.g. "ISO, MDY" for a DateStyle of "ISO". */
    void reportedAll(Map<String, String> serverParameters) {
        serverParameters.forEach(this::reported);
    }

    /**
     * One query string that brings a connection with these reported parameters (by lower-case name) and these
     * pgrelay-applied settings to what the client expects; empty, and nothing allocated, when it already matches.
     */
    String sql(Map<String, String> reported, Map<String, String> applied) {
        StringBuilder set = null;
        for (Map.Entry<String, String> e : desired.entrySet()) {
            String key = e.getKey();
            String current = reported.containsKey(key) ? reported.get(key) : applied.get(key);
            if (!e.getValue().equals(current)) {
                if (set == null) {
                    set = new StringBuilder("SELECT ");
                } else {
                    set.append(", ");
                }
                // set_config() takes the value as raw text, as the startup packet and postgresql.conf do.
                set.append("pg_catalog.set_config(").append(ServerConnection.literal(key)).append(", ")
                        .append(ServerConnection.literal(e.getValue())).append(", false)");
            }
        }
        StringBuilder sql = set;
        for (String key : applied.keySet()) {
            if (!desired.containsKey(key)) {
                if (sql == null) {
                    sql = new StringBuilder();
                } else {
                    sql.append("; ");
                }
                sql.append("RESET \"").append(key.replace("\"", "\"\"")).append('"');
            }
        }
        return sql == null ? "" : sql.toString();
    }

    /** After {@link #sql} ran: what pgrelay has applied on that connection beyond the reported parameters. */
    void recordApplied(Map<String, String> reported, Map<String, String> applied) {
        applied.clear();
        desired.forEach((k, v) -> {
            if (!reported.containsKey(k)) {
                applied.put(k, v);
            }
        });
    }
}
