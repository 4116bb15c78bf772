package io.pgrelay.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LineIndexTest {

    private static int line(LineIndex index, String... path) {
        return index.lineOf(KeyPath.of(path));
    }

    @Test
    void tablesKeysAndArrayElements() {
        LineIndex index = LineIndex.of("""
                # comment
                top = 1
                [general]
                port = 6432 # trailing comment
                  host="x"
                [pools."my.db".users.0]
                username = 'a'
                [pools."my.db".shards.0]
                servers = [
                  ["a", 1, "primary"],   # first
                  # a comment line inside the array

                  ["b", 2, "replica"],
                ]
                database = "d"
                """);
        assertThat(line(index, "top")).isEqualTo(2);
        assertThat(line(index, "general")).isEqualTo(3);
        assertThat(line(index, "general", "port")).isEqualTo(4);
        assertThat(line(index, "general", "host")).isEqualTo(5);
        assertThat(line(index, "pools")).isEqualTo(6);
        assertThat(line(index, "pools", "my.db")).isEqualTo(6);
        assertThat(line(index, "pools", "my.db", "users", "0", "username")).isEqualTo(7);
        assertThat(line(index, "pools", "my.db", "shards", "0")).isEqualTo(8);
        assertThat(line(index, "pools", "my.db", "shards", "0", "servers")).isEqualTo(9);
        assertThat(line(index, "pools", "my.db", "shards", "0", "servers", "0")).isEqualTo(10);
        assertThat(line(index, "pools", "my.db", "shards", "0", "servers", "1")).isEqualTo(13);
        assertThat(line(index, "pools", "my.db", "shards", "0", "database")).isEqualTo(15);
    }

    @Test
    void missingKeysFallBackToTheirTableAndUnknownPathsToZero() {
        LineIndex index = LineIndex.of("[general]\nport = 1\n\n[pools.app]\n");
        assertThat(line(index, "general", "host")).isEqualTo(1);
        assertThat(line(index, "pools", "app", "users")).isEqualTo(4);
        assertThat(line(index, "nothing", "here")).isZero();
    }

    @Test
    void explicitHeaderWinsOverAnEarlierImplicitMention() {
        LineIndex index = LineIndex.of("[pools.app.users.0]\nusername = \"u\"\n\n[pools.app]\npool_mode = \"session\"\n");
        assertThat(line(index, "pools", "app")).isEqualTo(4);
        assertThat(line(index, "pools", "app", "users")).isEqualTo(1);
    }

    @Test
    void dottedKeysInlineTablesAndMultilineStrings() {
        LineIndex index = LineIndex.of("""
                [general]
                a.b.c = 1
                text = \"""
                line one
                port = 2 is not a key here
                \"""
                lit = '''
                x = 1
                '''
                inline = { x = 1, "y z" = 2 }
                last = "a # not a comment"
                """);
        assertThat(line(index, "general", "a")).isEqualTo(2);
        assertThat(line(index, "general", "a", "b", "c")).isEqualTo(2);
        assertThat(line(index, "general", "text")).isEqualTo(3);
        assertThat(line(index, "general", "port")).isEqualTo(1);
        assertThat(line(index, "general", "lit")).isEqualTo(7);
        assertThat(line(index, "general", "x")).isEqualTo(1);
        assertThat(line(index, "general", "inline", "y z")).isEqualTo(10);
        assertThat(line(index, "general", "last")).isEqualTo(11);
    }

    @Test
    void arrayOfTablesAreIndexedByPosition() {
        LineIndex index = LineIndex.of("[[servers]]\nhost = \"a\"\n[[servers]]\nhost = \"b\"\n");
        assertThat(line(index, "servers", "0", "host")).isEqualTo(2);
        assertThat(line(index, "servers", "1")).isEqualTo(3);
        assertThat(line(index, "servers", "1", "host")).isEqualTo(4);
        assertThat(index.duplicate()).isNull();
    }

    @Test
    void crlfLineEndings() {
        LineIndex index = LineIndex.of("[general]\r\nport = 1\r\nhost = \"x\"\r\n");
        assertThat(line(index, "general", "host")).isEqualTo(3);
    }

    @Test
    void findsTheFirstDuplicate() {
        LineIndex index = LineIndex.of("[general]\nport = 1\nhost = \"a\"\nport = 2\nhost = \"b\"\n");
        assertThat(index.duplicate()).isEqualTo(KeyPath.of("general", "port"));
        assertThat(index.duplicateLine()).isEqualTo(4);
        assertThat(line(index, "general", "port")).isEqualTo(2);
    }

    @Test
    void invalidTextKeepsWhatWasFoundBeforeIt() {
        LineIndex index = LineIndex.of("[general]\nport = 1\n= oops\nhost = \"x\"\n");
        assertThat(line(index, "general", "port")).isEqualTo(2);
    }

    @Test
    void keyPathsQuoteSegmentsThatNeedIt() {
        assertThat(KeyPath.of("pools", "my.db", "users", "0")).hasToString("pools.\"my.db\".users.0");
        assertThat(KeyPath.of("pools", "my-db_1")).hasToString("pools.my-db_1");
        assertThat(KeyPath.of("pools", "")).hasToString("pools.\"\"");
    }
}
