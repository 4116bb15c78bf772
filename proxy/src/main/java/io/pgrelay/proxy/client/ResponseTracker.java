package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.MessageType;

import java.util.ArrayDeque;

/**
 * What a server still owes for the messages sent to it, in order, so pgrelay can (a) drop the replies to messages it
 * injected itself (a Parse or Close the client never sent), (b) emit replies for client messages it answered itself
 * (a Parse of a statement the server already has, a Close of a client statement) at exactly the place the server's
 * reply would have had, and (c) know when the server owes nothing, which is when a transaction-mode connection
 * may go back to the pool.
 *
 * <p>Each entry is one message; it is completed by the reply that ends that message's answer (ParseComplete for
 * Parse, CommandComplete/EmptyQuery/PortalSuspended for Execute, ReadyForQuery for Sync and Query...). After an
 * ErrorResponse in the extended protocol the server skips everything up to Sync, so the entries up to the next Sync
 * are dropped unanswered, synthetic ones included (the client expects nothing either).
 */
final class ResponseTracker {
    /** How a reply to an entry is treated. */
    enum Kind {
        /** Forward the server's reply. */
        FORWARD,
        /** The server answers a message pgrelay injected: swallow the reply. */
        DROP,
        /** The server was sent nothing: emit {@link Entry#synthetic} when this entry reaches the head. */
        SYNTHETIC
    }

    /** Which reply ends a message's answer. */
    enum Ends { PARSE, BIND, CLOSE, DESCRIBE, EXECUTE, READY, NONE }

    /**
     * {@code statement}: the server statement a Parse or Close is about, for the bookkeeping on failure;
     * {@code undo}: what to take back if the server never answers the message (skipped after an error, or failed).
     */
    record Entry(Kind kind, Ends ends, ByteBuf synthetic, String statement, Undo undo) {
    }

    /** What pgrelay assumed when it sent or answered a client's message, taken back if that message did not happen. */
    interface Undo {
        void undo();
    }

    /** Where replies go, and what to learn when a Parse or Close did not happen. */
    interface Sink {
        void toClient(ByteBuf frame);

        /** A Parse of this server statement failed or was skipped: it is not prepared after all. */
        void notPrepared(String statement);

        /** An injected Close of this statement was skipped: it is still prepared. */
        void notClosed(String statement);
    }

    private final ArrayDeque<Entry> entries = new ArrayDeque<>(4);
    private boolean skippingToSync;
    /** The undos of the entries being dropped, run in reverse once all are (null until the first). */
    private java.util.List<Undo> skipped;

    private static final Entry FORWARD_PARSE = new Entry(Kind.FORWARD, Ends.PARSE, null, null, null);
    private static final Entry FORWARD_BIND = new Entry(Kind.FORWARD, Ends.BIND, null, null, null);
    private static final Entry FORWARD_CLOSE = new Entry(Kind.FORWARD, Ends.CLOSE, null, null, null);
    private static final Entry FORWARD_DESCRIBE = new Entry(Kind.FORWARD, Ends.DESCRIBE, null, null, null);
    private static final Entry FORWARD_EXECUTE = new Entry(Kind.FORWARD, Ends.EXECUTE, null, null, null);
    private static final Entry FORWARD_READY = new Entry(Kind.FORWARD, Ends.READY, null, null, null);

    boolean isEmpty() {
        return entries.isEmpty();
    }

    int size() {
        return entries.size();
    }

    /** ReadyForQuery messages still owed (one per Query, Sync or FunctionCall sent). */
    int pendingReady() {
        int n = 0;
        for (Entry e : entries) {
            if (e.ends() == Ends.READY) {
                n++;
            }
        }
        return n;
    }

    /** Records a client message forwarded as it is (or renamed). */
    void forwarded(byte type) {
        switch (type) {
            case MessageType.PARSE -> entries.add(FORWARD_PARSE);
            case MessageType.BIND -> entries.add(FORWARD_BIND);
            case MessageType.CLOSE -> entries.add(FORWARD_CLOSE);
            case MessageType.DESCRIBE -> entries.add(FORWARD_DESCRIBE);
            case MessageType.EXECUTE -> entries.add(FORWARD_EXECUTE);
            case MessageType.SYNC, MessageType.QUERY, MessageType.FUNCTION_CALL -> entries.add(FORWARD_READY);
            default -> {
                // Flush, CopyData, CopyDone, CopyFail: answered as part of another message, or not at all.
            }
        }
    }

    /** Records a client's Parse forwarded under the server statement name {@code statement}. */
    void forwardedParse(String statement, Undo undo) {
        entries.add(new Entry(Kind.FORWARD, Ends.PARSE, null, statement, undo));
    }

    /** Records a Parse or Close pgrelay injected for {@code statement}: its reply is swallowed. */
    void injected(byte type, String statement) {
        entries.add(new Entry(Kind.DROP, type == MessageType.PARSE ? Ends.PARSE : Ends.CLOSE, null, statement, null));
    }

    /** Records a simple Query pgrelay injected (a deferred BEGIN): everything it answers, up to ReadyForQuery, goes. */
    void injectedQuery() {
        entries.add(new Entry(Kind.DROP, Ends.READY, null, null, null));
    }

    /** Records a reply pgrelay gives itself; emitted now if nothing is owed before it. */
    void synthetic(ByteBuf reply, Sink sink) {
        synthetic(reply, sink, null);
    }

    /**
     * Records a reply pgrelay gives itself for a message it handled itself ({@code undo}: what that assumed, taken back
     * if an error before it makes the server skip to Sync, as PostgreSQL would have skipped the message).
     */
    void synthetic(ByteBuf reply, Sink sink, Undo undo) {
        if (entries.isEmpty() && !skippingToSync) {
            sink.toClient(reply);
        } else {
            entries.add(new Entry(Kind.SYNTHETIC, Ends.NONE, reply, null, undo));
        }
    }

