package io.pgrelay.protocol.sql;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

class StatementClassifierCorpusTest {
    private static final List<Corpus.Case> CORPUS = Corpus.load();
    private static final String[] FILLERS = {
        " ", "  ", "\n", "\t", " \r\n ", "\f", " /* c */ ", " /**/ ", " /* a /* nested; DELETE */ b */ ",
        " -- line comment; UPDATE t\n", " /* SELECT 1 */ ", "\n-- x\n\t"
    };

    static List<Corpus.Case> corpus() {
        return CORPUS;
    }

    @Test
    void corpusIsLargeAndCoversEveryCommand() {
        assertThat(CORPUS).hasSizeGreaterThanOrEqualTo(250);
        assertThat(CORPUS).extracting(Corpus.Case::command).contains(Command.values());
        assertThat(CORPUS).extracting(Corpus.Case::route).contains(Route.values());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("corpus")
    void classifiesLikeTheCorpusSays(Corpus.Case c) {
        StatementClassifier classifier = new StatementClassifier(ClassifierSettings.defaults(), FunctionCatalog.NONE);
        assertThat(classifier.classify(c.sql())).isEqualTo(c.expected());
        assertThat(classifier.classify(c.sql())).as("from the cache").isEqualTo(c.expected());
        assertThat(viaBuffers(classifier, c.sql())).as("from bytes, cached").isEqualTo(c.expected());
        StatementClassifier uncached = new StatementClassifier(
                new ClassifierSettings(List.of(), List.of(), 0), FunctionCatalog.NONE);
        assertThat(viaBuffers(uncached, c.sql())).as("from bytes, uncached").isEqualTo(c.expected());
    }

    /** Heap and direct buffers, the text in the middle of other bytes; both must agree. */
    private static Classification viaBuffers(StatementClassifier classifier, String sql) {
        byte[] text = sql.getBytes(StandardCharsets.UTF_8);
        byte[] framed = new byte[text.length + 7];
        framed[0] = 'Q';
        System.arraycopy(text, 0, framed, 5, text.length);
        ByteBuf heap = Unpooled.wrappedBuffer(framed);
        ByteBuffer nio = ByteBuffer.allocateDirect(framed.length).put(framed).flip();
        ByteBuf direct = Unpooled.wrappedBuffer(nio);
        try {
            Classification a = classifier.classify(heap, 5, text.length);
            Classification b = classifier.classify(direct, 5, text.length);
            assertThat(b).isEqualTo(a);
            assertThat(heap.readerIndex()).isZero();
            return a;
        } finally {
            heap.release();
            direct.release();
        }
    }

    @Test
    void commentsWhitespaceAndKeywordCaseNeverChangeTheVerdict() {
        Random random = new Random(20240604L);
        StatementClassifier classifier = new StatementClassifier(ClassifierSettings.defaults(), FunctionCatalog.NONE);
        int mutations = 0;
        for (Corpus.Case c : CORPUS) {
            for (int round = 0; round < 40; round++) {
                String mutated = mutate(c.sql(), random);
                if (mutated == null) {
                    break; // does not lex: nothing between tokens to vary
                }
                Classification got = classifier.classify(mutated);
                assertThat(got).as("%s mutated to:%n%s", c, mutated).isEqualTo(c.expected());
                mutations++;
            }
        }
        assertThat(mutations).isGreaterThan(CORPUS.size() * 30);
    }

    @Test
    void noWriteReachesAStandbyUnderAnyMutation() {
        Random random = new Random(77L);
        StatementClassifier classifier = new StatementClassifier(
                new ClassifierSettings(List.of(), List.of(), 0), FunctionCatalog.NONE);
        for (Corpus.Case c : CORPUS) {
            if (c.route() != Route.PRIMARY) {
                continue;
            }
            assertThat(classifier.classify(c.sql()).route()).as(c.toString()).isEqualTo(Route.PRIMARY);
            for (int round = 0; round < 100; round++) {
                String mutated = mutate(c.sql(), random);
                if (mutated == null) {
                    break;
                }
                assertThat(classifier.classify(mutated).route()).as("%s mutated to:%n%s", c, mutated)
                        .isEqualTo(Route.PRIMARY);
            }
        }
    }

    /**
     * The router skips classifying a statement in a transaction when {@link StatementClassifier#mayBeSetOrShow} says
     * it cannot be one of its commands: no corpus text of those commands, nor any mutation of one, may be ruled out.
     * And the check must rule out the commonest statements, or it saves nothing.
     */
    @Test
    void theSetOrShowCheckNeverRulesOutACommandTheRouterFollows() {
        java.util.Set<Command> followed = java.util.EnumSet.of(
                Command.SET_ROLE_HINT, Command.SHOW_ROLE_HINT, Command.SET_TRANSACTION_READ_ONLY);
        Random random = new Random(20261124L);
        int checked = 0;
        int ruledOut = 0;
        for (Corpus.Case c : CORPUS) {
            if (!mayBeSetOrShow(c.sql())) {
                ruledOut++;
                assertThat(c.command()).as(c.toString()).isNotIn(followed);
            }
            if (!followed.contains(c.command())) {
                continue;
            }
            for (int round = 0; round < 40; round++) {
                String text = round == 0 ? c.sql() : mutate(c.sql(), random);
                if (text == null) {
                    break;
                }
                assertThat(mayBeSetOrShow(text)).as("%s as:%n%s", c, text).isTrue();
                assertThat(mayBeSetOrShow(";  " + text)).as("%s after a semicolon", c).isTrue();
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(100);
        assertThat(ruledOut).as("corpus texts ruled out").isGreaterThan(CORPUS.size() / 2);
        for (String sql : new String[] {"SELECT 1", "update t set a = 1", " \n\tINSERT INTO t VALUES (1)", ";;DELETE FROM t",
            "BEGIN", "COMMIT", "with x as (select 1) select * from x", "settings", "showx 1", "Resets"}) {
            assertThat(mayBeSetOrShow(sql)).as(sql).isFalse();
        }
        for (String sql : new String[] {"SET pgrelay.role = primary", "reset pgrelay.role", "Show server role",
            "/* pgrelay: standby */ SELECT 1", "-- c\nUPDATE t", "(SELECT 1)", "\"set\"", "_x", "é", "", " ; "}) {
            assertThat(mayBeSetOrShow(sql)).as(sql).isTrue();
        }
    }

    private static boolean mayBeSetOrShow(String sql) {
        byte[] text = bytes(sql);
        return StatementClassifier.mayBeSetOrShow(Unpooled.wrappedBuffer(text), 0, text.length);
    }

    /**
     * Random whitespace and comments between tokens (a hint comment only after the first token, where it must be
     * ignored), and random case for unquoted identifiers. Null when the text does not lex.
     */
    static String mutate(String sql, Random random) {
        SqlLexer lx = SqlLexer.lex(sql.getBytes(StandardCharsets.UTF_8), false);
        if (lx.error() || lx.count == 0) {
            return null;
        }
        byte[] src = lx.src;
        List<byte[]> out = new ArrayList<>();
        int prevEnd = 0;
        for (int t = 0; t < lx.count; t++) {
            int start = lx.start[t];
            int end = lx.end[t];
            byte[] gap = java.util.Arrays.copyOfRange(src, prevEnd, start);
            boolean leading = t == 0;
            if (leading) {
                out.add(gap); // keep a leading hint comment where it is
                if (random.nextInt(4) == 0) {
                    out.add(bytes(FILLERS[random.nextInt(FILLERS.length)]));
                }
            } else if (random.nextInt(3) == 0) {
                out.add(gap);
                out.add(bytes(random.nextInt(8) == 0 ? " /* pgrelay: standby */ "
                        : FILLERS[random.nextInt(FILLERS.length)]));
            } else {
                out.add(gap);
            }
            byte[] token = java.util.Arrays.copyOfRange(src, start, end);
            if (lx.kind[t] == SqlLexer.IDENT && random.nextBoolean()) {
                for (int k = 0; k < token.length; k++) {
                    byte b = token[k];
                    if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')) {
                        token[k] = (byte) (random.nextBoolean() ? b | 0x20 : b & ~0x20);
                    }
                }
            }
            out.add(token);
            prevEnd = end;
        }
        out.add(java.util.Arrays.copyOfRange(src, prevEnd, src.length));
        if (random.nextBoolean()) {
            out.add(bytes(FILLERS[random.nextInt(FILLERS.length)]));
        }
        int length = out.stream().mapToInt(b -> b.length).sum();
        byte[] result = new byte[length];
        int p = 0;
        for (byte[] b : out) {
            System.arraycopy(b, 0, result, p, b.length);
            p += b.length;
        }
        return new String(result, StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
