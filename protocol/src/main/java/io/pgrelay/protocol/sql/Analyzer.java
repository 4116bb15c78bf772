package io.pgrelay.protocol.sql;

import static io.pgrelay.protocol.sql.SqlLexer.COMMA;
import static io.pgrelay.protocol.sql.SqlLexer.DCOLON;
import static io.pgrelay.protocol.sql.SqlLexer.DOT;
import static io.pgrelay.protocol.sql.SqlLexer.IDENT;
import static io.pgrelay.protocol.sql.SqlLexer.LPAREN;
import static io.pgrelay.protocol.sql.SqlLexer.NUMBER;
import static io.pgrelay.protocol.sql.SqlLexer.OP;
import static io.pgrelay.protocol.sql.SqlLexer.QIDENT;
import static io.pgrelay.protocol.sql.SqlLexer.RPAREN;
import static io.pgrelay.protocol.sql.SqlLexer.SEMI;
import static io.pgrelay.protocol.sql.SqlLexer.STRING;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Classifies the statements of one lexed text. Deliberately not a parser: it recognises the few statement shapes
 * that may go to a standby or that the router must see, and sends everything else to the primary. Inside a query it
 * looks for what makes a read a write: INSERT/UPDATE/DELETE/MERGE (data-modifying CTEs), INTO, a locking clause,
 * and calls of functions that write or whose behaviour is unknown.
 */
final class Analyzer {
    /** The verdict on one statement of a (possibly multi-statement) text; value is a SET_ROLE_HINT's value. */
    private record Part(Route route, Command command, RoleHint value, Set<String> unknown) {
        static final Part PRIMARY = new Part(Route.PRIMARY, Command.QUERY, RoleHint.NONE, Set.of());
        static final Part STANDBY = new Part(Route.STANDBY, Command.QUERY, RoleHint.NONE, Set.of());

        static Part of(Route route, Command command) {
            return new Part(route, command, RoleHint.NONE, Set.of());
        }

        boolean readOrUnknown() {
            return command == Command.QUERY && (route == Route.STANDBY || !unknown.isEmpty());
        }
    }

    private static final int READ_ONLY = 1;
    private static final int READ_WRITE = 2;
    private static final int SERIALIZABLE = 4; // a standby refuses SERIALIZABLE: such transactions stay on the primary
    private static final int INVALID = 8;

    private final List<Pattern> writeFunctions;
    private final List<Pattern> readOnlyFunctions;
    private final FunctionCatalog catalog;

    Analyzer(ClassifierSettings settings, FunctionCatalog catalog) {
        this.writeFunctions = settings.writeFunctions();
        this.readOnlyFunctions = settings.readOnlyFunctions();
        this.catalog = catalog;
    }

    Classification analyze(byte[] text) {
        SqlLexer lexer = SqlLexer.lex(text, false);
        Classification result = analyze(lexer);
        if (!lexer.error() && lexer.backslashInPlainString()) {
            // With standard_conforming_strings = off the same bytes lex differently: both readings must agree.
            Classification other = analyze(SqlLexer.lex(text, true));
            if (!other.equals(result)) {
                Command command = other.command() == result.command() ? result.command() : Command.QUERY;
                return new Classification(Route.PRIMARY, command, result.hint(), List.of());
            }
        }
        return result;
    }