    /** {@link #judge}: forward the reply; nothing else is due. */
    static final int PASS = 0;
    /** {@link #judge}: forward the reply, then {@link #emitSynthetics}. */
    static final int FORWARD_THEN_DUE = 1;
    /** {@link #judge}: swallow the reply. */
    static final int DROP = 2;
    /** {@link #judge}: swallow the reply, then {@link #emitSynthetics}. */
    static final int DROP_THEN_DUE = 3;

    /**
     * Takes one reply from the server; returns true when it is to be forwarded to the client (the caller then owns
     * forwarding it), false when it was forwarded or swallowed (and released) here.
     */
    boolean onServerFrame(ByteBuf frame, Sink sink) {
        switch (judge(frame.getByte(frame.readerIndex()), sink)) {
            case PASS:
                return true;
            case FORWARD_THEN_DUE:
                sink.toClient(frame);
                break;
            default:
                frame.release();
                break;
        }
        emitSynthetics(sink);
        return false;
    }

    /**
     * Takes one reply of type {@code type} from the server and says what becomes of it ({@link #PASS},
     * {@link #FORWARD_THEN_DUE}, {@link #DROP}, {@link #DROP_THEN_DUE}); the caller forwards or drops it, then emits
     * the synthetic replies when told. Writes nothing itself, so a caller may forward replies without a buffer each.
     */
    int judge(byte type, Sink sink) {
        Entry head = entries.peekFirst();
        if (head != null && head.kind() == Kind.DROP && head.ends() == Ends.READY) {
            // The answer to pgrelay's own Query: swallowed whole, its ReadyForQuery included.
            if (type == MessageType.READY_FOR_QUERY) {
                entries.pollFirst();
                return DROP_THEN_DUE;
            }
            return DROP;
        }
        switch (type) {
            case MessageType.READY_FOR_QUERY: {
                // Everything up to the Sync/Query this answers is settled now.
                skippingToSync = false;
                while (!entries.isEmpty()) {
                    Entry e = entries.pollFirst();
                    if (e.ends() == Ends.READY) {
                        break;
                    }
                    unanswered(e, sink);
                }
                undoSkipped();
                return FORWARD_THEN_DUE;
            }
            case MessageType.ERROR_RESPONSE: {
                if (head != null && head.ends() != Ends.READY) {
                    // Extended protocol: the failed message and everything up to Sync go unanswered. An injected
                    // Parse that failed is reported too: the client's own Bind or Describe fails with it.
                    dropUntilSync(sink);
                    skippingToSync = true;
                }
                return PASS;
            }
            case MessageType.PARSE_COMPLETE:
                return complete(Ends.PARSE);
            case MessageType.BIND_COMPLETE:
                return complete(Ends.BIND);
            case MessageType.CLOSE_COMPLETE:
                return complete(Ends.CLOSE);
            case MessageType.ROW_DESCRIPTION:
            case MessageType.NO_DATA:
                if (head != null && head.ends() == Ends.DESCRIBE) {
                    return complete(Ends.DESCRIBE);
                }
                return PASS; // part of an Execute or Query answer
            case MessageType.COMMAND_COMPLETE:
            case MessageType.EMPTY_QUERY_RESPONSE:
            case MessageType.PORTAL_SUSPENDED:
                if (head != null && head.ends() == Ends.EXECUTE) {
                    return complete(Ends.EXECUTE);
                }
                return PASS; // part of a simple Query's answer
            default:
                return PASS; // DataRow, notices, ParameterStatus, copy messages...
        }
    }

    private int complete(Ends ends) {
        Entry head = entries.peekFirst();
        if (head == null || head.ends() != ends) {
            return PASS; // not ours to judge (e.g. a reply inside a simple Query): pass it on
        }
        entries.pollFirst();
        return head.kind() == Kind.DROP ? DROP_THEN_DUE : FORWARD_THEN_DUE;
    }

    /** Synthetic replies at the head are due now: everything before them has been answered. */
    void emitSynthetics(Sink sink) {
        Entry e;
        while ((e = entries.peekFirst()) != null && e.kind() == Kind.SYNTHETIC) {
            entries.pollFirst();
            sink.toClient(e.synthetic());
        }
    }

    private void dropUntilSync(Sink sink) {
        while (!entries.isEmpty() && entries.peekFirst().ends() != Ends.READY) {
            unanswered(entries.pollFirst(), sink);
        }
        undoSkipped();
    }

    /**
     * Takes back what the skipped messages assumed, the last first: a Parse and then a Close of one name, both
     * skipped, must leave the name as it was before the Parse.
     */
    private void undoSkipped() {
        if (skipped != null) {
            for (int i = skipped.size() - 1; i >= 0; i--) {
                skipped.get(i).undo();
            }
            skipped.clear();
        }
    }

    /** An entry the server will never answer: undo what it assumed (its {@link Undo} at {@link #undoSkipped}). */
    private void unanswered(Entry e, Sink sink) {
        if (e.undo() != null) {
            if (skipped == null) {
                skipped = new java.util.ArrayList<>(2);
            }
            skipped.add(e.undo());
        }
        if (e.synthetic() != null) {
            e.synthetic().release();
        } else if (e.statement() != null) {
            if (e.ends() == Ends.PARSE) {
                sink.notPrepared(e.statement());
            } else {
                sink.notClosed(e.statement());
            }
        }
    }

    /** The connection is gone: release what was waiting. */
    void clear() {
        while (!entries.isEmpty()) {
            Entry e = entries.pollFirst();
            if (e.synthetic() != null) {
                e.synthetic().release();
            }
        }
        skippingToSync = false;
    }
}
