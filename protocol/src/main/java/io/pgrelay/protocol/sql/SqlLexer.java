package io.pgrelay.protocol.sql;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * PostgreSQL's lexical rules over UTF-8 bytes (every syntax character is ASCII, every byte >= 0x80 is an identifier
 * character, so no decoding is needed). Tokens go into parallel int arrays: lexing a 16 kB statement must not create
 * thousands of objects. Comments and whitespace are dropped; a {@code pgrelay:} comment before the first token sets
 * {@link #hint()}. Anything PostgreSQL would reject lexically (unterminated string, comment or dollar quote, a stray
 * character, unbalanced parentheses) sets {@link #error()}: the caller then sends the text to the primary.
 */
final class SqlLexer {
    static final int IDENT = 1;     // unquoted identifier or keyword
    static final int QIDENT = 2;    // "quoted" or U&"quoted" identifier
    static final int STRING = 3;    // '...', E'...', U&'...', B'...', X'...', N'...', $tag$...$tag$
    static final int NUMBER = 4;
    static final int PARAM = 5;     // $1
    static final int OP = 6;        // operator characters, e.g. = <> ||
    static final int LPAREN = 7;
    static final int RPAREN = 8;
    static final int COMMA = 9;
    static final int SEMI = 10;
    static final int DOT = 11;
    static final int DCOLON = 12;   // ::
    static final int PUNCT = 13;    // [ ] :

    final byte[] src;
    private final boolean backslashQuotes;
    int count;
    int[] kind;
    int[] start;
    int[] end;
    /** For each LPAREN, the index of its RPAREN. */
    int[] match;
    private boolean error;
    private boolean backslashInPlainString;
    private RoleHint hint = RoleHint.NONE;

    private SqlLexer(byte[] src, boolean backslashQuotes) {
        this.src = src;
        this.backslashQuotes = backslashQuotes;
        int capacity = src.length / 3 + 16; // rarely outgrown: tokens plus separators average over 3 bytes
        kind = new int[capacity];
        start = new int[capacity];
        end = new int[capacity];
    }

    /**
     * @param backslashQuotes lex plain '...' strings as standard_conforming_strings = off would (backslash escapes)
     */
    static SqlLexer lex(byte[] src, boolean backslashQuotes) {
        SqlLexer lexer = new SqlLexer(src, backslashQuotes);
        lexer.run();
        if (!lexer.error) {
            lexer.matchParens();
        }
        return lexer;
    }

    boolean error() {
        return error;
    }

    /** A plain string held a backslash: with standard_conforming_strings = off it would lex differently. */
    boolean backslashInPlainString() {
        return backslashInPlainString;
    }

    RoleHint hint() {
        return hint;
    }

    private void run() {
        byte[] s = src;
        int n = s.length;
        int i = 0;
        while (i < n && !error) {
            int c = s[i] & 0xff;
            int next = i + 1 < n ? s[i + 1] & 0xff : -1;
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0b) {
                i++;
            } else if (c == '-' && next == '-') {
                int j = i + 2;
                while (j < n && s[j] != '\n' && s[j] != '\r') {
                    j++;
                }
                leadingComment(i + 2, j);
                i = j;
            } else if (c == '/' && next == '*') {
                i = blockComment(i);
            } else if (c == '\'') {
                i = quoted(i, i, '\'', backslashQuotes, !backslashQuotes);
            } else if ((c == 'e' || c == 'E') && next == '\'') {
                i = quoted(i, i + 1, '\'', true, false);
            } else if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' || c == 'N') && next == '\'') {
                i = quoted(i, i + 1, '\'', backslashQuotes, !backslashQuotes);
            } else if ((c == 'u' || c == 'U') && next == '&' && i + 2 < n && (s[i + 2] == '\'' || s[i + 2] == '"')) {
                i = quoted(i, i + 2, s[i + 2], false, false); // PostgreSQL refuses U&'' without standard strings
            } else if (c == '"') {
                i = quoted(i, i, '"', false, false);
            } else if (c == '$') {
                i = dollar(i);
            } else if (identStart(c)) {
                int j = i + 1;
                while (j < n && identPart(s[j] & 0xff)) {
                    j++;
                }
                i = add(IDENT, i, j);
            } else if (digit(c) || (c == '.' && next >= 0 && digit(next))) {
                i = add(NUMBER, i, number(i));
            } else if (c == '(') {
                i = add(LPAREN, i, i + 1);
            } else if (c == ')') {
                i = add(RPAREN, i, i + 1);
            } else if (c == ',') {
                i = add(COMMA, i, i + 1);
            } else if (c == ';') {
                i = add(SEMI, i, i + 1);
            } else if (c == '.') {
                i = add(DOT, i, i + 1);
            } else if (c == ':') {
                i = next == ':' ? add(DCOLON, i, i + 2) : add(PUNCT, i, i + 1);
            } else if (c == '[' || c == ']') {
                i = add(PUNCT, i, i + 1);
            } else if (opChar(c)) {
                int j = i + 1;
                // Like PostgreSQL: "--" or "/*" inside an operator starts a comment.
                while (j < n && opChar(s[j] & 0xff)
                        && !(j + 1 < n && ((s[j] == '-' && s[j + 1] == '-') || (s[j] == '/' && s[j + 1] == '*')))) {
                    j++;
                }
                i = add(OP, i, j);
            } else {
                error = true; // control character, backslash, ... : PostgreSQL says syntax error
            }
        }
    }

    private int blockComment(int from) {
        byte[] s = src;
        int depth = 1;
        int j = from + 2;
        while (j < s.length && depth > 0) {
            if (s[j] == '/' && j + 1 < s.length && s[j + 1] == '*') {
                depth++;
                j += 2;
            } else if (s[j] == '*' && j + 1 < s.length && s[j + 1] == '/') {
                depth--;
                j += 2;
            } else {
                j++;
            }
        }
        if (depth > 0) {
            error = true;
            return s.length;
        }
        leadingComment(from + 2, j - 2);
        return j;
    }

    /** A quoted token from {@code tokenStart}; the quote character is at {@code quote}. Returns the index after it. */
    private int quoted(int tokenStart, int quote, int q, boolean backslashEscapes, boolean noteBackslash) {
        byte[] s = src;
        int j = quote + 1;
        while (j < s.length) {
            byte b = s[j];
            if (b == q) {
                if (j + 1 < s.length && s[j + 1] == q) {
                    j += 2;
                    continue;
                }
                return add(q == '"' ? QIDENT : STRING, tokenStart, j + 1);
            }
            if (b == '\\') {
                if (noteBackslash) {
                    backslashInPlainString = true;
                }
                if (backslashEscapes) {
                    j++;
                }
            }
            j++;
        }
        error = true;
        return s.length;
    }

    private int dollar(int i) {
        byte[] s = src;
        int n = s.length;
        int j = i + 1;
        if (j < n && digit(s[j] & 0xff)) {
            while (j < n && digit(s[j] & 0xff)) {
                j++;
            }
            return add(PARAM, i, j);
        }
        if (j < n && identStart(s[j] & 0xff)) {
            while (j < n && identPart(s[j] & 0xff) && s[j] != '$') {
                j++;
            }
        }
        if (j >= n || s[j] != '$') {
            error = true;
            return n;
        }
        int tagLength = j + 1 - i;
        for (int k = j + 1; k + tagLength <= n; k++) {
            if (s[k] == '$' && Arrays.equals(s, k, k + tagLength, s, i, i + tagLength)) {
                return add(STRING, i, k + tagLength);
            }
        }
        error = true;
        return n;
    }

    private int number(int i) {
        byte[] s = src;
        int n = s.length;
        int j = i;
        if (s[j] == '0' && j + 1 < n && "xXoObB".indexOf(s[j + 1]) >= 0) {
            j += 2;
            while (j < n && (identPart(s[j] & 0xff) && s[j] != '$')) {
                j++;
            }
            return j;
        }
        while (j < n && (digit(s[j] & 0xff) || s[j] == '_')) {
            j++;
        }
        if (j < n && s[j] == '.' && !(j + 1 < n && s[j + 1] == '.')) {
            j++;
            while (j < n && (digit(s[j] & 0xff) || s[j] == '_')) {
                j++;
            }
        }
        if (j < n && (s[j] == 'e' || s[j] == 'E')) {
            int k = j + 1;
            if (k < n && (s[k] == '+' || s[k] == '-')) {
                k++;
            }
            if (k < n && digit(s[k] & 0xff)) {
                j = k;
                while (j < n && digit(s[j] & 0xff)) {
                    j++;
                }
            }
        }
        return j;
    }

    private int add(int k, int from, int to) {
        if (count == kind.length) {
            int capacity = count * 2;
            kind = Arrays.copyOf(kind, capacity);
            start = Arrays.copyOf(start, capacity);
            end = Arrays.copyOf(end, capacity);
        }
        kind[count] = k;
        start[count] = from;
        end[count] = to;
        count++;
        return to;
    }

    private void matchParens() {
        match = new int[count];
        int[] stack = new int[8];
        int depth = 0;
        for (int t = 0; t < count; t++) {
            if (kind[t] == LPAREN) {
                if (depth == stack.length) {
                    stack = Arrays.copyOf(stack, depth * 2);
                }
                stack[depth++] = t;
            } else if (kind[t] == RPAREN) {
                if (depth == 0) {
                    error = true;
                    return;
                }
                match[stack[--depth]] = t;
            }
        }
        error = depth != 0;
    }

    /** Comments before the first token may carry a routing hint: {@code pgrelay: primary|standby|auto}. */
    private void leadingComment(int from, int to) {
        if (count > 0) {
            return;
        }
        byte[] s = src;
        int i = skipSpace(s, from, to);
        if (!regionIs(s, i, to, "pgrelay")) {
            return;
        }
        i = skipSpace(s, i + 7, to);
        if (i >= to || s[i] != ':') {
            return;
        }
        i = skipSpace(s, i + 1, to);
        int j = i;
        while (j < to && identPart(s[j] & 0xff)) {
            j++;
        }
        if (skipSpace(s, j, to) != to) {
            return;
        }
        RoleHint h = roleHint(new String(s, i, j - i, StandardCharsets.UTF_8));
        if (h != RoleHint.NONE) {
            hint = h;
        }
    }

    /** primary, standby (or pgcat's replica), auto (or any / default); NONE otherwise. */
    static RoleHint roleHint(String value) {
        switch (value.toLowerCase(java.util.Locale.ROOT)) {
            case "primary":
                return RoleHint.PRIMARY;
            case "standby":
            case "replica":
                return RoleHint.STANDBY;
            case "auto":
            case "any":
            case "default":
                return RoleHint.AUTO;
            default:
                return RoleHint.NONE;
        }
    }

    private static int skipSpace(byte[] s, int i, int to) {
        while (i < to && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f')) {
            i++;
        }
        return i;
    }

    /** Case-insensitive (ASCII) comparison of s[i..] with a lower-case word. */
    private static boolean regionIs(byte[] s, int i, int to, String lower) {
        if (to - i < lower.length()) {
            return false;
        }
        for (int k = 0; k < lower.length(); k++) {
            if ((s[i + k] | 0x20) != lower.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    static boolean identStart(int c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }

    static boolean identPart(int c) {
        return identStart(c) || digit(c) || c == '$';
    }

    private static boolean digit(int c) {
        return c >= '0' && c <= '9';
    }

    private static boolean opChar(int c) {
        return "~!@#^&|`?+-*/%<>=".indexOf(c) >= 0;
    }

    // --- token access -------------------------------------------------------------------------------------------

    /** Token t is the unquoted keyword {@code lower} (ASCII case-insensitive). */
    boolean is(int t, String lower) {
        if (t < 0 || t >= count || kind[t] != IDENT) {
            return false;
        }
        int from = start[t];
        int length = end[t] - from;
        if (length != lower.length()) {
            return false;
        }
        byte[] s = src;
        for (int k = 0; k < length; k++) {
            int c = s[from + k];
            if (c >= 'A' && c <= 'Z') {
                c += 32;
            }
            if (c != lower.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    int kind(int t) {
        return t >= 0 && t < count ? kind[t] : 0;
    }

    /** An identifier's name (unquoted: ASCII lower-cased; quoted: as written), a string's value, else the text. */
    String text(int t) {
        int from = start[t];
        int to = end[t];
        byte[] s = src;
        switch (kind[t]) {
            case IDENT: {
                byte[] b = Arrays.copyOfRange(s, from, to);
                for (int k = 0; k < b.length; k++) {
                    if (b[k] >= 'A' && b[k] <= 'Z') {
                        b[k] += 32;
                    }
                }
                return new String(b, StandardCharsets.UTF_8);
            }
            case QIDENT:
                return unquote(s, s[from] == '"' ? from : from + 2, to, '"');
            case STRING:
                if (s[from] == '$') {
                    int tag = from + 1;
                    while (s[tag] != '$') {
                        tag++;
                    }
                    int tagLength = tag + 1 - from;
                    return new String(s, from + tagLength, to - from - 2 * tagLength, StandardCharsets.UTF_8);
                }
                int quote = from;
                while (s[quote] != '\'') {
                    quote++;
                }
                return unquote(s, quote, to, '\'');
            default:
                return new String(s, from, to - from, StandardCharsets.UTF_8);
        }
    }

    /** Only doubled quotes are undone: escapes stay as written, so an escaped value never equals a plain keyword. */
    private static String unquote(byte[] s, int quote, int to, char q) {
        String inner = new String(s, quote + 1, to - quote - 2, StandardCharsets.UTF_8);
        return q == '"' ? inner.replace("\"\"", "\"") : inner.replace("''", "'");
    }
}