    private Classification analyze(SqlLexer lx) {
        if (lx.error()) {
            return new Classification(Route.PRIMARY, Command.QUERY, lx.hint(), List.of());
        }
        List<Part> parts = new ArrayList<>(1);
        int from = 0;
        int depth = 0;
        for (int t = 0; t <= lx.count; t++) {
            int k = lx.kind(t);
            if (k == LPAREN) {
                depth++;
            } else if (k == RPAREN) {
                depth--;
            } else if (t == lx.count || k == SEMI) {
                if (depth != 0) {
                    return new Classification(Route.PRIMARY, Command.QUERY, lx.hint(), List.of());
                }
                if (t > from) {
                    parts.add(statement(lx, from, t));
                }
                from = t + 1;
            }
        }
        if (parts.isEmpty()) {
            return new Classification(Route.PRIMARY, Command.QUERY, lx.hint(), List.of());
        }
        if (parts.size() == 1) {
            Part p = parts.get(0);
            RoleHint hint = p.command == Command.SET_ROLE_HINT ? p.value : lx.hint();
            return new Classification(p.route, p.command, hint, new ArrayList<>(p.unknown));
        }
        // Several statements run as one implicit transaction on one server: all must be reads.
        Set<String> unknown = new LinkedHashSet<>();
        boolean allRead = true;
        for (Part p : parts) {
            if (!p.readOrUnknown()) {
                return new Classification(Route.PRIMARY, Command.QUERY, lx.hint(), List.of());
            }
            allRead &= p.route == Route.STANDBY;
            unknown.addAll(p.unknown);
        }
        return new Classification(allRead ? Route.STANDBY : Route.PRIMARY, Command.QUERY, lx.hint(),
                new ArrayList<>(unknown));
    }

    private Part statement(SqlLexer lx, int lo, int hi) {
        if (startsQuery(lx, lo)) {
            return query(lx, lo, hi);
        } else if (lx.is(lo, "show")) {
            return show(lx, lo + 1, hi);
        } else if (lx.is(lo, "explain")) {
            return explain(lx, lo + 1, hi);
        } else if (lx.is(lo, "begin")) {
            int i = lx.is(lo + 1, "work") || lx.is(lo + 1, "transaction") ? lo + 2 : lo + 1;
            return begin(modes(lx, i, hi));
        } else if (lx.is(lo, "start")) {
            return lx.is(lo + 1, "transaction") ? begin(modes(lx, lo + 2, hi)) : Part.PRIMARY;
        } else if (lx.is(lo, "commit") || lx.is(lo, "end") || lx.is(lo, "rollback") || lx.is(lo, "abort")) {
            return end(lx, lo + 1, hi);
        } else if (lx.is(lo, "set")) {
            return set(lx, lo + 1, hi);
        } else if (lx.is(lo, "reset")) {
            int e = nameEnd(lx, lo + 1, hi);
            return e == hi && dotted(lx, lo + 1, e).equals("pgrelay.role")
                    ? new Part(Route.PRIMARY, Command.SET_ROLE_HINT, RoleHint.AUTO, Set.of()) : Part.PRIMARY;
        } else if (lx.is(lo, "copy")) {
            return copy(lx, lo + 1, hi);
        }
        return Part.PRIMARY;
    }

    private static boolean startsQuery(SqlLexer lx, int t) {
        return lx.kind(t) == LPAREN || lx.is(t, "select") || lx.is(t, "with") || lx.is(t, "values")
                || lx.is(t, "table");
    }

    /** SELECT / WITH / VALUES / TABLE: a read unless something in it writes. */
    private Part query(SqlLexer lx, int lo, int hi) {
        if (lo >= hi || !startsQuery(lx, lo)) {
            return Part.PRIMARY;
        }
        Set<String> unknown = null;
        int operatorClose = -1;
        for (int i = lo; i < hi; i++) {
            int k = lx.kind[i];
            if (k == IDENT) {
                if (lx.is(i, "insert") || lx.is(i, "update") || lx.is(i, "delete") || lx.is(i, "merge")
                        || lx.is(i, "into")) {
                    return Part.PRIMARY; // data-modifying CTE, SELECT INTO, a locking clause
                }
                if (lx.is(i, "for") && (lx.is(i + 1, "share") || lx.is(i + 1, "no") || lx.is(i + 1, "key"))) {
                    return Part.PRIMARY;
                }
                if (lx.is(i, "operator") && lx.kind(i + 1) == LPAREN) {
                    i = operatorClose = lx.match[i + 1]; // OPERATOR(pg_catalog.~): no call inside
                    continue;
                }
            }
            if ((k == IDENT || k == QIDENT) && (i == lo || lx.kind[i - 1] != DOT)) {
                int j = i;
                while (j + 2 < hi && lx.kind[j + 1] == DOT && isName(lx, j + 2)) {
                    j += 2;
                }
                if (j + 1 < hi && lx.kind[j + 1] == LPAREN) {
                    String name = qualified(lx, i, j);
                    Boolean readOnly = function(lx, lo, i, j, name, operatorClose);
                    if (readOnly == Boolean.FALSE) {
                        return Part.PRIMARY;
                    } else if (readOnly == null) {
                        if (unknown == null) {
                            unknown = new LinkedHashSet<>();
                        }
                        unknown.add(name);
                    }
                    i = j; // the arguments are scanned like the rest
                }
            }
        }
        return unknown == null ? Part.STANDBY : new Part(Route.PRIMARY, Command.QUERY, RoleHint.NONE, unknown);
    }

