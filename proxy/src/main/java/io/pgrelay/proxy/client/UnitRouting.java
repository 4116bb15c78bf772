package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.message.CommandComplete;
import io.pgrelay.protocol.message.ReadyForQuery;
import io.pgrelay.protocol.sql.Classification;
import io.pgrelay.protocol.sql.Command;
import io.pgrelay.protocol.sql.RoleHint;
import io.pgrelay.protocol.sql.StatementClassifier;
import io.pgrelay.proxy.metrics.RouteStats;
import io.pgrelay.proxy.prepared.Rewrites;
import io.pgrelay.proxy.route.PoolGroup;
import io.pgrelay.proxy.route.Router;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;

/**
 * Transaction mode: where a client's unit of work goes. A unit held while the client has no server is classified
 * once and either answered here (SET/SHOW pgrelay.role, a plain BEGIN, a bare Sync) or routed to the primary or a
 * standby, where the relay takes a connection; between answers, the statements pgrelay owns (role hints,
 * DEALLOCATE of a client's statement) are answered here too, so the server never sees them.
 *
 * <p>Part of one {@link Relay}, on the client's event loop; the held frames are the relay's.
 */
final class UnitRouting {
    private final Relay relay;
    private final ChannelHandlerContext ctx;
    private final PoolGroup group;
    private final Router router;
    private final StatementClassifier classifier;
    private final ServerAcquirer acquirer;
    private final PreparedStatements prepared;
    private final ArrayDeque<ByteBuf> held;
    /** While a held unit is routed: its last classification, by frame (the frames stay held meanwhile). */
    private boolean routing;
    private ByteBuf memoFrame;
    private Classification memoClassification;
    /**
     * A plain BEGIN answered by pgrelay and not yet sent: the transaction's server is chosen by what follows
     * (SET TRANSACTION READ ONLY may take it to a standby); the text is sent ahead of the next unit.
     */
    private String deferredBegin;

    UnitRouting(Relay relay, ChannelHandlerContext ctx, PoolGroup group, Router router, ServerAcquirer acquirer,
                PreparedStatements prepared, ArrayDeque<ByteBuf> held) {
        this.relay = relay;
        this.ctx = ctx;
        this.group = group;
        this.router = router;
        this.classifier = group.classifier(); // the group's own lists and catalog
        this.acquirer = acquirer;
        this.prepared = prepared;
        this.held = held;
    }

    /** The BEGIN answered here and not yet sent (see {@link #deferredBegin}); null if none. */
    String deferredBegin() {
        return deferredBegin;
    }

    /** The deferred BEGIN went to the server, or the client is gone. */
    void forgetDeferredBegin() {
        deferredBegin = null;
    }

    /**
     * Once the held frames make a unit (a Query, or an extended batch ending in Sync or Flush), decide where it runs
     * and take a connection there.
     */
    void routeHeld() {
        routing = true;
        try {
            routeHeldUnit();
        } finally {
            routing = false;
            memoFrame = null;
            memoClassification = null;
        }
    }

