package io.pgrelay.proxy.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The admin console's whole command parser (splitting, verbs, arguments, SET's value, host:port), fed 600 random
 * statements built from its own words and junk over a real admin connection: each gets a result or an ERROR, never
 * a dropped connection, and the console answers normally afterwards. A pgrelay of its own: the commands change it.
 */
class AdminRandomCommandsIT {
    private static TestProxy proxy;
    private static final String[] WORDS = {"SHOW", "POOLS", "STATS", "HOSTS", "CONFIG", "HELP", "LISTS", "ROUTES",
        "PREPARED", "FOO", "BAN", "UNBAN", "127.0.0.1:1", "[::1]:5432", "host:port", ":", ":99999999999", "SET",
        "query_wait_timeout", "max_client_conn", "host", "=", "TO", "'x'", "'1000'", "-1", "99999999999999999999",
        "RESUME", "ENABLE", "DISABLE", "RECONNECT", "app", "pgbouncer", "nodb", ";", "''", "\"", "\\", "'", "KILL",
        "KILL_CLIENT", "0", "-5", "1e9", "RELOAD", "PAUSE", "WAIT_CLOSE", "\u00e9\u00e8", "\u0000", "/*", "*/", "--",
        "$$", "SELECT", "1", "E'\\x'", "USERS", "DATABASES", "SERVERS", "CLIENTS", "VERSION", "STATE", "TOTALS"};

    @BeforeAll
    static void start() {
        proxy = TestProxy.start(AdminIT.config(SharedCluster.get(), 2, "query_wait_timeout = 500"));
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    @Test
    void randomCommandsGetAnAnswerNeverADroppedConnection() throws Exception {
        Random random = new Random(20261122);
        int errors = 0;
        try (Connection c = AdminIT.admin(proxy, "admin", "adminpw")) {
            for (int i = 0; i < 600; i++) {
                StringBuilder sql = new StringBuilder();
                int n = 1 + random.nextInt(5);
                for (int w = 0; w < n; w++) {
                    sql.append(WORDS[random.nextInt(WORDS.length)]).append(random.nextInt(4) == 0 ? "\t" : " ");
                }
                String statement = sql.toString().replace("\u0000", ""); // a NUL cannot be sent inside a Query
                try (Statement st = c.createStatement()) {
                    st.execute(statement);
                } catch (SQLException e) {
                    errors++;
                    assertThat(e.getSQLState()).as("%s: %s", statement, e.getMessage()).doesNotStartWith("08");
                    assertThat(c.isClosed()).as("after %s", statement).isFalse();
                }
                if (statement.contains("PAUSE")) {
                    try (Statement st = c.createStatement()) {
                        st.execute("RESUME");
                    } catch (SQLException ignored) {
                        // not paused after all
                    }
                }
            }
            assertThat(errors).as("most random statements are wrong").isGreaterThan(100);
            assertThat(AdminIT.query(c, "SHOW VERSION").get(0).get("version")).startsWith("PgBouncer");
        }
    }
}
