package io.pgrelay.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Typed access to the values of a parsed TOML tree for {@link ConfigReader}: an absent key gives its default, a wrong
 * one records a problem naming its key path and line and gives null, so one run reports every problem.
 */
abstract class TomlFields {
    static final long MAX_INT = Integer.MAX_VALUE;
    static final String MISSING = "required key is missing";

    final String source;
    private final LineIndex index;
    final List<ConfigProblem> problems = new ArrayList<>();
    final List<ConfigProblem> warnings = new ArrayList<>();

    TomlFields(String source, LineIndex index) {
        this.source = source;
        this.index = index;
    }

    String readableFile(ObjectNode t, KeyPath p, String key) {
        String name = nonEmptyString(t, p, key, null);
        if (name == null) {
            return null;
        }
        java.nio.file.Path file = java.nio.file.Path.of(name);
        if (!java.nio.file.Files.isRegularFile(file)) {
            problem(p.child(key), "file " + quote(name) + " does not exist");
            return null;
        }
        if (!java.nio.file.Files.isReadable(file)) {
            problem(p.child(key), "file " + quote(name) + " is not readable");
            return null;
        }
        return name;
    }

    Boolean bool(ObjectNode t, KeyPath p, String key, boolean defaultValue) {
        JsonNode n = t.get(key);
        if (n == null) {
            return defaultValue;
        }
        if (!n.isBoolean()) {
            problem(p.child(key), "expected true or false, got " + describe(n, false));
            return null;
        }
        return n.booleanValue();
    }

