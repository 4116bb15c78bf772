package io.pgrelay.protocol.sql;

import io.netty.buffer.ByteBuf;

import java.util.List;

/**
 * The commonest read there is, recognised without lexing: one SELECT made only of names, numbers, commas, dots,
 * {@code *} and comparison operators, e.g. {@code SELECT abalance FROM pgbench_accounts WHERE aid = 4711}. Clients
 * that put literals inline send a different text each time, so the cache never helps them; this scan answers them
 * with no allocation. Anything it is not sure of (a parenthesis, so any function call; a quote; a comment, so any
 * hint; a second statement; INTO, FOR, INSERT, UPDATE, DELETE, MERGE anywhere) goes to the {@link Analyzer}, whose
 * verdict on every text this accepts is the same ({@code PlainSelectTest} holds the two to that).
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

    /** Whether the UTF-8 text at {@code index} is such a SELECT. The buffer is only read. */
    static boolean matches(ByteBuf buf, int index, int length) {
        int end = index + length;
        int i = index;
        boolean first = true;
        while (i < end) {
            int c = buf.getByte(i);
            byte kind = c >= 0 ? CLASS[c] : 0;
            if (kind == SPACE || kind == SIGN && !first) {
                i++;
            } else if (kind == NAME_START) {
                int from = i;
                do {
                    i++;
                } while (i < end && isNamePart(buf.getByte(i)));
                if (first ? !is(buf, from, i, "select") : isBarred(buf, from, i)) {
                    return false;
                }
                first = false;
            } else if (kind == DIGIT && !first) {
                do {
                    i++;
                } while (i < end && isNumberPart(buf.getByte(i)));
                if (i < end && (buf.getByte(i) < 0 || CLASS[buf.getByte(i)] == NAME_START)) {
                    return false; // 1e5, 0x1f, 12abc: the lexer's business
                }
            } else if (kind == SEMI && !first) {
                for (i++; i < end; i++) {
                    int d = buf.getByte(i);
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
    private static boolean isBarred(ByteBuf buf, int from, int to) {
        return switch (to - from) {
            case 3 -> is(buf, from, to, "for");
            case 4 -> is(buf, from, to, "into");
            case 5 -> is(buf, from, to, "merge");
            case 6 -> is(buf, from, to, "insert") || is(buf, from, to, "update") || is(buf, from, to, "delete");
            default -> false;
        };
    }

    /** Case-insensitive ASCII comparison with a lower-case word. */
    private static boolean is(ByteBuf buf, int from, int to, String word) {
        if (to - from != word.length()) {
            return false;
        }
        for (int k = 0; k < word.length(); k++) {
            if ((buf.getByte(from + k) | 0x20) != word.charAt(k)) {
                return false;
            }
        }
        return true;
    }
}
