package io.pgrelay.protocol.sql;

import static io.pgrelay.protocol.sql.SqlLexer.COMMA;
import static io.pgrelay.protocol.sql.SqlLexer.DCOLON;
import static io.pgrelay.protocol.sql.SqlLexer.DOT;
import static io.pgrelay.protocol.sql.SqlLexer.IDENT;
import static io.pgrelay.protocol.sql.SqlLexer.LPAREN;
import static io.pgrelay.protocol.sql.SqlLexer.NUMBER;
import static io.pgrelay.protocol.sql.SqlLexer.OP;
import static io.pgrelay.protocol.sql.SqlLexer.PARAM;
import static io.pgrelay.protocol.sql.SqlLexer.PUNCT;
import static io.pgrelay.protocol.sql.SqlLexer.QIDENT;
import static io.pgrelay.protocol.sql.SqlLexer.RPAREN;
import static io.pgrelay.protocol.sql.SqlLexer.SEMI;
import static io.pgrelay.protocol.sql.SqlLexer.STRING;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

class SqlLexerTest {
    private static SqlLexer lex(String sql) {
        return SqlLexer.lex(sql.getBytes(StandardCharsets.UTF_8), false);
    }

    private static List<Integer> kinds(SqlLexer lx) {
        List<Integer> kinds = new ArrayList<>();
        for (int t = 0; t < lx.count; t++) {
            kinds.add(lx.kind[t]);
        }
        return kinds;
    }

    private static List<String> texts(SqlLexer lx) {
        List<String> texts = new ArrayList<>();
        for (int t = 0; t < lx.count; t++) {
            texts.add(lx.text(t));
        }
        return texts;
    }

    @Test
    void identifiersAreLowerCasedUnlessQuoted() {
        SqlLexer lx = lex("SELECT Foo, \"Bar\"\"s\", U&\"x\" FROM s.T");
        assertThat(kinds(lx)).containsExactly(IDENT, IDENT, COMMA, QIDENT, COMMA, QIDENT, IDENT, IDENT, DOT, IDENT);
        assertThat(texts(lx)).containsExactly("select", "foo", ",", "Bar\"s", ",", "x", "from", "s", ".", "t");
        assertThat(lx.is(0, "select")).isTrue();
        assertThat(lx.is(3, "bar\"s")).as("quoted is never a keyword").isFalse();
    }

    @Test
    void stringLiteralsOfEveryKind() {
        SqlLexer lx = lex("'it''s' E'a\\'b' e'\\\\' U&'d\\0061t' B'101' X'ff' N'n' $$x'y$$ $tag$ $$ ; $tag$");
        assertThat(kinds(lx)).containsOnly(STRING).hasSize(9);
        assertThat(lx.text(0)).isEqualTo("it's");
        assertThat(lx.text(7)).isEqualTo("x'y");
        assertThat(lx.text(8)).isEqualTo(" $$ ; ");
        assertThat(lx.backslashInPlainString()).isFalse();
    }

    @Test
    void parametersNumbersAndCasts() {
        SqlLexer lx = lex("$1 + $12::int8 - 1.5e-3 * .5 + 0x1F + 1_000 a$b");
        assertThat(kinds(lx)).containsExactly(PARAM, OP, PARAM, DCOLON, IDENT, OP, NUMBER, OP, NUMBER, OP, NUMBER, OP,
                NUMBER, IDENT);
        assertThat(lx.text(13)).isEqualTo("a$b");
    }

    @Test
    void commentsVanishIncludingNestedOnes() {
        SqlLexer lx = lex("SELECT /* a /* b */ c */ 1 -- tail ; DELETE\n, 2");
        assertThat(texts(lx)).containsExactly("select", "1", ",", "2");
    }

    @Test
    void dashDashOrSlashStarEndsAnOperator() {
        assertThat(texts(lex("a*/*c*/b"))).containsExactly("a", "*", "b");
        assertThat(texts(lex("a+--c\nb"))).containsExactly("a", "+", "b");
        assertThat(texts(lex("a --- c\nb"))).containsExactly("a", "b");
        assertThat(texts(lex("a <= b"))).containsExactly("a", "<=", "b");
    }

    @Test
    void punctuationAndParenthesesMatch() {
        SqlLexer lx = lex("f((a), b[1:2]);");
        assertThat(kinds(lx)).containsExactly(IDENT, LPAREN, LPAREN, IDENT, RPAREN, COMMA, IDENT, PUNCT, NUMBER, PUNCT,
                NUMBER, PUNCT, RPAREN, SEMI);
        assertThat(lx.match[1]).isEqualTo(12);
        assertThat(lx.match[2]).isEqualTo(4);
    }

    @Test
    void utf8IdentifiersAndStrings() {
        SqlLexer lx = lex("SELECT café, 'ß 😀' FROM données");
        assertThat(texts(lx)).containsExactly("select", "café", ",", "ß 😀", "from", "données");
    }

    @ParameterizedTest
    @ValueSource(strings = {"'open", "\"open", "$$ open", "$a$ open $b$", "/* open", "/* /* */", "E'\\'",
        "(", ")", "a \\ b", "SELECT \u0001", "$"})
    void lexicalErrors(String sql) {
        assertThat(lex(sql).error()).isTrue();
    }

    @Test
    void backslashInAPlainStringIsNoted() {
        assertThat(lex("SELECT 'a\\'").backslashInPlainString()).isTrue();
        assertThat(lex("SELECT E'a\\''").backslashInPlainString()).isFalse();
        assertThat(lex("SELECT $$a\\$$").backslashInPlainString()).isFalse();
        SqlLexer nonStandard = SqlLexer.lex("SELECT 'a\\'b'".getBytes(StandardCharsets.UTF_8), true);
        assertThat(nonStandard.error()).isFalse();
        assertThat(nonStandard.count).isEqualTo(2);
    }

    @Test
    void hintOnlyFromCommentsBeforeTheFirstToken() {
        assertThat(lex("/* pgrelay: primary */ SELECT 1").hint()).isEqualTo(RoleHint.PRIMARY);
        assertThat(lex("/*PGRELAY:STANDBY*/SELECT 1").hint()).isEqualTo(RoleHint.STANDBY);
        assertThat(lex(" \n/*\tpgrelay :\n auto */ SELECT 1").hint()).isEqualTo(RoleHint.AUTO);
        assertThat(lex("-- pgrelay: replica\nSELECT 1").hint()).isEqualTo(RoleHint.STANDBY);
        assertThat(lex("/* x */ /* pgrelay: primary */ SELECT 1").hint()).isEqualTo(RoleHint.PRIMARY);
        assertThat(lex("SELECT /* pgrelay: primary */ 1").hint()).isEqualTo(RoleHint.NONE);
        assertThat(lex("/* pgrelay: primary */").hint()).isEqualTo(RoleHint.PRIMARY);
        assertThat(lex("/* pgrelay: sideways */ SELECT 1").hint()).isEqualTo(RoleHint.NONE);
        assertThat(lex("/* pgrelay primary */ SELECT 1").hint()).isEqualTo(RoleHint.NONE);
        assertThat(lex("/* see pgrelay: primary */ SELECT 1").hint()).isEqualTo(RoleHint.NONE);
    }

    @Test
    void manyTokensGrowTheArrays() {
        String sql = "SELECT " + "1,".repeat(5000) + "1";
        SqlLexer lx = lex(sql);
        assertThat(lx.error()).isFalse();
        assertThat(lx.count).isEqualTo(1 + 2 * 5000 + 1);
    }
}