    private void routeHeldUnit() {
        ByteBuf last = held.peekLast();
        byte type = Frames.type(last);
        switch (type) {
            case MessageType.QUERY:
                if (held.size() == 1 && answeredByRouter(last)) {
                    held.pollLast();
                    return;
                }
                break;
            case MessageType.SYNC:
            case MessageType.FLUSH:
                if (answeredHintBatch()) {
                    return;
                }
                break;
            case MessageType.PARSE:
            case MessageType.BIND:
            case MessageType.DESCRIBE:
            case MessageType.EXECUTE:
            case MessageType.CLOSE:
                return; // wait for the rest of the batch
            default:
                acquirer.acquire(Router.Target.PRIMARY); // function calls, copy data: nothing to judge
                return;
        }
        if (deferredBegin == null && beginDeferred()) {
            return;
        }
        Router.Target target = null;
        RouteStats.Reason reason = RouteStats.Reason.DEFAULT;
        boolean writes = false;
        if (deferredBegin != null) {
            // The transaction is read-only if the session says so (default_transaction_read_only) or its first
            // statement does (SET TRANSACTION READ ONLY); any other goes to the primary, unclassified.
            ByteBuf head = held.peekFirst();
            Classification first = router.defaultReadOnly() || mayBeSetOrShow(head) ? classify(head) : null;
            boolean readOnly = router.defaultReadOnly() || first != null
                    && first.command() == Command.SET_TRANSACTION_READ_ONLY;
            target = readOnly && first != null && router.decide(first) != Router.Target.PRIMARY
                    || readOnly && first == null ? Router.Target.STANDBY : Router.Target.PRIMARY;
            relay.routedToPrimary(target == Router.Target.PRIMARY);
            relay.routes.routed(group.key().database(), target == Router.Target.PRIMARY ? RouteStats.Role.PRIMARY
                    : RouteStats.Role.REPLICA, RouteStats.Reason.STATEMENT);
            acquirer.acquire(target);
            return;
        }
        for (ByteBuf frame : held) {
            Classification c = classify(frame);
            if (c != null) {
                Router.Target t = router.decide(c);
                if (target != Router.Target.PRIMARY) {
                    reason = router.lastReason(); // the reason of the statement that decided the unit
                }
                target = target == null ? t : Router.combine(target, t);
                writes |= t == Router.Target.PRIMARY && !isSessionCommand(frame);
            }
        }
        if (target == null && onlySyncsHeld()) {
            // A bare Sync (drivers send them) needs no server: the client is idle, so is its answer.
            while (!held.isEmpty()) {
                if (Frames.type(held.peekFirst()) == MessageType.SYNC) {
                    relay.toClient(ReadyForQuery.READY_IDLE.encode(ctx.alloc()));
                }
                held.pollFirst().release();
            }
            ctx.flush();
            return;
        }
        Router.Target where = target == null ? Router.Target.PRIMARY : target;
        relay.routes.routed(group.key().database(),
                where == Router.Target.PRIMARY ? RouteStats.Role.PRIMARY : RouteStats.Role.REPLICA, reason);
        // Only a unit with a statement that may write counts for read-your-writes (a SET alone does not).
        relay.routedToPrimary(writes);
        acquirer.acquire(where);
    }

    /** The statement text of a Query or Parse frame as a String ("" for other frames): for the rare paths only. */
    static String statementText(ByteBuf frame) {
        long text = textSpan(frame);
        return text < 0 ? "" : frame.toString(start(text), length(text), StandardCharsets.UTF_8);
    }

    /**
     * A unit that is only a plain BEGIN (a Query, or Parse/Bind/Describe/Execute/Sync of it) is answered here, as
     * the server would, and remembered: see {@link #deferredBegin}.
     */
    private boolean beginDeferred() {
        String text = null;
        for (ByteBuf frame : held) {
            byte type = Frames.type(frame);
            if (type == MessageType.QUERY || type == MessageType.PARSE) {
                Classification c = classify(frame);
                if (text != null || c == null || c.command() != Command.BEGIN || c.hint() != RoleHint.NONE) {
                    return false;
                }
                text = statementText(frame);
            } else if (type != MessageType.BIND && type != MessageType.DESCRIBE && type != MessageType.EXECUTE
                    && type != MessageType.SYNC) {
                return false;
            }
        }
        if (text == null || router.sessionRole() != RoleHint.AUTO) {
            return false;
        }
        deferredBegin = text;
        relay.status(ReadyForQuery.IN_TRANSACTION); // what the server would say after BEGIN
        answerHeld(() -> Rewrites.emptyReply(ctx.alloc(), MessageType.NO_DATA),
                () -> relay.toClient(new CommandComplete("BEGIN").encode(ctx.alloc())));
        return true;
    }

    private boolean onlySyncsHeld() {
        for (ByteBuf frame : held) {
            byte type = Frames.type(frame);
            if (type != MessageType.SYNC && type != MessageType.FLUSH) {
                return false;
            }
        }
        return true;
    }

