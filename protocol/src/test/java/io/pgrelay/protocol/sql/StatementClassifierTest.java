package io.pgrelay.protocol.sql;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

class StatementClassifierTest {
    private static final ClassifierSettings NO_CACHE = new ClassifierSettings(List.of(), List.of(), 0);

    @Test
    void unknownFunctionsAreReportedAsWrittenAndAskedOfTheCatalog() {
        List<String> asked = new ArrayList<>();
        StatementClassifier c = new StatementClassifier(ClassifierSettings.defaults(), name -> {
            asked.add(name);
            return null;
        });
        Classification r = c.classify("SELECT Report(1), app.Total(2), \"Mixed\"(3), count(*) FROM t");
        assertThat(r.route()).isEqualTo(Route.PRIMARY);
        assertThat(r.readOnly()).isFalse();
        assertThat(r.unknownFunctions()).containsExactly("report", "app.total", "Mixed");
        assertThat(asked).containsExactly("report", "app.total", "Mixed");
    }

    @Test
    void catalogAnswersDecideAndUnknownVerdictsAreNotCached() {
        Map<String, Boolean> catalog = new ConcurrentHashMap<>();
        StatementClassifier c = new StatementClassifier(ClassifierSettings.defaults(), catalog::get);
        String sql = "SELECT my_func(1)";
        assertThat(c.classify(sql).unknownFunctions()).containsExactly("my_func");
        catalog.put("my_func", true);
        assertThat(c.classify(sql)).as("learnt without clearCache")
                .isEqualTo(new Classification(Route.STANDBY, Command.QUERY, RoleHint.NONE, List.of()));
        c.classify(sql); // the second sighting of a known verdict caches it
        catalog.put("my_func", false);
        assertThat(c.classify(sql).route()).as("cached until cleared").isEqualTo(Route.STANDBY);
        c.clearCache();
        assertThat(c.classify(sql))
                .isEqualTo(new Classification(Route.PRIMARY, Command.QUERY, RoleHint.NONE, List.of()));
    }

    @Test
    void theGenerationChangesAtEveryClearEvenWithoutACache() {
        for (ClassifierSettings settings : List.of(ClassifierSettings.defaults(), NO_CACHE)) {
            StatementClassifier c = new StatementClassifier(settings, FunctionCatalog.NONE);
            int before = c.generation();
            c.classify("SELECT 1");
            assertThat(c.generation()).as("classifying keeps it").isEqualTo(before);
            c.clearCache();
            int after = c.generation();
            assertThat(after).isNotEqualTo(before);
            c.clearCache();
            assertThat(c.generation()).isNotEqualTo(after);
        }
    }

    @Test
    void aCachedTextWhoseDoorkeeperSlotWasTakenIsAnalysedOnceThenHitAgain() {
        StatementClassifier c = new StatementClassifier(ClassifierSettings.defaults(), FunctionCatalog.NONE);
        String hot = "SELECT abalance FROM pgbench_accounts WHERE aid = $1";
        c.classify(hot);
        Classification cached = c.classify(hot);
        assertThat(c.classify(hot)).isSameAs(cached);
        String rival = sameSlotAs(hot);
        c.classify(rival); // takes the hot text's slot: seen once, not cached
        assertThat(c.cachedCount()).isEqualTo(1);
        assertThat(c.classify(hot)).as("analysed again: its slot was taken").isNotSameAs(cached).isEqualTo(cached);
        assertThat(c.classify(hot)).as("slot reclaimed, the cache answers").isSameAs(cached);
        assertThat(c.cachedCount()).isEqualTo(1);
    }

    /** Another statement text that lands in the doorkeeper slot of {@code sql} (8,192 slots). */
    private static String sameSlotAs(String sql) {
        byte[] b = sql.getBytes(StandardCharsets.UTF_8);
        int slot = TextKey.hash(b, 0, b.length) & 8191;
        for (int i = 2; ; i++) { // from $2: $1 is the hot text itself
            // A parameter, so that PlainSelect leaves it to the doorkeeper and cache.
            byte[] other = ("SELECT abalance FROM pgbench_accounts WHERE aid = $" + i).getBytes(StandardCharsets.UTF_8);
            if ((TextKey.hash(other, 0, other.length) & 8191) == slot) {
                return new String(other, StandardCharsets.UTF_8);
            }
        }
    }