    /**
     * A name followed by "(" spanning tokens i..j: TRUE when it is no call or a call that does not write, FALSE for a
     * writer, null when unknown.
     */
    private Boolean function(SqlLexer lx, int lo, int i, int j, String name, int operatorClose) {
        boolean qualifiedName = i != j;
        String bare = qualifiedName ? lx.text(j) : name;
        if (!qualifiedName && lx.kind[i] == IDENT && Builtins.NOT_FUNCTIONS.contains(name)) {
            return Boolean.TRUE;
        }
        // Writers are checked before the position: a writer's name where an alias could stand still counts.
        if (matches(writeFunctions, name) || matches(writeFunctions, bare) || Builtins.isWriter(bare)
                || (bare.equals("set_config") && !localSetConfig(lx, j + 1))) {
            return Boolean.FALSE;
        }
        if (notACall(lx, lo, i, j, operatorClose) || matches(readOnlyFunctions, name)) {
            return Boolean.TRUE;
        }
        if (qualifiedName ? j == i + 2 && (lx.text(i).equals("pg_catalog") || lx.text(i).equals("information_schema"))
                : Builtins.READERS.contains(bare)) {
            return Boolean.TRUE;
        }
        return catalog.isReadOnly(name);
    }

    /** Alias column lists (AS t(a, b), FROM f() g(x), FROM t x(a)), type modifiers (::numeric(10,2)), CTE names. */
    private static boolean notACall(SqlLexer lx, int lo, int i, int j, int operatorClose) {
        int prev = i - 1;
        if (prev >= lo) {
            int pk = lx.kind[prev];
            if (pk == DCOLON || lx.is(prev, "as") || lx.is(prev, "tablesample")
                    || (pk == RPAREN && prev != operatorClose)) {
                return true;
            }
            if ((pk == IDENT && !Builtins.NOT_FUNCTIONS.contains(lx.text(prev))) || pk == QIDENT) {
                int first = prev;
                while (first - 2 >= lo && lx.kind[first - 1] == DOT && isName(lx, first - 2)) {
                    first -= 2;
                }
                int before = first - 1;
                if (before >= lo && (lx.is(before, "from") || lx.is(before, "join") || lx.is(before, "only")
                        || lx.kind[before] == COMMA)) {
                    return true;
                }
            }
        }
        if (i == j) { // WITH name(a, b) AS [[NOT] MATERIALIZED] (
            int close = lx.match[j + 1];
            return lx.is(close + 1, "as") && (lx.kind(close + 2) == LPAREN || lx.is(close + 2, "not")
                    || lx.is(close + 2, "materialized"));
        }
        return false;
    }

    /** set_config(name, value, is_local) only stays inside the transaction when is_local is a literal true. */
    private static boolean localSetConfig(SqlLexer lx, int paren) {
        int close = lx.match[paren];
        int arg = 0;
        int argStart = paren + 1;
        for (int t = paren + 1; t <= close; t++) {
            if (lx.kind[t] == LPAREN) {
                t = lx.match[t];
            } else if (lx.kind[t] == COMMA || t == close) {
                if (++arg == 3) {
                    return t == close && t - argStart == 1 && isTrue(lx, argStart);
                }
                argStart = t + 1;
            }
        }
        return false;
    }

    private static boolean isTrue(SqlLexer lx, int t) {
        if (lx.is(t, "true")) {
            return true;
        }
        return lx.kind[t] == STRING && bool(lx.text(t)) == Boolean.TRUE;
    }

