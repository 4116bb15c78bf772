package io.pgrelay.config;

import java.util.ArrayList;
import java.util.List;

/** A position in the TOML tree, e.g. {@code pools."my.db".users.0}; array elements use their index. */
record KeyPath(List<String> segments) {

    static final KeyPath ROOT = new KeyPath(List.of());

    KeyPath {
        segments = List.copyOf(segments);
    }

    static KeyPath of(String... segments) {
        return new KeyPath(List.of(segments));
    }

    KeyPath child(String key) {
        List<String> s = new ArrayList<>(segments.size() + 1);
        s.addAll(segments);
        s.add(key);
        return new KeyPath(s);
    }

    KeyPath child(int index) {
        return child(Integer.toString(index));
    }

    /** The enclosing path; null for the root. */
    KeyPath parent() {
        return segments.isEmpty() ? null : new KeyPath(segments.subList(0, segments.size() - 1));
    }

    boolean isRoot() {
        return segments.isEmpty();
    }

    /** Dotted form, quoting segments the way TOML would need them so the path can be pasted back. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (String s : segments) {
            if (b.length() > 0) {
                b.append('.');
            }
            if (isBare(s)) {
                b.append(s);
            } else {
                b.append('"').append(s.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            }
        }
        return b.toString();
    }

    private static boolean isBare(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!isBareChar(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    static boolean isBareChar(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-';
    }
}
