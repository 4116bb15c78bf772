package io.pgrelay.proxy.health;

import java.util.ArrayList;
import java.util.List;

/** libpq keyword/value connection strings, as in a standby's {@code primary_conninfo}. */
final class Conninfo {
    private Conninfo() {
    }

    /** {@code conninfo} with host and port replaced (and any hostaddr dropped), every other keyword kept. */
    static String withHostPort(String conninfo, String host, int port) {
        List<String[]> pairs = parse(conninfo);
        StringBuilder out = new StringBuilder();
        for (String[] kv : pairs) {
            if (!kv[0].equals("host") && !kv[0].equals("hostaddr") && !kv[0].equals("port")) {
                out.append(kv[0]).append('=').append(quote(kv[1])).append(' ');
            }
        }
        return out.append("host=").append(quote(host)).append(" port=").append(port).toString();
    }

    /** Keyword/value pairs; values may be single-quoted with backslash escapes. */
    static List<String[]> parse(String conninfo) {
        List<String[]> pairs = new ArrayList<>();
        int i = 0;
        int n = conninfo.length();
        while (true) {
            while (i < n && Character.isWhitespace(conninfo.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return pairs;
            }
            int start = i;
            while (i < n && conninfo.charAt(i) != '=' && !Character.isWhitespace(conninfo.charAt(i))) {
                i++;
            }
            String key = conninfo.substring(start, i);
            while (i < n && Character.isWhitespace(conninfo.charAt(i))) {
                i++;
            }
            if (i >= n || conninfo.charAt(i) != '=') {
                throw new IllegalArgumentException("missing \"=\" after \"" + key + "\" in connection info string");
            }
            i++;
            while (i < n && Character.isWhitespace(conninfo.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && conninfo.charAt(i) == '\'') {
                i++;
                while (i < n && conninfo.charAt(i) != '\'') {
                    if (conninfo.charAt(i) == '\\' && i + 1 < n) {
                        i++;
                    }
                    value.append(conninfo.charAt(i++));
                }
                if (i >= n) {
                    throw new IllegalArgumentException("unterminated quoted string in connection info string");
                }
                i++;
            } else {
                while (i < n && !Character.isWhitespace(conninfo.charAt(i))) {
                    if (conninfo.charAt(i) == '\\' && i + 1 < n) {
                        i++;
                    }
                    value.append(conninfo.charAt(i++));
                }
            }
            pairs.add(new String[] {key, value.toString()});
        }
    }

    private static String quote(String v) {
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