    List<String> stringList(ObjectNode t, KeyPath p, String key) {
        JsonNode n = t.get(key);
        if (n == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (!n.isArray()) {
            problem(p.child(key), "expected an array of strings, got " + describe(n, false));
            return null;
        }
        for (JsonNode e : n) {
            if (!e.isTextual() || e.textValue().isEmpty()) {
                problem(p.child(key), "expected non-empty strings, got " + describe(e, false));
                return null;
            }
            out.add(e.textValue());
        }
        return out;
    }

    // ---- typed access: absent -> default; wrong -> problem and null ----

    /** A table that must be there and hold something; {@code emptyMessage} says what it must hold. */
    ObjectNode requiredTable(JsonNode node, KeyPath p, String emptyMessage) {
        if (node == null) {
            problem(p, MISSING);
            return null;
        }
        ObjectNode t = table(node, p);
        if (t != null && t.isEmpty()) {
            problem(p, emptyMessage);
            return null;
        }
        return t;
    }

    ObjectNode table(JsonNode node, KeyPath p) {
        if (node.isObject()) {
            return (ObjectNode) node;
        }
        boolean arrayOfTables = node.isArray() && !node.isEmpty() && node.get(0).isObject();
        problem(p, "expected a table, got " + describe(node, false) + (arrayOfTables
                ? " (write numbered tables [" + p + ".0], [" + p + ".1] instead of [[" + p + "]])" : ""));
        return null;
    }

    String requiredString(ObjectNode t, KeyPath p, String key) {
        if (!t.has(key)) {
            problem(p.child(key), MISSING);
            return null;
        }
        return nonEmptyString(t, p, key, null);
    }

    String nonEmptyString(ObjectNode t, KeyPath p, String key, String defaultValue) {
        JsonNode n = t.get(key);
        if (n == null) {
            return defaultValue;
        }
        if (!n.isTextual()) {
            problem(p.child(key), "expected a string, got " + describe(n, isSecret(key)));
            return null;
        }
        if (n.textValue().isEmpty()) {
            problem(p.child(key), "must not be empty");
            return null;
        }
        return n.textValue();
    }

    Long integer(ObjectNode t, KeyPath p, String key, long defaultValue, long min, long max) {
        JsonNode n = t.get(key);
        return n == null ? Long.valueOf(defaultValue) : integerValue(n, p.child(key), "", min, max);
    }

    Long integerValue(JsonNode n, KeyPath p, String what, long min, long max) {
        if (!n.isIntegralNumber()) {
            problem(p, what + "expected an integer, got " + describe(n, false));
            return null;
        }
        boolean fits = n.canConvertToLong() && n.longValue() >= min && n.longValue() <= max;
        if (fits) {
            return n.longValue();
        }
        if (max < MAX_INT) {
            problem(p, what + "must be between " + min + " and " + max + ", got " + n.asText());
        } else if (n.canConvertToLong() && n.longValue() < min) {
            problem(p, what + (min == 0 ? "must not be negative" : "must be at least " + min));
        } else {
            problem(p, what + "must be at most " + max);
        }
        return null;
    }

    /** Durations are whole milliseconds, as in pgcat; 0 means no limit. */
    Duration duration(ObjectNode t, KeyPath p, String key, long defaultMillis) {
        Long millis = integer(t, p, key, defaultMillis, 0, Long.MAX_VALUE);
        return millis == null ? null : Duration.ofMillis(millis);
    }

    <E> E choice(ObjectNode t, KeyPath p, String key, E[] values, Function<E, String> name, E defaultValue) {
        JsonNode n = t.get(key);
        return n == null ? defaultValue : choiceValue(n, p.child(key), "", values, name);
    }

    <E> E choiceValue(JsonNode n, KeyPath p, String what, E[] values, Function<E, String> name) {
        E found = findChoice(n, values, name);
        if (found == null) {
            String allowed = Stream.of(values).map(v -> quote(name.apply(v))).collect(Collectors.joining(", "));
            problem(p, what + "expected one of " + allowed + ", got "
                    + (n.isTextual() ? quote(n.textValue()) : describe(n, false)));
        }
        return found;
    }

    /** Case-insensitive, as pgcat accepts "Transaction" and "transaction" alike. */
    static <E> E findChoice(JsonNode n, E[] values, Function<E, String> name) {
        if (n.isTextual()) {
            for (E v : values) {
                if (name.apply(v).equalsIgnoreCase(n.textValue())) {
                    return v;
                }
            }
        }
        return null;
    }

    void checkKeys(ObjectNode t, KeyPath p, Set<String> known, Set<String> pgcatOnly) {
        for (Map.Entry<String, JsonNode> field : t.properties()) {
            String key = field.getKey();
            if (known.contains(key)) {
                continue;
            }
            if (pgcatOnly.contains(key)) {
                warnings.add(at(p.child(key), "pgcat key not supported yet, ignored"));
                continue;
            }
            Set<String> candidates = new TreeSet<>(known);
            candidates.addAll(pgcatOnly);
            String suggestion = ConfigKeys.suggest(key, candidates);
            problem(p.child(key), "unknown key" + (suggestion == null ? "" : " (did you mean " + quote(suggestion) + "?)"));
        }
    }

    // ---- messages ----

    void problem(KeyPath p, String message) {
        problems.add(at(p, message));
    }

    private ConfigProblem at(KeyPath p, String message) {
        return new ConfigProblem(source, index.lineOf(p), p.toString(), message);
    }

    static List<ConfigProblem> inLineOrder(List<ConfigProblem> list) {
        List<ConfigProblem> sorted = new ArrayList<>(list);
        sorted.sort(Comparator.comparingInt(ConfigProblem::line)); // stable: same line keeps discovery order
        return sorted;
    }

    private static boolean isSecret(String key) {
        return key.contains("password");
    }

    /** What a value is, for "got ..." messages; secrets show their type only. */
    static String describe(JsonNode n, boolean secret) {
        if (n.isTextual()) {
            return secret ? "a string" : "string " + quote(n.textValue());
        }
        String type;
        if (n.isBoolean()) {
            type = "boolean";
        } else if (n.isIntegralNumber()) {
            type = "integer";
        } else if (n.isNumber()) {
            type = "float";
        } else if (n.isArray()) {
            return n.isEmpty() ? "an empty array" : "an array of " + n.size() + (n.size() == 1 ? " element" : " elements");
        } else if (n.isObject()) {
            return "a table";
        } else {
            return n.getNodeType().toString().toLowerCase(Locale.ROOT);
        }
        return secret ? type : type + " " + n.asText();
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        int limit = Math.min(s.length(), 60);
        for (int i = 0; i < limit; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append(s.length() > limit ? "...\"" : "\"").toString();
    }
}
