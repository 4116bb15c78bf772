package io.pgrelay.config;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Line numbers of keys, tables and array elements. Jackson's tree carries no locations, so this scans the text
 * itself. It is not a validating parser: it runs on text Jackson accepted (or on the valid prefix before a
 * duplicate key) and only has to place messages, so on anything unexpected it stops and keeps what it found.
 */
final class LineIndex {

    private final Map<KeyPath, Integer> lines = new HashMap<>();
    private final Set<KeyPath> defined = new HashSet<>();
    private KeyPath duplicate;
    private int duplicateLine;

    private LineIndex() {
    }

    static LineIndex of(String text) {
        LineIndex index = new LineIndex();
        try {
            new Scanner(text, index).document();
        } catch (RuntimeException stopped) {
            // Best effort by design: keep the lines found so far.
        }
        return index;
    }

    /** Line of the path, else of its nearest enclosing key or table (a missing key reports its table); 0 if none. */
    int lineOf(KeyPath path) {
        for (KeyPath p = path; p != null; p = p.parent()) {
            Integer line = lines.get(p);
            if (line != null) {
                return line;
            }
        }
        return 0;
    }

    /** The first key or table defined twice, or null. */
    KeyPath duplicate() {
        return duplicate;
    }

    int duplicateLine() {
        return duplicateLine;
    }

    private void implicit(KeyPath path, int line) {
        lines.putIfAbsent(path, line);
    }

    private void define(KeyPath path, int line) {
        if (!defined.add(path)) {
            if (duplicate == null) {
                duplicate = path;
                duplicateLine = line;
            }
            return;
        }
        lines.put(path, line); // an explicit [table] header wins over an earlier implicit mention
    }

    private static final class Scanner {
        private final String s;
        private final LineIndex index;
        private final Map<KeyPath, Integer> arrayTableCounts = new HashMap<>();
        private KeyPath table = KeyPath.ROOT;
        private int pos;
        private int line = 1;

        Scanner(String s, LineIndex index) {
            this.s = s;
            this.index = index;
        }

        void document() {
            while (true) {
                skipTrivia(true);
                if (eof()) {
                    return;
                }
                if (peek() == '[') {
                    header();
                } else {
                    keyValue(table);
                }
                skipRestOfLine();
            }
        }

        private void header() {
            int at = line;
            boolean arrayOfTables = s.startsWith("[[", pos);
            pos += arrayOfTables ? 2 : 1;
            KeyPath key = key(KeyPath.ROOT);
            skipSpaces();
            for (int i = 0; i < (arrayOfTables ? 2 : 1) && !eof() && peek() == ']'; i++) {
                pos++;
            }
            implicitParents(key, KeyPath.ROOT, at);
            if (arrayOfTables) {
                index.implicit(key, at);
                int n = arrayTableCounts.merge(key, 1, Integer::sum) - 1;
                table = key.child(n);
            } else {
                table = key;
            }
            index.define(table, at);
        }

        private void keyValue(KeyPath base) {
            int at = line;
            KeyPath key = key(base);
            skipSpaces();
            if (eof() || peek() != '=') {
                throw new IllegalStateException("no '=' after key");
            }
            pos++;
            skipSpaces();
            implicitParents(key, base, at);
            index.define(key, at);
            value(key);
        }

        private void implicitParents(KeyPath key, KeyPath base, int at) {
            for (KeyPath p = key.parent(); p != null && !p.equals(base) && !p.isRoot(); p = p.parent()) {
                index.implicit(p, at);
            }
        }

