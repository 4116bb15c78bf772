package io.pgrelay.proxy.admin;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the admin console's statement splitter, the one part of its command parsing that is a pure function
 * (dispatching a command needs the running server). Properties: it never throws; each statement is trimmed and
 * non-empty, so the dispatcher's first word exists; splitting is a fixed point (statements joined with ';' split
 * into the same statements, as only the last one can hold an unclosed quote).
 */
class AdminSplitFuzzTest {
    @FuzzTest
    void split(byte[] data) {
        String sql = new String(data, StandardCharsets.UTF_8);
        List<String> statements = AdminSession.split(sql);
        for (String s : statements) {
            assertThat(s).isNotEmpty().isEqualTo(s.trim());
            assertThat(s.split("\\s+")[0]).isNotEmpty();
        }
        assertThat(AdminSession.split(String.join(";", statements))).isEqualTo(statements);
    }
}
