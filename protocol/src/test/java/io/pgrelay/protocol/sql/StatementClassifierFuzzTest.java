package io.pgrelay.protocol.sql;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the statement classifier, whose mistake would send a write to a standby.
 *
 * <p>{@link #neverRoutesAWriteToAStandby}: byte 0 picks a known write and where it goes, the rest is arbitrary text
 * (decoded as UTF-8). The text sent is {@code <fuzz> "\n;" <write>} or {@code <write> ";\n" <fuzz>}, and it must be
 * routed to the primary whatever the fuzz part says. Why that oracle is sound:
 * <ul>
 *   <li>Write first: lexing runs left to right, so nothing after the write changes its tokens, and a text whose
 *       statements are not all reads goes to the primary (a lexical error does too).</li>
 *   <li>Write last: the only way text before a statement can stop it from running is to swallow it into a comment,
 *       a string, a quoted identifier or a dollar quote. The newline ends a {@code --} comment; the write contains no
 *       quote, no {@code $} and no {@code *}{@code /}, so any other construct opened by the fuzz part stays open to
 *       the end of the text: a lexical error, which PostgreSQL rejects and the classifier sends to the primary. An
 *       open parenthesis likewise leaves the {@code ;} inside it: primary. Hence never STANDBY.</li>
 *   <li>Only one side is fuzz: with fuzz on both sides the second part could close a quote the first opened, and the
 *       write would then really be inside a string.</li>
 * </ul>
 * The catalog says every unknown function is read-only, the most permissive setting, so only the classifier's own
 * rules keep the write on the primary. A client's {@code pgrelay: standby} hint is its explicit choice and shows in
 * {@link Classification#hint()}, not in the route, so it is not part of this property.
 *
 * <p>{@link #classifiesAnyBytes}: arbitrary bytes (invalid UTF-8 too) through both entry points; nothing throws, the
 * String and in-place ByteBuf paths agree, the cached verdict equals a fresh one, the buffer is left untouched, and a
 * text {@link StatementClassifier#mayBeSetOrShow} rules out is none of the commands the router follows.
 */
class StatementClassifierFuzzTest {
    /** Writes without quotes, dollars or comment ends (see the class comment); one per way of writing. */
    private static final String[] WRITES = {
        "INSERT INTO t VALUES (1)",
        "UPDATE t SET a = 1",
        "DELETE FROM t",
        "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
        "SELECT a FROM t FOR UPDATE",
        "SELECT a FROM t FOR KEY SHARE",
        "SELECT nextval(q)",
        "SELECT pg_advisory_lock(1)",
        "WITH d AS (DELETE FROM t RETURNING a) SELECT a FROM d",
        "SELECT a INTO b FROM t",
        "TRUNCATE t",
        "CREATE TABLE u (a int)",
        "COPY t FROM STDIN",
        "CALL p()",
        "EXPLAIN ANALYZE DELETE FROM t",
        "LOCK TABLE t",
    };
    private static final FunctionCatalog ALL_READ_ONLY = name -> Boolean.TRUE;

    private final StatementClassifier cached = new StatementClassifier(ClassifierSettings.defaults(), ALL_READ_ONLY);
    private final StatementClassifier uncached =
            new StatementClassifier(new ClassifierSettings(List.of(), List.of(), 0), ALL_READ_ONLY);

    /** Byte 0: bits 0-3 the write, bit 4 set puts the write first. */
    @FuzzTest
    void neverRoutesAWriteToAStandby(byte[] data) {
        if (data.length < 1) {
            return;
        }
        String write = WRITES[(data[0] & 0x0f) % WRITES.length];
        String fuzz = new String(data, 1, data.length - 1, StandardCharsets.UTF_8);
        String sql = (data[0] & 0x10) != 0 ? write + ";\n" + fuzz : fuzz + "\n;" + write;
        assertThat(uncached.classify(sql).route()).as(sql).isEqualTo(Route.PRIMARY);
        assertThat(cached.classify(sql).route()).as(sql).isEqualTo(Route.PRIMARY);
    }

    @FuzzTest
    void classifiesAnyBytes(byte[] data) {
        ByteBuf buf = Unpooled.wrappedBuffer(data);
        Classification inPlace = uncached.classify(buf, 0, data.length);
        assertThat(buf.readerIndex()).isZero();
        assertThat(buf.refCnt()).isEqualTo(1);
        assertThat(cached.classify(buf, 0, data.length)).isEqualTo(inPlace);
        assertThat(cached.classify(buf, 0, data.length)).as("cache hit").isEqualTo(inPlace);
        if (!StatementClassifier.mayBeSetOrShow(buf, 0, data.length)) {
            assertThat(inPlace.command()).isNotIn(Command.SET_ROLE_HINT, Command.SHOW_ROLE_HINT,
                    Command.SET_TRANSACTION_READ_ONLY);
        }

        String text = new String(data, StandardCharsets.UTF_8);
        Classification fromString = uncached.classify(text);
        // The String path re-encodes, so it reads the same bytes only when the input was valid UTF-8.
        if (java.util.Arrays.equals(text.getBytes(StandardCharsets.UTF_8), data)) {
            assertThat(fromString).isEqualTo(inPlace);
        }
        assertThat(cached.classify(text)).isEqualTo(fromString);
    }
}