    /**
     * SET/SHOW pgrelay.role sent with the extended protocol (JDBC does so for every Statement.execute): a held batch
     * of one Parse/Bind/Describe/Execute/Sync for it is answered here, message by message.
     */
    private boolean answeredHintBatch() {
        Classification hint = null;
        String tag = null;
        for (ByteBuf frame : held) {
            byte type = Frames.type(frame);
            if (type == MessageType.PARSE) {
                Classification c = classify(frame);
                if (hint != null || (c.command() != Command.SET_ROLE_HINT && c.command() != Command.SHOW_ROLE_HINT)) {
                    return false;
                }
                hint = c;
                tag = c.command() == Command.SHOW_ROLE_HINT ? "SHOW" : setTag(frame);
            } else if (type != MessageType.BIND && type != MessageType.DESCRIBE && type != MessageType.EXECUTE
                    && type != MessageType.SYNC && type != MessageType.FLUSH) {
                return false;
            }
        }
        if (hint == null) {
            return false;
        }
        boolean show = hint.command() == Command.SHOW_ROLE_HINT;
        if (!show) {
            router.setSessionRole(hint.hint());
        }
        String complete = tag;
        answerHeld(() -> show ? roleRowDescription() : Rewrites.emptyReply(ctx.alloc(), MessageType.NO_DATA), () -> {
            if (show) {
                relay.toClient(roleDataRow());
            }
            relay.toClient(new CommandComplete(complete).encode(ctx.alloc()));
        });
        return true;
    }

    /**
     * Answers every held frame of a one-statement unit as the server would, the frames consumed: Parse and Bind
     * complete, Describe and Execute as given, ReadyForQuery with the client's status for a Sync or Query.
     */
    private void answerHeld(java.util.function.Supplier<ByteBuf> describe, Runnable execute) {
        while (!held.isEmpty()) {
            ByteBuf frame = held.pollFirst();
            byte type = Frames.type(frame);
            frame.release();
            switch (type) {
                case MessageType.PARSE -> relay.toClient(Rewrites.emptyReply(ctx.alloc(), MessageType.PARSE_COMPLETE));
                case MessageType.BIND -> relay.toClient(Rewrites.emptyReply(ctx.alloc(), MessageType.BIND_COMPLETE));
                case MessageType.DESCRIBE -> relay.toClient(describe.get());
                case MessageType.EXECUTE -> execute.run();
                case MessageType.QUERY -> {
                    execute.run();
                    relay.toClient(new ReadyForQuery(relay.status()).encode(ctx.alloc()));
                }
                case MessageType.SYNC -> relay.toClient(new ReadyForQuery(relay.status()).encode(ctx.alloc()));
                default -> {
                    // Flush: nothing to answer
                }
            }
        }
        ctx.flush();
    }

    private ByteBuf roleRowDescription() {
        ByteBuf row = ctx.alloc().buffer();
        int len = Frames.begin(row, MessageType.ROW_DESCRIPTION);
        row.writeShort(1);
        Frames.writeCString(row, "pgrelay.role");
        row.writeInt(0).writeShort(0).writeInt(25).writeShort(-1).writeInt(-1).writeShort(0); // one text column
        Frames.finish(row, len);
        return row;
    }

