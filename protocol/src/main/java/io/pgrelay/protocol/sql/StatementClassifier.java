package io.pgrelay.protocol.sql;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Decides whether a statement text may run on a standby, and recognises the transaction and session commands the
 * router must follow. Thread-safe. Unknown means primary: see {@link Analyzer} for what counts as a read.
 *
 * <p>Verdicts are cached by text (bounded, Caffeine) from a text's second sighting on, except those that list unknown
 * functions (they change as soon as the catalog learns the functions, so they are recomputed until then) and those of
 * a {@link PlainSelect} (its scan answers as fast as a lookup). After the catalog changes an answer it gave, or the
 * settings change, call {@link #clearCache()}.
 */
public final class StatementClassifier {
    private static final ThreadLocal<TextKey.Probe> PROBE = ThreadLocal.withInitial(TextKey.Probe::new);

    private final Analyzer analyzer;
    private final Cache<TextKey, Classification> cache;
    private final int[] seenOnce = new int[8192];
    /** Bumped by {@link #clearCache()}: callers that keep a verdict of their own know it may be stale. */
    private volatile int generation;

    public StatementClassifier(ClassifierSettings settings, FunctionCatalog catalog) {
        Objects.requireNonNull(settings, "settings");
        this.analyzer = new Analyzer(settings, Objects.requireNonNull(catalog, "catalog"));
        this.cache = settings.cacheSize() == 0 ? null : Caffeine.newBuilder()
                .maximumSize(settings.cacheSize())
                .executor(Runnable::run) // maintenance is tiny; no hop to the common pool
                .build();
    }

    public Classification classify(String sql) {
        byte[] bytes = sql.getBytes(StandardCharsets.UTF_8);
        if (cache == null) {
            return analyze(bytes);
        }
        TextKey.Stored key = new TextKey.Stored(bytes);
        if (!seenBefore(key.hash)) {
            return analyze(bytes);
        }
        Classification c = cache.getIfPresent(key);
        if (c != null) {
            return c;
        }
        return PlainSelect.matches(bytes, 0, bytes.length) ? PlainSelect.READ : analyzeAndCache(key);
    }

    /**
     * The SQL text bytes (UTF-8) in place, e.g. the body of a Query message minus its NUL. A cache hit allocates
     * nothing, nor does a {@link PlainSelect}; the buffer's indexes and reference count are left alone.
     */
    public Classification classify(ByteBuf buf, int index, int length) {
        if (cache == null) {
            return analyze(buf, index, length);
        }
        TextKey.Probe probe = PROBE.get().set(buf, index, length);
        if (!seenBefore(probe.hash)) {
            probe.clear(); // a first sighting: not worth a cache probe
            return analyze(buf, index, length);
        }
        Classification c;
        try {
            c = cache.getIfPresent(probe);
        } finally {
            probe.clear();
        }
        if (c != null) {
            return c;
        }
        return PlainSelect.matches(buf, index, length)
                ? PlainSelect.READ
                : analyzeAndCache(new TextKey.Stored(copy(buf, index, length)));
    }

    private static byte[] copy(ByteBuf buf, int index, int length) {
        byte[] bytes = new byte[length];
        buf.getBytes(index, bytes);
        return bytes;
    }

    private Classification analyze(ByteBuf buf, int index, int length) {
        return PlainSelect.matches(buf, index, length) ? PlainSelect.READ : analyzer.analyze(copy(buf, index, length));
    }

    /** A plain SELECT without the analyzer (see {@link PlainSelect}), anything else with it. */
    private Classification analyze(byte[] text) {
        return PlainSelect.matches(text, 0, text.length) ? PlainSelect.READ : analyzer.analyze(text);
    }

    /**
     * The analyzer's verdict, cached. A {@link PlainSelect} is never cached: its scan costs about what a lookup does,
     * and such texts mostly carry their literals inline, so caching the few seen twice would only churn the cache
     * (pgbench's select-only: about one text in a hundred, each an insert that evicts).
     */
    private Classification analyzeAndCache(TextKey.Stored key) {
        Classification c = analyzer.analyze(key.bytes);
        if (c.unknownFunctions().isEmpty()) {
            cache.put(key, c);
        }
        return c;
    }

    /**
     * A doorkeeper in front of the cache: a text is looked up and cached only from its second sighting on, so
     * statements with their literals inline (simple-protocol clients, nearly every one different) cost neither a cache
     * probe nor an insert that evicts a useful entry. One hash per slot; a cached text whose slot another text took
     * since is analysed once more, which reclaims the slot. Races only cost a lookup or an analysis.
     */
    private boolean seenBefore(int hash) {
        int slot = hash & (seenOnce.length - 1);
        if (seenOnce[slot] == hash) {
            return true;
        }
        seenOnce[slot] = hash;
        return false;
    }

    /**
     * False when the UTF-8 text at {@code index} cannot be a SET, RESET or SHOW: its first word (after spaces and
     * semicolons) is another word. Only such a text can classify as {@link Command#SET_ROLE_HINT}, {@link
     * Command#SHOW_ROLE_HINT} or {@link Command#SET_TRANSACTION_READ_ONLY}, so a statement in a transaction, which
     * the router asks about nothing else, need not be classified at all. True when unsure (a comment, a quote, a
     * parenthesis first). The buffer is only read.
     */
    public static boolean mayBeSetOrShow(ByteBuf buf, int index, int length) {
        int from = firstWord(buf, index, index + length);
        if (from < 0) {
            return true;
        }
        int to = wordEnd(buf, from, index + length);
        return word(buf, from, to, "set") || word(buf, from, to, "show") || word(buf, from, to, "reset");
    }

    /**
     * Whether the UTF-8 text's first word (after spaces and semicolons) is {@code lowerCase}, in any case; false when
     * the text starts otherwise (a comment, a quote, a parenthesis).
     */
    public static boolean firstWordIs(ByteBuf buf, int index, int length, String lowerCase) {
        int from = firstWord(buf, index, index + length);
        return from >= 0 && word(buf, from, wordEnd(buf, from, index + length), lowerCase);
    }

    /**
     * Whether the UTF-8 text is one command that changes the session and writes no data: SET, RESET, SHOW, DISCARD or
     * DEALLOCATE, alone. A semicolon followed by anything but spaces and semicolons means more statements (or a
     * semicolon in a literal or comment), and so false: the safe side, as for a comment or a quote first. The buffer
     * is only read.
     */
    public static boolean isSessionCommand(ByteBuf buf, int index, int length) {
        int end = index + length;
        int from = firstWord(buf, index, end);
        if (from < 0) {
            return false;
        }
        int to = wordEnd(buf, from, end);
        if (!word(buf, from, to, "set") && !word(buf, from, to, "reset") && !word(buf, from, to, "show")
                && !word(buf, from, to, "discard") && !word(buf, from, to, "deallocate")) {
            return false;
        }
        int semicolon = buf.indexOf(to, end, (byte) ';');
        return semicolon < 0 || skipSpaces(buf, semicolon, end) == end;
    }

    /** Where the first word starts, if the text starts with an ASCII letter after spaces and semicolons; else -1. */
    private static int firstWord(ByteBuf buf, int i, int end) {
        i = skipSpaces(buf, i, end);
        if (i == end) {
            return -1;
        }
        int lower = buf.getByte(i) | 0x20;
        return lower >= 'a' && lower <= 'z' ? i : -1;
    }

    /** The first index from {@code i} that is neither a space (as {@code \s} reads it) nor a semicolon; or end. */
    private static int skipSpaces(ByteBuf buf, int i, int end) {
        for (; i < end; i++) {
            int c = buf.getByte(i);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x0b && c != ';') {
                return i;
            }
        }
        return end;
    }

    /** The end of the word at {@code i}, as the lexer reads it: "settings" is one word, not SET. */
    private static int wordEnd(ByteBuf buf, int i, int end) {
        while (i < end && SqlLexer.identPart(buf.getByte(i) & 0xff)) {
            i++;
        }
        return i;
    }

    private static boolean word(ByteBuf buf, int from, int to, String lowerCase) {
        if (to - from != lowerCase.length()) {
            return false;
        }
        for (int i = from; i < to; i++) {
            if ((buf.getByte(i) | 0x20) != lowerCase.charAt(i - from)) {
                return false;
            }
        }
        return true;
    }

    /** E.g. after RELOAD or when the catalog learnt something. */
    public void clearCache() {
        generation++; // one writer at a time in practice (RELOAD); a lost bump still changes the value seen
        if (cache != null) {
            cache.invalidateAll();
            java.util.Arrays.fill(seenOnce, 0); // what was seen before the change is seen again as new
        }
    }

    /**
     * Changes whenever {@link #clearCache()} runs. A verdict kept outside this class (e.g. per prepared statement)
     * holds while the generation it was given in is still current, and while it lists no unknown functions.
     */
    public int generation() {
        return generation;
    }

    /** Cached verdicts, for metrics and tests (approximate). */
    public long cachedCount() {
        return cache == null ? 0 : cache.estimatedSize();
    }
}