        private KeyPath key(KeyPath base) {
            KeyPath key = base;
            while (true) {
                skipSpaces();
                if (eof()) {
                    throw new IllegalStateException("end of text in a key");
                }
                char c = peek();
                String segment;
                if (c == '"') {
                    segment = basicKey();
                } else if (c == '\'') {
                    int start = ++pos;
                    while (!eof() && peek() != '\'' && peek() != '\n') {
                        pos++;
                    }
                    segment = s.substring(start, pos);
                    pos++;
                } else {
                    int start = pos;
                    while (!eof() && KeyPath.isBareChar(peek())) {
                        pos++;
                    }
                    if (pos == start) {
                        throw new IllegalStateException("not a key");
                    }
                    segment = s.substring(start, pos);
                }
                key = key.child(segment);
                skipSpaces();
                if (!eof() && peek() == '.') {
                    pos++;
                } else {
                    return key;
                }
            }
        }

        private String basicKey() {
            StringBuilder b = new StringBuilder();
            pos++;
            while (!eof()) {
                char c = next();
                if (c == '"') {
                    return b.toString();
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                char e = next();
                switch (e) {
                    case 'b' -> b.append('\b');
                    case 't' -> b.append('\t');
                    case 'n' -> b.append('\n');
                    case 'f' -> b.append('\f');
                    case 'r' -> b.append('\r');
                    case 'e' -> b.append('\u001b');
                    case 'u', 'U' -> {
                        int digits = e == 'u' ? 4 : 8;
                        b.appendCodePoint(Integer.parseInt(s.substring(pos, pos + digits), 16));
                        pos += digits;
                    }
                    default -> b.append(e);
                }
            }
            throw new IllegalStateException("unterminated key");
        }

        private void value(KeyPath path) {
            if (eof()) {
                return;
            }
            char c = peek();
            if (c == '[') {
                pos++;
                for (int i = 0; ; i++) {
                    skipTrivia(true);
                    if (eof() || peek() == ']') {
                        pos++;
                        return;
                    }
                    KeyPath element = path.child(i);
                    index.define(element, line);
                    value(element);
                    separator(']');
                }
            } else if (c == '{') {
                pos++;
                while (true) {
                    skipTrivia(true);
                    if (eof() || peek() == '}') {
                        pos++;
                        return;
                    }
                    keyValue(path);
                    separator('}');
                }
            } else if (c == '"' || c == '\'') {
                skipString(c);
            } else {
                int start = pos;
                while (!eof() && ",]}#\n".indexOf(peek()) < 0) {
                    pos++;
                }
                if (pos == start) {
                    throw new IllegalStateException("no value");
                }
            }
        }

        private void separator(char close) {
            skipTrivia(true);
            if (!eof() && peek() == ',') {
                pos++;
            } else if (!eof() && peek() != close) {
                throw new IllegalStateException("expected ',' or '" + close + "'");
            }
        }

        private void skipString(char quote) {
            boolean basic = quote == '"';
            String triple = basic ? "\"\"\"" : "'''";
            boolean multiline = s.startsWith(triple, pos);
            pos += multiline ? 3 : 1;
            while (!eof()) {
                char c = peek();
                if (basic && c == '\\') {
                    next();
                    next();
                } else if (multiline ? s.startsWith(triple, pos) : c == quote) {
                    pos += multiline ? 3 : 1;
                    while (multiline && !eof() && peek() == quote) {
                        pos++; // up to two quotes may end the content right before the closing triple
                    }
                    return;
                } else if (!multiline && c == '\n') {
                    return;
                } else {
                    next();
                }
            }
        }

        private void skipTrivia(boolean newlines) {
            while (!eof()) {
                char c = peek();
                if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
                    next();
                } else if (c == '#') {
                    while (!eof() && peek() != '\n') {
                        pos++;
                    }
                } else {
                    return;
                }
            }
        }

        private void skipRestOfLine() {
            while (!eof() && next() != '\n') {
                // a comment or trailing blanks
            }
        }

        private void skipSpaces() {
            while (!eof() && (peek() == ' ' || peek() == '\t')) {
                pos++;
            }
        }

        private boolean eof() {
            return pos >= s.length();
        }

        private char peek() {
            return s.charAt(pos);
        }

        private char next() {
            char c = s.charAt(pos++);
            if (c == '\n') {
                line++;
            }
            return c;
        }
    }
}
