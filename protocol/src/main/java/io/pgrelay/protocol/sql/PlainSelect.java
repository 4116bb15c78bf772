package io.pgrelay.protocol.sql;

import io.netty.buffer.ByteBuf;

import java.util.List;

/**
 * The commonest read there is, recognised without lexing: one SELECT made only of names, numbers, commas, dots,
 * {@code *} and comparison operators, e.g. {@code SELECT abalance FROM pgbench_accounts WHERE aid = 4711}. Clients
 * that put literals inline send a different text each time, so the cache never helps them; this scan answers them
 * with no allocation, and its verdicts are never cached (see StatementClassifier). Anything it is not sure of (a
 * parenthesis, so any function call; a quote; a comment, so any hint; a second statement; INTO, FOR, INSERT, UPDATE,
 * DELETE, MERGE anywhere) goes to the {@link Analyzer}, whose verdict on every text this accepts is the same
 * ({@code PlainSelectTest} holds the two to that).
 */
final class PlainSelect {
    static final Classification READ = new Classification(Route.STANDBY, Command.QUERY, RoleHint.NONE, List.of());

    private static final byte NAME_START = 1;
    private static final byte DIGIT = 2;
    private static final byte SPACE = 3;
    private static final byte SIGN = 4; // , . * = < > ! +
    private static final byte SEMI = 5;
    private static final byte[] CLASS = new byte[128];

    static {
        for (int c = 'a'; c <= 'z'; c++) {
            CLASS[c] = NAME_START;
            CLASS[c - 'a' + 'A'] = NAME_START;
        }
        CLASS['_'] = NAME_START;
        for (int c = '0'; c <= '9'; c++) {
            CLASS[c] = DIGIT;
        }
        for (char c : " \t\n\r\f".toCharArray()) {
            CLASS[c] = SPACE;
        }
        for (char c : ",.*=<>!+".toCharArray()) {
            CLASS[c] = SIGN;
        }
        CLASS[';'] = SEMI;
    }

    private PlainSelect() {
    }

    /**
     * Longer texts are left to the analyzer (and the cache): a plain SELECT is short, and a long text that is not one
     * (an ORM's 1 KB join gives up after 700 bytes) would pay for the scan on top of the analysis.
     */
    static final int MAX_LENGTH = 512;
    private static final ThreadLocal<byte[]> SCRATCH = ThreadLocal.withInitial(() -> new byte[MAX_LENGTH]);

    /** Whether the UTF-8 text at {@code index} is such a SELECT. The buffer is only read. */
    static boolean matches(ByteBuf buf, int index, int length) {
        if (length > MAX_LENGTH) {
            return false;
        }
        if (buf.hasArray()) {
            return matches(buf.array(), buf.arrayOffset() + index, length);
        }
        byte[] scratch = SCRATCH.get(); // one bulk copy: scanning the array beats a bounds-checked getByte per byte
        buf.getBytes(index, scratch, 0, length);
        return matches(scratch, 0, length);
    }

    static boolean matches(byte[] b, int from, int length) {
        if (length > MAX_LENGTH) {
            return false;
        }
        int end = from + length;
        int i = from;
        boolean first = true;
        while (i < end) {
            int c = b[i];
            byte kind = c >= 0 ? CLASS[c] : 0;
            if (kind == SPACE || kind == SIGN && !first) {
                i++;
            } else if (kind == NAME_START) {
                int start = i;
                do {
                    i++;
                } while (i < end && isNamePart(b[i]));
                if (first ? !is(b, start, i, "select") : isBarred(b, start, i)) {
                    return false;
                }
                first = false;
            } else if (kind == DIGIT && !first) {
                do {
                    i++;
                } while (i < end && isNumberPart(b[i]));
                if (i < end && (b[i] < 0 || CLASS[b[i]] == NAME_START)) {
                    return false; // 1e5, 0x1f, 12abc: the lexer's business
                }
            } else if (kind == SEMI && !first) {
                for (i++; i < end; i++) {
                    int d = b[i];
                    if (d < 0 || CLASS[d] != SPACE) {
                        return false; // a second statement
                    }
                }
            } else {
                return false;
            }
        }
        return !first;
    }

    private static boolean isNumberPart(byte b) {
        return b >= 0 && (CLASS[b] == DIGIT || b == '.');
    }

    private static boolean isNamePart(byte b) {
        return b >= 0 && (CLASS[b] == NAME_START || CLASS[b] == DIGIT);
    }

    /** Names that can make a SELECT write or lock: left to the analyzer. */
    private static boolean isBarred(byte[] b, int from, int to) {
        return switch (to - from) {
            case 3 -> is(b, from, to, "for");
            case 4 -> is(b, from, to, "into");
            case 5 -> is(b, from, to, "merge");
            case 6 -> is(b, from, to, "insert") || is(b, from, to, "update") || is(b, from, to, "delete");
            default -> false;
        };
    }

    /** Case-insensitive ASCII comparison with a lower-case word. */
    private static boolean is(byte[] b, int from, int to, String word) {
        if (to - from != word.length()) {
            return false;
        }
        for (int k = 0; k < word.length(); k++) {
            if ((b[from + k] | 0x20) != word.charAt(k)) {
                return false;
            }
        }
        return true;
    }
}