    @Test
    void readOnlyPatternsOverrideTheCatalogButNotWriters() {
        ClassifierSettings settings = new ClassifierSettings(List.of(Pattern.compile("audit_.*")),
                List.of(Pattern.compile("report_.*"), Pattern.compile("nextval"), Pattern.compile("audit_x")), 100);
        StatementClassifier c = new StatementClassifier(settings, name -> false);
        assertThat(c.classify("SELECT report_daily($1)").route()).isEqualTo(Route.STANDBY);
        assertThat(c.classify("SELECT nextval('s')").route()).isEqualTo(Route.PRIMARY);
        assertThat(c.classify("SELECT audit_x()").route()).isEqualTo(Route.PRIMARY);
        assertThat(c.classify("SELECT other()").route()).as("catalog says it writes").isEqualTo(Route.PRIMARY);
        assertThat(c.classify("SELECT other()").unknownFunctions()).isEmpty();
    }

    @Test
    void writePatternsTurnBuiltInReadersIntoWriters() {
        ClassifierSettings settings = new ClassifierSettings(
                List.of(Pattern.compile("count"), Pattern.compile("app\\.refresh_.*")), List.of(), 100);
        StatementClassifier c = new StatementClassifier(settings, name -> true);
        assertThat(c.classify("SELECT count(*) FROM t").route()).isEqualTo(Route.PRIMARY);
        assertThat(c.classify("SELECT app.refresh_cache()").route()).isEqualTo(Route.PRIMARY);
        assertThat(c.classify("SELECT other.refresh_cache()").route()).isEqualTo(Route.STANDBY);
        assertThat(c.classify("SELECT max(x) FROM t").route()).isEqualTo(Route.STANDBY);
    }

    @Test
    void cacheHitsReturnTheSameVerdictFromStringsAndBytes() {
        StatementClassifier c = new StatementClassifier(ClassifierSettings.defaults(), FunctionCatalog.NONE);
        String sql = "SELECT id, name FROM users WHERE id = $1";
        Classification once = c.classify(sql);
        assertThat(c.cachedCount()).isZero(); // cached at the second sighting: inline literals do not churn it
        Classification first = c.classify(sql);
        assertThat(first).isNotSameAs(once).isEqualTo(once);
        assertThat(c.classify(sql)).isSameAs(first);
        ByteBuf buf = Unpooled.copiedBuffer("xx" + sql + "\0", StandardCharsets.UTF_8);
        try {
            assertThat(c.classify(buf, 2, sql.length())).isSameAs(first);
            assertThat(c.classify(buf, 2, sql.length() - 1)).isNotSameAs(first); // a different text
            assertThat(c.classify(buf, 2, sql.length() - 1)).isNotSameAs(first);
        } finally {
            buf.release();
        }
        assertThat(c.cachedCount()).isEqualTo(2);
        c.clearCache();
        assertThat(c.classify(sql)).isNotSameAs(first).isEqualTo(first);
        assertThat(c.classify(sql)).isNotSameAs(first).isEqualTo(first); // seen again as new after the clear
    }

    @Test
    void equalHashesWithDifferentBytesStayApart() {
        StatementClassifier c = new StatementClassifier(ClassifierSettings.defaults(), FunctionCatalog.NONE);
        for (int i = 0; i < 5000; i++) {
            String read = "SELECT " + i;
            String write = "DELETE FROM t" + i;
            assertThat(c.classify(read).route()).isEqualTo(Route.STANDBY);
            assertThat(c.classify(write).route()).isEqualTo(Route.PRIMARY);
        }
        for (int i = 0; i < 5000; i++) {
            byte[] b = ("DELETE FROM t" + i).getBytes(StandardCharsets.UTF_8);
            ByteBuf direct = Unpooled.wrappedBuffer(ByteBuffer.allocateDirect(b.length).put(b).flip());
            assertThat(c.classify(direct, 0, b.length).route()).isEqualTo(Route.PRIMARY);
            direct.release();
        }
    }

