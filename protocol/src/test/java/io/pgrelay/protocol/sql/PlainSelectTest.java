package io.pgrelay.protocol.sql;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/** The scan that answers plain SELECTs without the analyzer must never disagree with it. */
class PlainSelectTest {
    private final Analyzer analyzer = new Analyzer(ClassifierSettings.defaults(), FunctionCatalog.NONE);

    /** Through a heap buffer and a direct one (the array and the copying path), at an offset into each. */
    private static boolean matches(String sql) {
        byte[] bytes = ("xx" + sql + "yy").getBytes(StandardCharsets.UTF_8);
        ByteBuf heap = Unpooled.wrappedBuffer(bytes);
        ByteBuf direct = Unpooled.directBuffer(bytes.length).writeBytes(bytes);
        try {
            boolean viaArray = PlainSelect.matches(heap, 2, bytes.length - 4);
            assertThat(PlainSelect.matches(direct, 2, bytes.length - 4)).as("direct buffer").isEqualTo(viaArray);
            return viaArray;
        } finally {
            direct.release();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "SELECT abalance FROM pgbench_accounts WHERE aid = 4711",
        "select * from t where a = 1 and b <> 2.5 or c >= 3;",
        "Select t.a, u.b From t, u Where t.id = u.id Order By 1 Limit 10 ;  \n",
        "SELECT",
        "\n\tSELECT a FROM s.t WHERE x != 1 + 2",
        "SELECT a FROM t WHERE b = 1 UNION SELECT c FROM insert_log",
    })
    void acceptsPlainReads(String sql) {
        assertThat(matches(sql)).isTrue();
        assertThat(analyzer.analyze(sql.getBytes(StandardCharsets.UTF_8))).isEqualTo(PlainSelect.READ);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "SELECT a FROM t FOR UPDATE", // locking: primary
        "SELECT a FROM t for share",
        "SELECT a INTO b FROM t", // creates a table
        "SELECT nextval(s)", // any call: the analyzer knows functions
        "SELECT count(*) FROM t",
        "/* pgrelay: primary */ SELECT 1", // a hint
        "-- pgrelay: primary\nSELECT 1",
        "SELECT 1; DELETE FROM t", // a second statement
        "SELECT 1;;",
        "SELECT 'a'", "SELECT \"a\" FROM t", "SELECT $1", "SELECT E'\\\\'",
        "SELECT 1e5", "SELECT 0x1f", "SELECT 12abc", "SELECT -1", "SELECT a::int FROM t",
        "SELECT é FROM t", "SELECT 1 é",
        "WITH x AS (SELECT 1) SELECT * FROM x", "VALUES (1)", "TABLE t", "selectx 1", "select1", "",
        "   ", "UPDATE t SET a = 1",
        "SELECT a FROM t WHERE b IN (1, 2)", "SELECT * FROM merge",
    })
    void leavesEverythingElseToTheAnalyzer(String sql) {
        assertThat(matches(sql)).isFalse();
    }

    /**
     * Random texts from a token alphabet rich in what the scan must refuse: whenever it accepts one, the analyzer's
     * verdict is the same READ. A tenth of a million texts, a few thousand of them accepted.
     */
    @Test
    void agreesWithTheAnalyzerOnRandomTexts() {
        String[] tokens = {
            "select", "SELECT", "from", "where", "t", "a.b", "_x1", "1", "2.5", "1e3", ",", ".", "*", "=", "<>", "!=",
            "+", "-", "/", ";", "(", ")", "'s'", "\"q\"", "$1", "$$d$$", "for", "FOR", "update", "share", "into",
            "insert", "delete", "merge", "nextval", "lock", "--", "/*", "*/", "::", "é", "\\", "E", "0x1", "for_x",
            "into2", "key", "no", "operator", "with", "values",
        };
        String[] spaces = {" ", "", "\n", "\t", "  "};
        Random random = new Random(20261123);
        int accepted = 0;
        for (int n = 0; n < 100_000; n++) {
            StringBuilder sb = new StringBuilder(random.nextInt(4) == 0 ? "" : "select ");
            int length = 1 + random.nextInt(10);
            for (int k = 0; k < length; k++) {
                sb.append(tokens[random.nextInt(tokens.length)]).append(spaces[random.nextInt(spaces.length)]);
            }
            String sql = sb.toString();
            if (matches(sql)) {
                accepted++;
                assertThat(analyzer.analyze(sql.getBytes(StandardCharsets.UTF_8))).as(sql).isEqualTo(PlainSelect.READ);
            }
        }
        assertThat(accepted).as("texts the scan answered").isGreaterThan(1_000);
    }

    @Test
    void theClassifierAnswersThemWithoutTheCacheEvenWhenATextComesAgain() {
        StatementClassifier classifier = new StatementClassifier(ClassifierSettings.defaults(), FunctionCatalog.NONE);
        for (int aid = 0; aid < 3; aid++) {
            String sql = "SELECT abalance FROM pgbench_accounts WHERE aid = " + aid;
            assertThat(classifier.classify(sql)).isSameAs(PlainSelect.READ);
            ByteBuf buf = Unpooled.directBuffer().writeBytes(("SELECT a FROM t WHERE b = " + aid)
                    .getBytes(StandardCharsets.UTF_8));
            assertThat(classifier.classify(buf, 0, buf.readableBytes())).isSameAs(PlainSelect.READ);
            buf.release();
        }
        assertThat(classifier.cachedCount()).as("each text seen once").isZero();
        String again = "SELECT abalance FROM pgbench_accounts WHERE aid = 1";
        for (int i = 0; i < 3; i++) {
            assertThat(classifier.classify(again)).isSameAs(PlainSelect.READ);
            ByteBuf buf = Unpooled.directBuffer().writeBytes(again.getBytes(StandardCharsets.UTF_8));
            assertThat(classifier.classify(buf, 0, buf.readableBytes())).isSameAs(PlainSelect.READ);
            buf.release();
        }
        assertThat(classifier.cachedCount()).as("seen again and again: the scan answers, nothing cached").isZero();
        String parameter = "SELECT abalance FROM pgbench_accounts WHERE aid = $1"; // not a PlainSelect
        classifier.classify(parameter);
        classifier.classify(parameter);
        assertThat(classifier.cachedCount()).as("the analyzer's verdicts are cached from the second sighting").isEqualTo(1);
        assertThat(classifier.classify("SELECT a FROM t FOR UPDATE").route()).isEqualTo(Route.PRIMARY);
    }

    @Test
    void longTextsAreLeftToTheAnalyzer() {
        String sql = "SELECT a FROM t WHERE b = 1" + " AND b = 1".repeat(PlainSelect.MAX_LENGTH / 10);
        assertThat(matches(sql)).isFalse();
        assertThat(analyzerSays(sql)).isEqualTo(PlainSelect.READ);
    }

    private Classification analyzerSays(String sql) {
        return analyzer.analyze(sql.getBytes(StandardCharsets.UTF_8));
    }
}