    /** PostgreSQL's parse_bool: on/off, true/false, yes/no, 1/0 and unique prefixes. */
    private static Boolean bool(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.equals("on") || v.equals("1") || (!v.isEmpty() && ("true".startsWith(v) || "yes".startsWith(v)))) {
            return Boolean.TRUE;
        }
        if (v.equals("of") || v.equals("off") || v.equals("0")
                || (!v.isEmpty() && ("false".startsWith(v) || "no".startsWith(v)))) {
            return Boolean.FALSE;
        }
        return null;
    }

    private static boolean matches(List<Pattern> patterns, String name) {
        for (Pattern p : patterns) {
            if (p.matcher(name).matches()) {
                return true;
            }
        }
        return false;
    }

    private Part show(SqlLexer lx, int i, int hi) {
        int e = nameEnd(lx, i, hi);
        if ((e == hi && dotted(lx, i, e).equals("pgrelay.role"))
                || (lx.is(i, "server") && lx.is(i + 1, "role") && i + 2 == hi)) {
            return Part.of(Route.PRIMARY, Command.SHOW_ROLE_HINT);
        }
        return i < hi ? Part.STANDBY : Part.PRIMARY; // SHOW never writes
    }

    /** EXPLAIN [ANALYZE] [VERBOSE] / EXPLAIN (options): a read when what it explains is a read. */
    private Part explain(SqlLexer lx, int i, int hi) {
        if (lx.kind(i) == LPAREN && !startsQuery(lx, i + 1)) {
            i = lx.match[i] + 1;
        } else {
            while (lx.is(i, "analyze") || lx.is(i, "analyse") || lx.is(i, "verbose")) {
                i++;
            }
        }
        return query(lx, i, hi);
    }

    /** COPY (query) TO STDOUT and COPY table [(columns)] TO STDOUT read; COPY FROM and TO a file stay. */
    private Part copy(SqlLexer lx, int i, int hi) {
        Part source = Part.STANDBY;
        if (lx.kind(i) == LPAREN) {
            source = query(lx, i + 1, lx.match[i]);
            i = lx.match[i] + 1;
        } else {
            int e = nameEnd(lx, i, hi);
            if (e == i) {
                return Part.PRIMARY;
            }
            i = lx.kind(e) == LPAREN ? lx.match[e] + 1 : e;
        }
        return lx.is(i, "to") && lx.is(i + 1, "stdout") ? source : Part.PRIMARY;
    }

    private static Part begin(int modes) {
        return (modes & (READ_ONLY | READ_WRITE | SERIALIZABLE | INVALID)) == READ_ONLY
                ? Part.of(Route.STANDBY, Command.BEGIN_READ_ONLY) : Part.of(Route.PRIMARY, Command.BEGIN);
    }

    private static Part end(SqlLexer lx, int i, int hi) {
        if (lx.is(i, "work") || lx.is(i, "transaction")) {
            i++;
        }
        if (i == hi || (lx.is(i, "and") && lx.is(i + 1, "no") && lx.is(i + 2, "chain") && i + 3 == hi)) {
            return Part.of(Route.PRIMARY, Command.END);
        }
        return Part.PRIMARY; // AND CHAIN, ROLLBACK TO SAVEPOINT, COMMIT PREPARED, ...
    }

    /** Transaction modes: ISOLATION LEVEL ..., READ ONLY, READ WRITE, [NOT] DEFERRABLE, separated by optional commas. */
    private static int modes(SqlLexer lx, int i, int hi) {
        int flags = 0;
        while (i < hi) {
            if (lx.kind[i] == COMMA) {
                i++;
            } else if (lx.is(i, "isolation") && lx.is(i + 1, "level")) {
                if (lx.is(i + 2, "serializable")) {
                    flags |= SERIALIZABLE;
                    i += 3;
                } else if ((lx.is(i + 2, "repeatable") && lx.is(i + 3, "read"))
                        || (lx.is(i + 2, "read") && (lx.is(i + 3, "committed") || lx.is(i + 3, "uncommitted")))) {
                    i += 4;
                } else {
                    return flags | INVALID;
                }
            } else if (lx.is(i, "read") && lx.is(i + 1, "only")) {
                flags |= READ_ONLY;
                i += 2;
            } else if (lx.is(i, "read") && lx.is(i + 1, "write")) {
                flags |= READ_WRITE;
                i += 2;
            } else if (lx.is(i, "not") && lx.is(i + 1, "deferrable")) {
                i += 2;
            } else if (lx.is(i, "deferrable")) {
                i++;
            } else {
                return flags | INVALID;
            }
        }
        return flags;
    }

    private Part set(SqlLexer lx, int i, int hi) {
        boolean local = false;
        if (lx.is(i, "session")) {
            if (lx.is(i + 1, "characteristics")) {
                if (!lx.is(i + 2, "as") || !lx.is(i + 3, "transaction")) {
                    return Part.PRIMARY;
                }
                int modes = modes(lx, i + 4, hi);
                if ((modes & (SERIALIZABLE | INVALID)) != 0 || (modes & (READ_ONLY | READ_WRITE)) == 0
                        || modes == (READ_ONLY | READ_WRITE)) {
                    return Part.PRIMARY;
                }
                return Part.of(Route.PRIMARY, (modes & READ_ONLY) != 0
                        ? Command.SET_DEFAULT_READ_ONLY_ON : Command.SET_DEFAULT_READ_ONLY_OFF);
            }
            i++;
        } else if (lx.is(i, "local")) {
            local = true;
            i++;
        }
        if (lx.is(i, "transaction")) {
            int modes = modes(lx, i + 1, hi);
            return (modes & (READ_ONLY | READ_WRITE | SERIALIZABLE | INVALID)) == READ_ONLY
                    ? Part.of(Route.STANDBY, Command.SET_TRANSACTION_READ_ONLY) : Part.PRIMARY;
        }
        if (local) {
            return Part.PRIMARY;
        }
        String name;
        int e;
        if (lx.is(i, "server") && lx.is(i + 1, "role")) {
            name = "pgrelay.role"; // pgcat's SET SERVER ROLE
            e = i + 2;
        } else {
            e = nameEnd(lx, i, hi);
            if (e == i) {
                return Part.PRIMARY;
            }
            name = dotted(lx, i, e);
        }
        if (!(lx.is(e, "to") || (lx.kind(e) == OP && lx.end[e] - lx.start[e] == 1 && lx.src[lx.start[e]] == '='))) {
            return Part.PRIMARY;
        }
        int v = e + 1;
        boolean single = v + 1 == hi && (lx.kind[v] == IDENT || lx.kind[v] == STRING || lx.kind[v] == QIDENT
                || lx.kind[v] == NUMBER);
        if (name.equals("pgrelay.role")) {
            RoleHint value = single ? SqlLexer.roleHint(lx.text(v)) : RoleHint.NONE;
            return new Part(Route.PRIMARY, Command.SET_ROLE_HINT, value, Set.of());
        }
        if (name.equals("default_transaction_read_only") && single && !lx.is(v, "default")) {
            Boolean on = bool(lx.text(v));
            if (on != null) {
                return Part.of(Route.PRIMARY, on ? Command.SET_DEFAULT_READ_ONLY_ON : Command.SET_DEFAULT_READ_ONLY_OFF);
            }
        }
        return Part.PRIMARY;
    }

    private static boolean isName(SqlLexer lx, int t) {
        int k = lx.kind(t);
        return k == IDENT || k == QIDENT;
    }

    /** The index after a dotted name starting at i (i itself when there is none). */
    private static int nameEnd(SqlLexer lx, int i, int hi) {
        if (i >= hi || !isName(lx, i)) {
            return i;
        }
        int e = i + 1;
        while (e + 1 < hi && lx.kind[e] == DOT && isName(lx, e + 1)) {
            e += 2;
        }
        return e;
    }

    private static String dotted(SqlLexer lx, int i, int e) {
        return i + 1 == e ? lx.text(i) : qualified(lx, i, e - 1);
    }

    private static String qualified(SqlLexer lx, int i, int j) {
        if (i == j) {
            return lx.text(i);
        }
        StringBuilder sb = new StringBuilder(lx.text(i));
        for (int t = i + 2; t <= j; t += 2) {
            sb.append('.').append(lx.text(t));
        }
        return sb.toString();
    }
}