    private ByteBuf roleDataRow() {
        ByteBuf data = ctx.alloc().buffer();
        int len = Frames.begin(data, MessageType.DATA_ROW);
        byte[] value = router.sessionRole().name().toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.UTF_8);
        data.writeShort(1).writeInt(value.length).writeBytes(value);
        Frames.finish(data, len);
        return data;
    }

    /** The classification of the statement a frame carries or names; null for frames without one. */
    private Classification classify(ByteBuf frame) {
        if (routing && frame == memoFrame) {
            return memoClassification; // a unit's checks (router's own SETs, deferred BEGIN, the route) ask in turn
        }
        Classification c = classifyFrame(frame);
        if (routing) {
            memoFrame = frame;
            memoClassification = c;
        }
        if (c != null && !c.unknownFunctions().isEmpty()) {
            group.catalog().learn(c.unknownFunctions(), ctx.channel().eventLoop()); // later statements benefit
        }
        return c;
    }

    private Classification classifyFrame(ByteBuf frame) {
        switch (Frames.type(frame)) {
            case MessageType.QUERY:
            case MessageType.PARSE: {
                long text = textSpan(frame); // classified in place: no String
                return classifier.classify(frame, start(text), length(text));
            }
            case MessageType.BIND:
                return prepared.bindClassification(frame, classifier);
            case MessageType.DESCRIBE:
                return Rewrites.target(frame) == 'S'
                        ? prepared.classification(Rewrites.targetName(frame), classifier) : null;
            default:
                return null;
        }
    }

    /** See {@link StatementClassifier#mayBeSetOrShow}; true for frames without a statement text. */
    private static boolean mayBeSetOrShow(ByteBuf frame) {
        long text = textSpan(frame);
        return text < 0 || StatementClassifier.mayBeSetOrShow(frame, start(text), length(text));
    }

    /** See {@link StatementClassifier#isSessionCommand}; false for frames without a statement text. */
    private static boolean isSessionCommand(ByteBuf frame) {
        long text = textSpan(frame);
        return text >= 0 && StatementClassifier.isSessionCommand(frame, start(text), length(text));
    }

    /** PostgreSQL's tag for a SET or RESET of pgrelay.role, by its first word. */
    private static String setTag(ByteBuf frame) {
        long text = textSpan(frame);
        boolean reset = text >= 0 && StatementClassifier.firstWordIs(frame, start(text), length(text), "reset");
        return reset ? "RESET" : "SET";
    }

    /**
     * Where the statement text of a Query or Parse frame is, read in place: its index in the high half, its length in
     * bytes (without the NUL) in the low half; -1 for other frames. The one place that knows where those texts are.
     * A packed long, not an object: this is asked of every statement.
     */
    static long textSpan(ByteBuf frame) {
        switch (Frames.type(frame)) {
            case MessageType.QUERY:
                return (long) (frame.readerIndex() + Frames.HEADER_LENGTH) << 32
                        | Math.max(0, Frames.bodyLength(frame) - 1); // a Query without even its NUL: empty
            case MessageType.PARSE: {
                int q = Rewrites.parseQueryStart(frame);
                return (long) q << 32 | Rewrites.cStringLength(frame, q);
            }
            default:
                return -1;
        }
    }

    static int start(long textSpan) {
        return (int) (textSpan >>> 32);
    }

    static int length(long textSpan) {
        return (int) textSpan;
    }

    /**
     * SET pgrelay.role, pgcat's SET SERVER ROLE and SHOW pgrelay.role are pgrelay's own: answered here, the
     * server never sees them. Only between answers (nothing owed), so the reply lands in order.
     */
    boolean answeredByRouter(ByteBuf frame) {
        if (Frames.type(frame) != MessageType.QUERY) {
            return false;
        }
        // In a transaction this is the only question asked of a statement: most need no classification to answer it.
        Classification c = mayBeSetOrShow(frame) ? classify(frame) : null;
        Command command = c == null ? Command.QUERY : c.command();
        if (command == Command.QUERY && prepared.deallocated(frame)) {
            relay.toClient(new CommandComplete("DEALLOCATE").encode(ctx.alloc()));
        } else if (command == Command.SET_ROLE_HINT) {
            router.setSessionRole(c.hint());
            String tag = setTag(frame);
            frame.release();
            relay.toClient(new CommandComplete(tag).encode(ctx.alloc()));
        } else if (command == Command.SHOW_ROLE_HINT) {
            frame.release();
            relay.toClient(roleRowDescription());
            relay.toClient(roleDataRow());
            relay.toClient(new CommandComplete("SHOW").encode(ctx.alloc()));
        } else {
            return false;
        }
        relay.toClient(new ReadyForQuery(relay.status()).encode(ctx.alloc()));
        ctx.flush();
        return true;
    }
}