    @Test
    void withoutACacheEveryCallAnalyzes() {
        StatementClassifier c = new StatementClassifier(NO_CACHE, FunctionCatalog.NONE);
        String sql = "SELECT $1"; // not a PlainSelect, which needs no cache
        assertThat(c.classify(sql)).isNotSameAs(c.classify(sql)).isEqualTo(c.classify(sql));
        assertThat(c.cachedCount()).isZero();
    }

    @Test
    void aCacheHitFromBytesAllocatesNothing() {
        StatementClassifier c = new StatementClassifier(ClassifierSettings.defaults(), FunctionCatalog.NONE);
        byte[] sql = "SELECT id, name, email FROM users WHERE id = $1 AND active".getBytes(StandardCharsets.UTF_8);
        // Buffers without a leak detector around them: the detector allocates on every access in tests.
        ByteBuf heap = Unpooled.wrappedBuffer(sql);
        ByteBuf direct = Unpooled.wrappedBuffer(ByteBuffer.allocateDirect(sql.length).put(sql).flip());
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        for (ByteBuf buf : List.of(heap, direct)) {
            for (int i = 0; i < 50_000; i++) {
                c.classify(buf, 0, sql.length); // warm up: JIT, cache entry, read buffers
            }
            long before = threads.getThreadAllocatedBytes(thread);
            int n = 200_000;
            for (int i = 0; i < n; i++) {
                c.classify(buf, 0, sql.length);
            }
            long allocated = threads.getThreadAllocatedBytes(thread) - before;
            assertThat(allocated / (double) n).as("bytes per hit").isLessThan(1.0);
        }
        heap.release();
        direct.release();
    }

    @Test
    void settingsValidateAndDefault() {
        ClassifierSettings d = ClassifierSettings.defaults();
        assertThat(d.cacheSize()).isEqualTo(10_000);
        assertThat(d.writeFunctions()).isEmpty();
        assertThat(d.readOnlyFunctions()).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ClassifierSettings(List.of(), List.of(), -1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bigStatementsClassify() {
        StringBuilder sb = new StringBuilder("SELECT o.id, o.total FROM orders o WHERE o.id IN (");
        for (int i = 0; i < 3000; i++) {
            sb.append(i).append(", ");
        }
        sb.append("-1) AND lower(o.status) = 'open'");
        StatementClassifier c = new StatementClassifier(ClassifierSettings.defaults(), FunctionCatalog.NONE);
        assertThat(c.classify(sb.toString()).route()).isEqualTo(Route.STANDBY);
        assertThat(c.classify(sb + " FOR UPDATE").route()).isEqualTo(Route.PRIMARY);
    }

    @Test
    void sessionCommandsAreOneSetResetShowDiscardOrDeallocateAlone() {
        for (String sql : List.of("SET search_path = app", "  set x to 1;", "RESET ALL", "Show work_mem",
                "DISCARD ALL", "deallocate p1", "SET x = 1;  ;\n", ";SET x = 1", "\tSET\nx=1")) {
            assertThat(sessionCommand(sql)).as(sql).isTrue();
        }
        // More statements after it may write: so may a semicolon the check cannot tell from one in a literal or
        // comment, and a text that does not start with the word (comment, parenthesis): all count as writes.
        for (String sql : List.of("SET x = 1; UPDATE t SET a = 1", "SET x = 1;INSERT INTO t VALUES (1)",
                "SET application_name = 'a;b'", "SET x = 1; -- done", "/* c */ SET x = 1", "-- c\nSET x = 1",
                "SETTINGS", "settle", "UPDATE t SET a = 1", "SELECT 1", "(SHOW x)", "", " ; ")) {
            assertThat(sessionCommand(sql)).as(sql).isFalse();
        }
        // Only the given span is read: what follows it in the buffer is another frame's.
        byte[] bytes = "QxxxxSET x = 1\0; UPDATE t SET a = 1".getBytes(StandardCharsets.UTF_8);
        assertThat(StatementClassifier.isSessionCommand(Unpooled.wrappedBuffer(bytes), 5, 9)).isTrue();
        assertThat(StatementClassifier.isSessionCommand(Unpooled.wrappedBuffer(bytes), 5, bytes.length - 5)).isFalse();
    }

    private static boolean sessionCommand(String sql) {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        return StatementClassifier.isSessionCommand(Unpooled.wrappedBuffer(text), 0, text.length);
    }
}
