package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.ReadyForQuery;
import io.pgrelay.protocol.sql.Classification;
import io.pgrelay.protocol.sql.StatementClassifier;
import io.pgrelay.proxy.prepared.Rewrites;
import io.pgrelay.proxy.prepared.ServerStatements;
import io.pgrelay.proxy.prepared.StatementRegistry;
import io.pgrelay.proxy.route.PoolGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Transaction mode: a client's named prepared statements, mapped to pgrelay's per-text server statements (shared
 * across clients, so the server never knows the client's names) and prepared on each connection on demand. Parse,
 * Bind, Describe and Close of a named statement are rewritten here; between transactions a named Parse or Close is
 * answered without a server at all.
 *
 * <p>Part of one {@link Relay}, on the client's event loop; it writes to the relay's current server through it.
 */
final class PreparedStatements {
    /** Logs under the relay's name, which operators and their log filters know. */
    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    /** A client's named statement: pgrelay's server name for its text, the text, and how it routes. */
    private static final class ClientStatement {
        private final String serverName;
        private final byte[] definition;
        /** The classifier's verdict on the text, kept for the Binds to come while the classifier's generation holds. */
        private Classification classification;
        private StatementClassifier classifiedBy;
        private int generation;

        ClientStatement(String serverName, byte[] definition) {
            this.serverName = serverName;
            this.definition = definition;
        }

        String serverName() {
            return serverName;
        }

        byte[] definition() {
            return definition;
        }

        /**
         * Classified once, not at every Bind: a prepared statement is bound many times, and each classification
         * wraps, hashes and looks up its text (or scans it, for a plain SELECT). A verdict listing unknown functions
         * is not kept: it changes once the catalog learns them, and asking again is what makes the catalog learn.
         */
        Classification classification(StatementClassifier classifier) {
            int current = classifier.generation();
            if (classification != null && classifiedBy == classifier && generation == current) {
                return classification;
            }
            int end = 0;
            while (end < definition.length && definition[end] != 0) {
                end++;
            }
            Classification c = classifier.classify(Unpooled.wrappedBuffer(definition), 0, end);
            if (c.unknownFunctions().isEmpty()) {
                classification = c;
                classifiedBy = classifier;
                generation = current; // read before classifying: a clear meanwhile makes this verdict stale at once
            }
            return c;
        }
    }

    private static final byte[] NO_NAME = new byte[0];
    /** The server statement that checks whether a failed transaction lets a Parse through; closed right after. */
    private static final String CHECK_NAME = "pgrelay_check";

    private final Relay relay;
    private final ChannelHandlerContext ctx;
    private final ResponseTracker tracker;
    private final StatementRegistry registry;
    private final PoolGroup group;
    private final Map<String, ClientStatement> statements = new HashMap<>();
    /** Replies owed for messages answered without a server (a Parse or Close while the client holds none). */
    private final ArrayDeque<ByteBuf> localReplies = new ArrayDeque<>(1);
    /** After an error pgrelay raised in an extended batch: the client's messages are skipped up to Sync, as
     * PostgreSQL does after an error. */
    private boolean discardUntilSync;
    private boolean preparedLimitLogged;
    /** The statement name of the last Bind, as its bytes and as the String the map knows (see {@link #boundName}). */
    private byte[] lastBoundBytes = NO_NAME;
    private String lastBound = "";

    PreparedStatements(Relay relay, ChannelHandlerContext ctx, ResponseTracker tracker, StatementRegistry registry,
                       PoolGroup group) {
        this.relay = relay;
        this.ctx = ctx;
        this.tracker = tracker;
        this.registry = registry;
        this.group = group;
    }

    /** The client's named prepared statements (SHOW CLIENTS, SHOW PREPARED). */
    int count() {
        return statements.size();
    }

    /** DISCARD ALL or DEALLOCATE ALL ran: the client has no statements left. */
    void clear() {
        statements.clear();
    }

    /** How the named statement a Bind uses routes; null for the unnamed statement or a name the client never parsed. */
    Classification bindClassification(ByteBuf bind, StatementClassifier classifier) {
        ClientStatement s = statementOf(boundName(bind));
        return s == null ? null : s.classification(classifier);
    }

    /** How the client's named statement routes, for its Describe; null if there is none by that name. */
    Classification classification(String name, StatementClassifier classifier) {
        ClientStatement s = statementOf(name);
        return s == null ? null : s.classification(classifier);
    }

    /**
     * The statement name a Bind carries. A client binds the same few statements over and over (pgbench -M prepared,
     * an ORM's hot query), so the last name is kept as bytes: a Bind naming it again costs a compare, not a String.
     */
    private String boundName(ByteBuf bind) {
        int from = Rewrites.bindStatementStart(bind);
        int length = Rewrites.cStringLength(bind, from);
        byte[] last = lastBoundBytes;
        if (length == last.length) {
            int i = 0;
            while (i < length && bind.getByte(from + i) == last[i]) {
                i++;
            }
            if (i == length) {
                return lastBound;
            }
        }
        byte[] name = new byte[length];
        bind.getBytes(from, name);
        lastBoundBytes = name;
        lastBound = new String(name, StandardCharsets.UTF_8);
        return lastBound;
    }

    // ---- answered without a server ------------------------------------------------------------------------

    /**
     * Between transactions, a named Parse or a statement Close needs no server: the statement is recorded (and
     * prepared on a server at its first Bind), the reply given at the next Sync or Flush. This keeps a client that
     * prepares synchronously (libpq's PQprepare, as pgbench -M prepared does) from waiting for a server connection
     * while the clients holding them wait for it.
     */
    boolean answeredLocally(ByteBuf frame) {
        switch (Frames.type(frame)) {
            case MessageType.PARSE:
                String name = Rewrites.parseName(frame);
                if (name.isEmpty()) {
                    return false;
                }
                if (record(frame, name) == null) {
                    // Nothing is owed before it: the replies due so far, then the error, now (PostgreSQL, too,
                    // sends an error at once, not at the next Sync).
                    while (!localReplies.isEmpty()) {
                        relay.toClient(localReplies.pollFirst());
                    }
                    relay.toClient(preparedLimitError());
                    ctx.flush();
                    return true;
                }
                localReplies.add(Rewrites.emptyReply(ctx.alloc(), MessageType.PARSE_COMPLETE));
                return true;
            case MessageType.CLOSE:
                if (Rewrites.target(frame) != 'S' || Rewrites.targetName(frame).isEmpty()) {
                    return false;
                }
                statements.remove(Rewrites.targetName(frame));
                frame.release();
                localReplies.add(Rewrites.emptyReply(ctx.alloc(), MessageType.CLOSE_COMPLETE));
                return true;
            case MessageType.SYNC:
            case MessageType.FLUSH:
                if (localReplies.isEmpty()) {
                    return false; // a Sync on its own still gets its ReadyForQuery from a server
                }
                boolean sync = Frames.type(frame) == MessageType.SYNC;
                frame.release();
                while (!localReplies.isEmpty()) {
                    relay.toClient(localReplies.pollFirst());
                }
                if (sync) {
                    // Idle, or in a transaction whose BEGIN pgrelay answered and has not sent yet.
                    relay.toClient(new ReadyForQuery(relay.status()).encode(ctx.alloc()));
                }
                ctx.flush();
                return true;
            default:
                return false;
        }
    }

    /** Whether no reply to a locally answered Parse or Close is still owed. */
    boolean noLocalReplies() {
        return localReplies.isEmpty();
    }

    /** A server is linked: the replies owed for what was answered locally come before anything it will answer. */
    void localRepliesFirst() {
        while (!localReplies.isEmpty()) {
            tracker.synthetic(localReplies.pollFirst(), relay); // owed before anything the server will answer
        }
    }

    private static final java.util.regex.Pattern DEALLOCATE = java.util.regex.Pattern.compile(
            "(?is)\\s*DEALLOCATE\\s+(?:PREPARE\\s+)?(?:\"((?:[^\"]|\"\")+)\"|([A-Za-z_][A-Za-z0-9_$]*))\\s*;?\\s*");

    /**
     * DEALLOCATE of one of the client's own statements: the server never knew that name (its statement is shared
     * under pgrelay's), so only the client's name goes, as PostgreSQL would drop it. Consumes the frame when true;
     * other names (an SQL-level PREPARE inside a transaction) go to the server.
     */
    boolean deallocated(ByteBuf frame) {
        if (relay.status() == ReadyForQuery.FAILED_TRANSACTION) {
            return false; // the server refuses it (25P02), and the name stays, as PostgreSQL would keep it
        }
        long text = UnitRouting.textSpan(frame);
        if (text < 0 || !StatementClassifier.firstWordIs(frame, UnitRouting.start(text), UnitRouting.length(text),
                "deallocate")) {
            return false; // no regex and no String for every SELECT, DELETE or DROP
        }
        java.util.regex.Matcher m = DEALLOCATE.matcher(UnitRouting.statementText(frame));
        if (!m.matches()) {
            return false;
        }
        String name = m.group(1) != null ? m.group(1).replace("\"\"", "\"")
                : m.group(2).toLowerCase(java.util.Locale.ROOT);
        if (name.equalsIgnoreCase("all") && m.group(1) == null) {
            return false; // DEALLOCATE ALL runs on the server; its tag clears the client's names too
        }
        String key = statements.containsKey(name) ? name : m.group(2) != null && statements.containsKey(m.group(2))
                ? m.group(2) : null; // drivers name statements in mixed case without quoting them
        if (key == null) {
            return false;
        }
        statements.remove(key);
        frame.release();
        return true;
    }

    /** Records a client's named Parse (consumes the frame); null when max_client_prepared_statements refuses it. */
    private ClientStatement record(ByteBuf frame, String name) {
        if (relay.maxPreparedStatements > 0 && statements.size() >= relay.maxPreparedStatements
                && !statements.containsKey(name)) {
            frame.release();
            return null;
        }
        byte[] definition = Rewrites.parseDefinition(frame);
        frame.release();
        ClientStatement s = new ClientStatement(registry.nameFor(definition), definition);
        statements.put(name, s);
        return s;
    }

    /**
     * The ERROR for a named Parse over max_client_prepared_statements; the rest of the batch is skipped up to its
     * Sync. The client keeps its connection and its statements; one log line per client, every refusal counted.
     */
    private ByteBuf preparedLimitError() {
        relay.limitStats.refused(io.pgrelay.proxy.metrics.LimitStats.Limit.MAX_CLIENT_PREPARED_STATEMENTS);
        if (!preparedLimitLogged) {
            preparedLimitLogged = true;
            log.warn("pool {}: a client reached max_client_prepared_statements ({}); its further named Parse "
                    + "messages are refused", group.key(), relay.maxPreparedStatements);
        }
        discardUntilSync = true;
        return ErrorResponse.error("53400", "too many prepared statements: this client has "
                        + statements.size() + " (max_client_prepared_statements = " + relay.maxPreparedStatements
                        + ")")
                .withHint("close prepared statements that are no longer needed (Close, DEALLOCATE)")
                .encode(ctx.alloc());
    }

    /**
     * While skipping to Sync after {@link #preparedLimitError}: drops (and releases) anything but the Sync, which ends
     * the skipping. False, the frame untouched, when not skipping.
     */
    boolean discarded(ByteBuf frame) {
        if (!discardUntilSync) {
            return false;
        }
        if (Frames.type(frame) == MessageType.SYNC) {
            discardUntilSync = false;
            return false;
        }
        frame.release();
        return true;
    }

    // ---- rewritten towards the server -----------------------------------------------------------------------

    private ClientStatement statementOf(String name) {
        return name.isEmpty() ? null : statements.get(name);
    }

    void sendParse(ByteBuf frame) {
        String name = Rewrites.parseName(frame);
        if (name.isEmpty()) {
            relay.forward(frame); // the unnamed statement lives and dies within the client's own batch
            return;
        }
        ClientStatement previous = statements.get(name);
        ClientStatement s = record(frame, name);
        if (s == null) {
            tracker.synthetic(preparedLimitError(), relay); // in order, after what the server owes before it
            return;
        }
        Recorded undo = new Recorded(name, s, previous);
        ServerStatements onServer = relay.server().statements();
        relay.traffic.prepared(onServer.contains(s.serverName()));
        if (onServer.contains(s.serverName()) && relay.status() == ReadyForQuery.FAILED_TRANSACTION) {
            // In a failed transaction PostgreSQL refuses a Parse (25P02) unless its statement ends the transaction,
            // and only the server can tell: it parses the text under a name of pgrelay's, dropped at once.
            relay.write(Rewrites.parse(ctx.alloc(), CHECK_NAME, s.definition()));
            tracker.forwardedParse(null, undo);
            relay.write(Rewrites.statementMessage(ctx.alloc(), MessageType.CLOSE, CHECK_NAME));
            tracker.injected(MessageType.CLOSE, null);
        } else if (onServer.contains(s.serverName())) {
            tracker.synthetic(Rewrites.emptyReply(ctx.alloc(), MessageType.PARSE_COMPLETE), relay, undo);
        } else {
            closeEvicted(onServer.add(s.serverName()));
            relay.write(Rewrites.parse(ctx.alloc(), s.serverName(), s.definition()));
            tracker.forwardedParse(s.serverName(), undo);
        }
    }

    /**
     * A client's name as a Parse or Close on a server left it, and what it was before. Taken back when the server
     * skips the message after an earlier error in the batch, or the Parse fails: PostgreSQL would not have created
     * (or dropped) the name either, and the client's next Bind must get the same answer it would get there.
     */
    private final class Recorded implements ResponseTracker.Undo {
        private final String name;
        private final ClientStatement left;
        private final ClientStatement before;

        Recorded(String name, ClientStatement left, ClientStatement before) {
            this.name = name;
            this.left = left;
            this.before = before;
        }

        @Override
        public void undo() {
            if (statements.get(name) != left) {
                return; // changed again since
            }
            if (before == null) {
                statements.remove(name);
            } else {
                statements.put(name, before);
            }
        }
    }

    void sendBind(ByteBuf frame) {
        ClientStatement s = statementOf(boundName(frame));
        if (s == null) {
            relay.forward(frame);
        } else {
            ensurePrepared(s);
            relay.write(Rewrites.renameBind(ctx.alloc(), frame, s.serverName()));
            tracker.forwarded(MessageType.BIND);
        }
    }

    void sendDescribe(ByteBuf frame) {
        ClientStatement s = Rewrites.target(frame) == 'S' ? statementOf(Rewrites.targetName(frame)) : null;
        if (s == null) {
            relay.forward(frame);
        } else {
            frame.release();
            ensurePrepared(s);
            relay.write(Rewrites.statementMessage(ctx.alloc(), MessageType.DESCRIBE, s.serverName()));
            tracker.forwarded(MessageType.DESCRIBE);
        }
    }

    void sendClose(ByteBuf frame) {
        String name = Rewrites.targetName(frame);
        if (Rewrites.target(frame) == 'S' && !name.isEmpty()) {
            // Server statements are shared and stay prepared; only the client's name goes.
            frame.release();
            ClientStatement removed = statements.remove(name);
            tracker.synthetic(Rewrites.emptyReply(ctx.alloc(), MessageType.CLOSE_COMPLETE), relay,
                    removed == null ? null : new Recorded(name, null, removed));
        } else {
            relay.forward(frame);
        }
    }

    /** Before a Bind or Describe: a connection that never saw the statement gets its Parse first. */
    private void ensurePrepared(ClientStatement s) {
        ServerStatements onServer = relay.server().statements();
        relay.traffic.prepared(onServer.contains(s.serverName()));
        if (!onServer.contains(s.serverName())) {
            closeEvicted(onServer.add(s.serverName()));
            relay.write(Rewrites.parse(ctx.alloc(), s.serverName(), s.definition()));
            tracker.injected(MessageType.PARSE, s.serverName());
        }
    }

    private void closeEvicted(String evicted) {
        if (evicted != null) {
            relay.write(Rewrites.statementMessage(ctx.alloc(), MessageType.CLOSE, evicted));
            tracker.injected(MessageType.CLOSE, evicted);
        }
    }

    /** The client is gone: release the replies still owed. */
    void close() {
        while (!localReplies.isEmpty()) {
            localReplies.pollFirst().release();
        }
    }
}
