package io.pgrelay.proxy.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pgrelay.cluster.LocalCluster;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.StartupMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.pgrelay.proxy.it.Frontend.bindExecute;
import static io.pgrelay.proxy.it.Frontend.concat;
import static io.pgrelay.proxy.it.Frontend.cstr;
import static io.pgrelay.proxy.it.Frontend.msg;
import static io.pgrelay.proxy.it.Frontend.parse;
import static io.pgrelay.proxy.it.Frontend.query;
import static io.pgrelay.proxy.it.Frontend.sync;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random extended-protocol batches through transaction pooling. Each well-formed batch goes alike to PostgreSQL itself
 * (its Unix socket) and through pgrelay, and the client must see the same answers either way: the same message types,
 * SQLSTATEs and transaction status, whichever server connections pgrelay used. Three clients run at once on a pool of
 * two, so their named statements keep meeting connections that never saw them. Then malformed batches, through pgrelay
 * only: a client gets its answers up to ReadyForQuery, or an 08P01 error and a closed connection; never a hang, an
 * internal error or a leaked buffer.
 *
 * <p>The seeds are fixed so that CI sees the same batches every run; {@code -Dfuzz.seed=N -Dfuzz.batches=M} explores
 * ({@code -Dfuzz.clients=1}: one client; {@code -Dfuzz.bothDirect=true}: both sides PostgreSQL, to tell its own
 * failures from pgrelay's).
 *
 * <p>What PostgreSQL itself does not survive is left out: PostgreSQL 15.18 ends a backend with SIGSEGV (and restarts
 * every server process) on {@code BEGIN}, {@code DEALLOCATE no_such_name} (simple Query), a named Parse of a longer
 * text with Sync (25P02), then Execute of the unnamed portal and Sync, with or without pgrelay. So Execute and Describe
 * of a portal come only after a Bind in the same batch.
 */
class ExtendedProtocolFuzzIT {
    private static final long SEED = Long.getLong("fuzz.seed", 20261124L);
    private static final int BATCHES = Integer.getInteger("fuzz.batches", 150);
    private static final int CLIENTS = Integer.getInteger("fuzz.clients", 3);

    private static LocalCluster cluster;
    private static TestProxy proxy;

    @BeforeAll
    static void start() {
        cluster = SharedCluster.get();
        String users = "[pools.app.users.1]\nusername = \"fuzz\"\nauth_type = \"trust\"\npool_size = 2\n"
                + "server_username = \"app\"\nserver_password = \"app\"\n";
        proxy = TestProxy.start(TestProxy.sessionConfig(cluster, 2, "", users)
                .replace("pool_mode = \"session\"", "pool_mode = \"transaction\""));
    }

    @AfterAll
    static void stop() {
        TestProxy.stopAndCheckLeaks(proxy);
    }

    /**
     * The cases the random batches found, each compared with PostgreSQL on its own: names a skipped or refused
     * message would have created or dropped, answers pgrelay gives itself inside a transaction.
     */
    @Test
    void namedStatementsFollowPostgresqlWhereAnErrorOrATransactionDecides() throws Exception {
        byte[] describeP = msg('D', new byte[] {'P'}, cstr(""));
        byte[] closeS1 = msg('C', new byte[] {'S'}, cstr("s1"));
        List<List<byte[]>> cases = List.of(
                // A Parse after an error in its batch is skipped: the name does not exist afterwards.
                List.of(concat(bindExecute("nope"), parse("s1", "SELECT 1"), sync()),
                        concat(bindExecute("s1"), sync())),
                // So are a Parse and a Close of one name behind an error: the name is as before both.
                List.of(concat(parse("s1", "SELECT 1"), sync()),
                        concat(bindExecute("nope"), parse("s1", "SELECT 2"), closeS1, sync()),
                        concat(bindExecute("s1"), sync())),
                // A failed transaction refuses a Parse even of a text the connection has prepared.
                List.of(concat(parse("s0", "SELECT 1"), sync()), query("BEGIN"), concat(bindExecute("s0"), sync()),
                        query("SELECT 1/0"), concat(parse("s1", "SELECT 1"), sync()), query("ROLLBACK"),
                        concat(bindExecute("s1"), sync())),
                // ... but not one that ends the transaction.
                List.of(concat(parse("s0", "ROLLBACK"), sync()), query("BEGIN"), concat(bindExecute("s0"), sync()),
                        query("SELECT 1/0"), concat(parse("s1", "ROLLBACK"), sync()), concat(bindExecute("s1"), sync()),
                        query("SELECT 1")),
                // A failed transaction refuses DEALLOCATE too, and the name stays.
                List.of(concat(parse("s1", "SELECT 1"), sync()), query("BEGIN"), query("SELECT 1/0"),
                        query("DEALLOCATE s1"), query("ROLLBACK"), concat(bindExecute("s1"), sync())),
                // Right after BEGIN (which pgrelay answers before any server has it), a Parse's Sync says 'T'.
                List.of(query("BEGIN"), concat(parse("s1", "SELECT 1"), sync()), concat(bindExecute("s1"), sync()),
                        query("COMMIT")),
                // A Describe of the portal a Bind left.
                List.of(concat(parse("s1", "SELECT 1"), Frontend.msg('B', cstr(""), cstr("s1"), shorts(0, 0, 0)),
                        describeP, sync())));
        List<String> differences = new ArrayList<>();
        for (int c = 0; c < cases.size(); c++) {
            List<byte[]> batches = cases.get(c);
            try (RawClient direct = direct(); RawClient relayed = relayed()) {
                StringBuilder want = new StringBuilder();
                StringBuilder got = new StringBuilder();
                for (byte[] batch : batches) {
                    direct.send(batch);
                    relayed.send(batch);
                    want.append(Outcome.read(direct, false).answers).append(' ');
                    got.append(Outcome.read(relayed, false).answers).append(' ');
                }
                if (!got.toString().equals(want.toString())) {
                    differences.add("case " + c + ": PostgreSQL answered " + want + "| through pgrelay " + got);
                }
            }
        }
        assertThat(differences).isEmpty();
    }

    private static byte[] shorts(int... values) {
        return Frontend.shorts(values);
    }

    @Test
    void wellFormedBatchesGetTheAnswersPostgresqlGivesDirectly() throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(CLIENTS);
        try (LogCapture log = LogCapture.open()) {
            List<Future<String>> runs = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                long seed = SEED + c;
                runs.add(threads.submit(() -> compareWithPostgresql(seed)));
            }
            for (Future<String> run : runs) {
                assertThat(run.get()).isNull();
            }
            assertThat(log.containing("internal error")).isEmpty();
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void malformedBatchesGetAnswersOrAProtocolErrorNeverAHangOrAnInternalError() throws Exception {
        Random r = new Random(SEED ^ 0x5eed);
        RawClient raw = null;
        Model model = null;
        int sessions = 0;
        try (LogCapture log = LogCapture.open()) {
            for (int i = 0; i < BATCHES; i++) {
                if (raw == null) {
                    raw = relayed(); // a session goes on over batches until a broken one ends it
                    model = new Model();
                    sessions++;
                }
                Batch b = new Batch(model, r);
                String what = "batch " + i + " " + b;
                if (r.nextInt(3) > 0) {
                    int victim = r.nextInt(b.messages.size());
                    what += " with message " + victim + " " + b.mutate(victim, r);
                }
                if (!checkMalformed(raw, b, what)) {
                    raw.close();
                    raw = null;
                }
            }
            assertThat(log.containing("internal error")).isEmpty();
            assertThat(sessions).as("sessions ended by broken messages").isGreaterThan(BATCHES / 10);
        } finally {
            if (raw != null) {
                raw.close();
            }
        }
    }

    private static final String MARKER = "end of batch";

    /**
     * Sends the broken batch, then a Sync (in case the broken message was one, or PostgreSQL skips to one) and a query
     * whose row marks the end; reads up to that row's ReadyForQuery (true), or to the close (false).
     */
    private static boolean checkMalformed(RawClient raw, Batch b, String what) {
        try {
            raw.send(concat(b.bytes(), sync(), query("ROLLBACK; SELECT '" + MARKER + "'")));
            StringBuilder answers = new StringBuilder();
            byte[][] body = new byte[1][];
            boolean marker = false;
            while (true) {
                char t;
                try {
                    t = (char) raw.readMessage(body);
                } catch (java.io.EOFException | java.net.SocketException e) {
                    assertThat(answers.toString()).as(what + ": closed without an 08P01").contains("E(08P01F)");
                    return false;
                }
                if (t == 'E') {
                    ErrorResponse e = Outcome.error(body[0]);
                    assertThat(e.sqlState()).as(what + ": " + e.message()).isNotEqualTo("XX000");
                    answers.append("E(").append(e.sqlState()).append(e.isFatal() ? "F" : "").append(')');
                } else if (t == 'D' && new String(body[0], java.nio.charset.StandardCharsets.UTF_8).contains(MARKER)) {
                    marker = true;
                } else if (t == 'Z' && marker) {
                    return true; // the session goes on
                }
            }
        } catch (IOException e) {
            throw new AssertionError(what + ": " + e, e);
        }
    }

    /** One client's run: null when every batch was answered alike, else what differed. */
    private static String compareWithPostgresql(long seed) throws IOException {
        Random r = new Random(seed);
        Model model = new Model();
        StringBuilder history = new StringBuilder();
        boolean bothDirect = Boolean.getBoolean("fuzz.bothDirect");
        try (RawClient direct = direct(); RawClient relayed = bothDirect ? direct() : relayed()) {
            for (int i = 0; i < BATCHES; i++) {
                Batch b = new Batch(model, r);
                byte[] bytes = b.bytes();
                String want;
                String got;
                try {
                    direct.send(bytes);
                    relayed.send(bytes);
                    want = Outcome.read(direct, false).answers;
                    got = Outcome.read(relayed, false).answers;
                } catch (IOException e) {
                    throw new IOException("seed " + seed + ", batch " + i + " " + b + ": " + e
                            + "; the batches before:" + history, e);
                }
                if (!want.equals(got)) {
                    return "seed " + seed + ", batch " + i + " " + b + ": PostgreSQL answered " + want
                            + ", through pgrelay " + got + "; the batches before:" + history;
                }
                model.status = want.charAt(want.length() - 1);
                history.append("\n  ").append(i).append(' ').append(b).append(" -> ").append(want);
            }
        }
        return null;
    }

    private static RawClient direct() throws IOException {
        RawClient raw = RawClient.unix(cluster.sockDir(), cluster.primary().port());
        raw.send(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "app", "database", "app")));
        assertThat(Outcome.read(raw, false).answers).endsWith("Z" + 'I');
        return raw;
    }

    private static RawClient relayed() throws IOException {
        RawClient raw = new RawClient(proxy.port());
        raw.send(new StartupMessage(StartupMessage.PROTOCOL_3_0, Map.of("user", "fuzz", "database", "app")));
        assertThat(Outcome.read(raw, false).answers).endsWith("Z" + 'I');
        return raw;
    }

    /**
     * What a client read for a batch: the message types up to ReadyForQuery and its status, ParameterStatus, notices
     * and the login's authentication and key left out, each error as {@code E(SQLSTATE)} (F added when fatal).
     */
    private record Outcome(String answers, boolean closed, boolean internal) {
        static ErrorResponse error(byte[] body) {
            ByteBuf f = Unpooled.buffer().writeByte('E').writeInt(body.length + 4).writeBytes(body);
            try {
                return ErrorResponse.decode(f);
            } finally {
                f.release();
            }
        }

        static Outcome read(RawClient raw, boolean mayClose) throws IOException {
            StringBuilder b = new StringBuilder();
            boolean internal = false;
            byte[][] body = new byte[1][];
            while (true) {
                char t;
                try {
                    t = (char) raw.readMessage(body);
                } catch (java.io.EOFException | java.net.SocketException e) {
                    if (!mayClose) {
                        throw e;
                    }
                    return new Outcome(b.toString(), true, internal);
                }
                switch (t) {
                    case 'S', 'N', 'R', 'K' -> {
                    }
                    case 'E' -> {
                        ErrorResponse e = error(body[0]);
                        internal |= e.message().contains("internal error") || e.sqlState().equals("XX000");
                        b.append("E(").append(e.sqlState()).append(e.isFatal() ? "F" : "").append(')');
                    }
                    case 'Z' -> {
                        return new Outcome(b.append('Z').append((char) body[0][0]).toString(), false, internal);
                    }
                    default -> b.append(t);
                }
            }
        }
    }

    /** What a client has prepared, by the names it chose: each named Parse takes a name never used before. */
    private static final class Model {
        private final List<String> names = new ArrayList<>();
        private final List<Statement> texts = new ArrayList<>();
        private int next;
        /** The transaction status PostgreSQL gave at the end of the last batch. */
        private char status = 'I';
    }

    /** A statement text and how many parameters it takes; the invalid ones are only ever parsed unnamed. */
    private record Statement(String sql, int parameters, boolean valid) {
    }

    private static final Statement[] STATEMENTS = {
            new Statement("SELECT 1", 0, true),
            new Statement("SELECT $1::int + 1", 1, true),
            // Division by zero at execution: as "SELECT 10 / $1::int" it would fail at Bind under a custom plan and
            // not under a generic one, and the plan depends on how often the server statement (shared by pgrelay's
            // clients) has run, not on what this client did.
            new Statement("SELECT 10 / g FROM generate_series($1::int, 3) g", 1, true),
            new Statement("SELECT g FROM generate_series(1, 3) g", 0, true),
            new Statement("SELECT $1::text, $2::int", 2, true),
            new Statement("SELEC 1", 0, false),
            new Statement("SELECT * FROM no_such_table", 0, false),
    };

    private static final String[] VALUES = {"0", "1", "3", "x"};

    /** One batch: a simple Query, or extended messages ending with Sync. */
    private static final class Batch {
        final List<byte[]> messages = new ArrayList<>();
        final List<String> shown = new ArrayList<>();

        Batch(Model m, Random r) {
            if (r.nextInt(100) < 15) {
                String[] queries = {"BEGIN", "COMMIT", "ROLLBACK", "SELECT 1", "SELECT 1/0", "DEALLOCATE ALL",
                        "DEALLOCATE " + someName(m, r)};
                String sql = queries[r.nextInt(queries.length)];
                add(query(sql), "Query(" + sql + ")");
                return;
            }
            Statement unnamed = null;
            boolean bound = false;
            int count = 1 + r.nextInt(6);
            for (int i = 0; i < count; i++) {
                int kind = r.nextInt(100);
                if (kind < 30) {
                    boolean named = r.nextBoolean();
                    Statement s = STATEMENTS[r.nextInt(named ? 5 : STATEMENTS.length)];
                    String name = "";
                    if (named) {
                        name = "f" + m.next++;
                        m.names.add(name);
                        m.texts.add(s);
                    } else {
                        unnamed = s;
                    }
                    add(msg('P', cstr(name), cstr(s.sql), shorts(0)), "Parse(" + name + ", " + s.sql + ")");
                } else if (kind < 55) {
                    String name;
                    int parameters;
                    if (unnamed != null && r.nextBoolean()) {
                        name = "";
                        parameters = unnamed.parameters;
                    } else if (!m.names.isEmpty() && r.nextInt(5) > 0) {
                        int k = r.nextInt(m.names.size());
                        name = m.names.get(k);
                        parameters = m.texts.get(k).parameters;
                    } else {
                        name = "nope" + r.nextInt(3);
                        parameters = r.nextInt(2);
                    }
                    if (r.nextInt(100) < 15 && m.status != 'E') {
                        // A wrong count, except in a failed transaction: there PostgreSQL checks the count before
                        // the transaction, while pgrelay, preparing the statement on its connection first, gets
                        // 25P02 from the Parse it injects.
                        parameters = Math.max(0, parameters + (r.nextBoolean() ? 1 : -1));
                    }
                    List<String> values = new ArrayList<>();
                    byte[] params = shorts(parameters);
                    for (int p = 0; p < parameters; p++) {
                        String v = VALUES[r.nextInt(VALUES.length)];
                        values.add(v);
                        byte[] raw = v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                        params = concat(params, ByteBuffer.allocate(4).putInt(raw.length).array(), raw);
                    }
                    add(msg('B', cstr(""), cstr(name), shorts(0), params, shorts(0)), "Bind(" + name + values + ")");
                    bound = true;
                } else if (kind < 75) {
                    if (!bound) {
                        continue; // see the Describe below
                    }
                    int rows = r.nextInt(5) == 0 ? 1 : 0;
                    add(msg('E', cstr(""), ByteBuffer.allocate(4).putInt(rows).array()), "Execute(" + rows + ")");
                } else if (kind < 85) {
                    // A portal only where this batch bound one: PostgreSQL 15.18 crashes on an Execute of the
                    // unnamed portal a failed DEALLOCATE left in an aborted transaction (see the class comment).
                    boolean statement = !bound || r.nextBoolean();
                    String name = statement ? statementName(m, r, unnamed != null) : "";
                    add(msg('D', new byte[] {(byte) (statement ? 'S' : 'P')}, cstr(name)),
                            "Describe(" + (statement ? "S " + name : "P") + ")");
                } else if (kind < 95) {
                    boolean statement = r.nextBoolean();
                    String name = statement ? statementName(m, r, unnamed != null) : "";
                    add(msg('C', new byte[] {(byte) (statement ? 'S' : 'P')}, cstr(name)),
                            "Close(" + (statement ? "S " + name : "P") + ")");
                } else {
                    add(msg('H'), "Flush");
                }
            }
            add(sync(), "Sync");
        }

        /** A statement name to describe or close: the unnamed one only when this batch parsed it. */
        private static String statementName(Model m, Random r, boolean unnamedParsed) {
            if (unnamedParsed && r.nextInt(3) == 0) {
                return "";
            }
            return someName(m, r);
        }

        private static String someName(Model m, Random r) {
            return m.names.isEmpty() || r.nextInt(5) == 0 ? "nope" + r.nextInt(3)
                    : m.names.get(r.nextInt(m.names.size()));
        }

        private void add(byte[] message, String show) {
            messages.add(message);
            shown.add(show);
        }

        byte[] bytes() {
            return concat(messages.toArray(new byte[0][]));
        }

        /** Breaks message {@code i} in one of the ways a broken client might; says how. */
        String mutate(int i, Random r) {
            byte[] m = messages.get(i);
            switch (r.nextInt(4)) {
                case 0 -> {
                    int cut = 1 + r.nextInt(Math.max(1, m.length - 5));
                    byte[] shorter = java.util.Arrays.copyOf(m, Math.max(5, m.length - cut));
                    ByteBuffer.wrap(shorter).putInt(1, shorter.length - 1);
                    messages.set(i, shorter);
                    return "cut by " + (m.length - shorter.length) + " bytes";
                }
                case 1 -> {
                    byte[] longer = concat(m, new byte[] {(byte) r.nextInt(256), 0});
                    ByteBuffer.wrap(longer).putInt(1, longer.length - 1);
                    messages.set(i, longer);
                    return "with 2 bytes more";
                }
                case 2 -> {
                    byte[] types = {'P', 'B', 'E', 'D', 'C', 'H', 'S', 'Q', 'F', 'd', 'c', 'f', 'p', 'z', '!', 0};
                    byte type = types[r.nextInt(types.length)];
                    byte[] retyped = m.clone();
                    retyped[0] = type;
                    messages.set(i, retyped);
                    return "typed '" + (char) type + "' (" + type + ")";
                }
                default -> {
                    int length = r.nextBoolean() ? r.nextInt(4) : Integer.MAX_VALUE;
                    byte[] broken = m.clone();
                    ByteBuffer.wrap(broken).putInt(1, length);
                    messages.set(i, broken);
                    return "with length " + length;
                }
            }
        }

        @Override
        public String toString() {
            return shown.toString();
        }
    }
}
