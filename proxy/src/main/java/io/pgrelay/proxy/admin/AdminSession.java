package io.pgrelay.proxy.admin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.message.BackendKeyData;
import io.pgrelay.protocol.message.CommandComplete;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.ParameterStatus;
import io.pgrelay.protocol.message.Query;
import io.pgrelay.protocol.message.ReadyForQuery;
import io.pgrelay.proxy.client.ClientSession;
import io.pgrelay.proxy.client.ProxyServices;
import io.pgrelay.proxy.pool.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.SocketAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One logged-in admin console client: simple Query messages with PgBouncer's commands, answered as result sets or
 * command tags. Commands that wait (PAUSE, WAIT_CLOSE, RELOAD) finish asynchronously while the client's reads are
 * held. Stats users may only SHOW.
 */
final class AdminSession extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(AdminSession.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long POLL_MILLIS = 20;

    static final List<String> SHOW_COMMANDS = List.of("POOLS", "STATS", "STATS_TOTALS", "STATS_AVERAGES", "CLIENTS",
            "SERVERS", "DATABASES", "USERS", "CONFIG", "LISTS", "VERSION", "STATE", "TOTALS", "HELP", "HOSTS",
            "ROUTES", "PREPARED");
    static final List<String> COMMANDS = List.of("PAUSE [db]", "RESUME [db]", "RECONNECT [db]", "RELOAD",
            "SHUTDOWN [WAIT_FOR_CLIENTS]", "KILL [db]", "KILL_CLIENT id", "DISABLE db", "ENABLE db",
            "WAIT_CLOSE [db]", "BAN host:port", "UNBAN host:port", "SET key = value");
    private static final Pattern SET = Pattern.compile("(?is)SET\\s+([a-z_][a-z0-9_]*)\\s*(?:=|\\s+TO\\s+)\\s*(.*)");

    private final AdminConsole console;
    private final ProxyServices services;
    private final String user;
    private final boolean admin;
    private final Map<String, String> startup;
    private ChannelHandlerContext ctx;
    /** Extended protocol is not supported: after its first message, everything up to Sync is skipped. */
    private boolean skippingToSync;

    AdminSession(AdminConsole console, ProxyServices services, String user, boolean admin,
                 Map<String, String> startup) {
        this.console = console;
        this.services = services;
        this.user = user;
        this.admin = admin;
        this.startup = startup;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        console.opened(this);
        log.info("admin console: {} user \"{}\" logged in from {}", admin ? "admin" : "stats", user, remote());
        String encoding = startup.getOrDefault("client_encoding", "UTF8");
        params("server_version", "17.0");
        params("server_encoding", "UTF8");
        params("client_encoding", encoding.equalsIgnoreCase("utf8") || encoding.equalsIgnoreCase("utf-8")
                ? "UTF8" : encoding);
        params("DateStyle", "ISO, MDY");
        params("TimeZone", "UTC");
        params("integer_datetimes", "on");
        params("standard_conforming_strings", "on");
        params("application_name", startup.getOrDefault("application_name", ""));
        ctx.write(new BackendKeyData(RANDOM.nextInt(Integer.MAX_VALUE - 1) + 1, RANDOM.nextInt()).encode(ctx.alloc()));
        ctx.writeAndFlush(ReadyForQuery.READY_IDLE.encode(ctx.alloc()));
    }

    private void params(String name, String value) {
        ctx.write(new ParameterStatus(name, value).encode(ctx.alloc()));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf frame)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            byte type = Frames.type(frame);
            if (skippingToSync) {
                if (type == MessageType.SYNC) {
                    skippingToSync = false;
                    ctx.writeAndFlush(ReadyForQuery.READY_IDLE.encode(ctx.alloc()));
                }
                return;
            }
            switch (type) {
                case MessageType.QUERY -> onQuery(Query.decode(frame).sql());
                case MessageType.TERMINATE -> ctx.close();
                case MessageType.PARSE, MessageType.BIND, MessageType.DESCRIBE, MessageType.EXECUTE,
                        MessageType.CLOSE, MessageType.FLUSH, MessageType.SYNC -> {
                    ctx.write(ErrorResponse.error(SqlState.FEATURE_NOT_SUPPORTED,
                                    "the admin console supports the simple query protocol only")
                            .withHint("with JDBC use preferQueryMode=simple").encode(ctx.alloc()));
                    if (type == MessageType.SYNC) {
                        ctx.write(ReadyForQuery.READY_IDLE.encode(ctx.alloc()));
                    } else {
                        skippingToSync = true;
                    }
                    ctx.flush();
                }
                default -> {
                    log.info("admin console: unexpected message {} from {}; closing", MessageType.describe(type),
                            remote());
                    ctx.writeAndFlush(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "unexpected message "
                            + MessageType.describe(type)).encode(ctx.alloc())).addListener(ChannelFutureListener.CLOSE);
                }
            }
        } finally {
            frame.release();
        }
    }

    // ---- commands -------------------------------------------------------------------------------------------

    private void onQuery(String sql) {
        List<String> statements = split(sql);
        if (statements.isEmpty()) {
            ctx.write(emptyQuery());
            ctx.writeAndFlush(ReadyForQuery.READY_IDLE.encode(ctx.alloc()));
            return;
        }
        ctx.channel().config().setAutoRead(false);
        runAll(statements, 0);
    }

    private io.netty.buffer.ByteBuf emptyQuery() {
        ByteBuf b = ctx.alloc().buffer(5);
        int len = Frames.begin(b, MessageType.EMPTY_QUERY_RESPONSE);
        Frames.finish(b, len);
        return b;
    }

    /** Runs the statements in order; the first error ends the query, as PostgreSQL does. */
    private void runAll(List<String> statements, int i) {
        if (i == statements.size()) {
            finish();
            return;
        }
        CompletableFuture<List<ByteBuf>> reply;
        try {
            reply = run(statements.get(i));
        } catch (AdminError e) {
            reply = CompletableFuture.completedFuture(List.of(e.response.encode(ctx.alloc())));
        } catch (RuntimeException e) {
            log.warn("admin console: \"{}\" failed", statements.get(i), e);
            reply = CompletableFuture.completedFuture(List.of(ErrorResponse.error(SqlState.INTERNAL_ERROR,
                    "internal error in pgrelay: " + e).encode(ctx.alloc())));
        }
        reply.whenComplete((frames, failure) -> ctx.executor().execute(() -> {
            List<ByteBuf> out = frames;
            if (failure != null) {
                Throwable cause = failure instanceof java.util.concurrent.CompletionException ? failure.getCause()
                        : failure;
                ErrorResponse e = cause instanceof AdminError a ? a.response
                        : ErrorResponse.error(SqlState.INTERNAL_ERROR, "internal error in pgrelay: " + cause);
                out = List.of(e.encode(ctx.alloc()));
            }
            boolean error = false;
            for (ByteBuf b : out) {
                error |= Frames.type(b) == MessageType.ERROR_RESPONSE;
                if (ctx.channel().isActive()) {
                    ctx.write(b);
                } else {
                    b.release();
                }
            }
            if (error) {
                finish();
            } else {
                runAll(statements, i + 1);
            }
        }));
    }

    private void finish() {
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(ReadyForQuery.READY_IDLE.encode(ctx.alloc()));
            ctx.channel().config().setAutoRead(true);
        }
    }

    /** One statement: the messages to send for it (a result set, a tag, or an ErrorResponse). */
    private CompletableFuture<List<ByteBuf>> run(String statement) {
        String[] words = statement.trim().split("\\s+");
        String verb = words[0].toUpperCase(Locale.ROOT);
        String arg = words.length > 1 ? words[1] : null;
        if (verb.equals("SHOW")) {
            if (words.length != 2) {
                throw unknown(statement);
            }
            return done(show(arg.toUpperCase(Locale.ROOT), statement));
        }
        if (verb.equals("SET") && isClientParameter(statement)) {
            return done(tag("SET")); // drivers set these after login (JDBC: application_name...); nothing to do
        }
        if (!admin) {
            throw new AdminError(ErrorResponse.error("42501", "admin console command not allowed: stats users ("
                    + user + ") may only run SHOW commands"));
        }
        if (verb.equals("SET")) {
            return done(set(statement));
        }
        switch (verb) {
            case "PAUSE" -> {
                String db = optionalDatabase(words);
                console.pause(db);
                log.info("admin console: {} paused {}", user, db == null ? "all databases" : "database " + db);
                return waitUntil(() -> busy(db) == 0, "PAUSE");
            }
            case "RESUME" -> {
                String db = optionalDatabase(words);
                console.resume(db);
                log.info("admin console: {} resumed {}", user, db == null ? "all databases" : "database " + db);
                return done(tag("RESUME"));
            }
            case "RECONNECT" -> {
                String db = optionalDatabase(words);
                console.pools(db).forEach(Pool::reconnect);
                log.info("admin console: {} asked to reconnect {}", user, db == null ? "all pools" : db);
                return done(tag("RECONNECT"));
            }
            case "WAIT_CLOSE" -> {
                String db = optionalDatabase(words);
                return waitUntil(() -> console.pools(db).stream().mapToInt(Pool::staleCount).sum() == 0,
                        "WAIT_CLOSE");
            }
            case "RELOAD" -> {
                expectWords(words, 1, statement);
                log.info("admin console: {} asked to reload the config", user);
                return CompletableFuture.supplyAsync(console::reload).thenApply(this::reloaded);
            }
            case "SHUTDOWN" -> {
                boolean waitForClients = words.length == 2 && words[1].equalsIgnoreCase("WAIT_FOR_CLIENTS");
                if (words.length > 2 || words.length == 2 && !waitForClients) {
                    throw unknown(statement);
                }
                log.info("admin console: {} asked to shut down{}", user, waitForClients ? " (WAIT_FOR_CLIENTS)" : "");
                console.shutdown(waitForClients);
                return done(tag("SHUTDOWN"));
            }
            case "KILL" -> {
                String db = optionalDatabase(words);
                int n = 0;
                for (ClientSession c : services.cancelKeys().sessions()) {
                    if (db == null || db.equals(c.database())) {
                        c.terminate(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN,
                                "terminating connection due to administrator command (KILL)"));
                        n++;
                    }
                }
                console.pools(db).forEach(Pool::reconnect);
                log.info("admin console: {} killed {} clients of {}", user, n, db == null ? "all databases" : db);
                return done(tag("KILL"));
            }
            case "KILL_CLIENT" -> {
                expectWords(words, 2, statement);
                long id;
                try {
                    id = Long.parseLong(words[1]);
                } catch (NumberFormatException e) {
                    throw new AdminError(ErrorResponse.error("22023", "KILL_CLIENT takes a client id (SHOW CLIENTS),"
                            + " got \"" + words[1] + "\""));
                }
                for (ClientSession c : services.cancelKeys().sessions()) {
                    if (Integer.toUnsignedLong(c.id()) == id) {
                        c.terminate(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN,
                                "terminating connection due to administrator command (KILL_CLIENT)"));
                        log.info("admin console: {} killed client {} ({}@{})", user, id, c.userName(), c.database());
                        return done(tag("KILL_CLIENT"));
                    }
                }
                throw new AdminError(ErrorResponse.error("42704", "no client with id " + id));
            }
            case "DISABLE", "ENABLE" -> {
                expectWords(words, 2, statement);
                String db = database(words[1]);
                console.disable(db, verb.equals("DISABLE"));
                log.info("admin console: {} {}d database {}", user, verb.toLowerCase(Locale.ROOT), db);
                return done(tag(verb));
            }
            case "BAN", "UNBAN" -> {
                expectWords(words, 2, statement);
                String target = words[1];
                int colon = target.lastIndexOf(':');
                int port;
                try {
                    port = Integer.parseInt(target.substring(colon + 1));
                } catch (RuntimeException e) {
                    throw new AdminError(ErrorResponse.error("22023", verb + " takes host:port, got \"" + target
                            + "\""));
                }
                String host = target.substring(0, Math.max(colon, 0)).replace("[", "").replace("]", "");
                boolean found = verb.equals("BAN") ? console.metrics().hosts().ban(host, port)
                        : console.metrics().hosts().unban(host, port);
                if (!found) {
                    throw new AdminError(ErrorResponse.error("42704", "no configured server " + target));
                }
                if (console.server().monitor() != null) {
                    console.server().monitor().recheck(); // routing follows the ban now, not at the next probe
                }
                log.info("admin console: {} {}ned server {}", user, verb.toLowerCase(Locale.ROOT), target);
                return done(tag(verb));
            }
            default -> throw unknown(statement);
        }
    }

    private List<ByteBuf> show(String what, String statement) {
        Show show = new Show(console);
        Result r = switch (what) {
            case "POOLS" -> show.pools();
            case "STATS" -> show.stats();
            case "STATS_TOTALS" -> show.statsTotals();
            case "STATS_AVERAGES" -> show.statsAverages();
            case "CLIENTS" -> show.clients();
            case "SERVERS" -> show.servers();
            case "DATABASES" -> show.databases();
            case "USERS" -> show.users();
            case "CONFIG" -> show.config();
            case "LISTS" -> show.lists();
            case "VERSION" -> show.version();
            case "STATE" -> show.state();
            case "TOTALS" -> show.totalsView();
            case "HOSTS" -> show.hosts();
            case "ROUTES" -> show.routes();
            case "PREPARED" -> show.prepared();
            case "HELP" -> null;
            default -> throw unknown(statement);
        };
        if (r == null) {
            String help = "Console usage\n\tSHOW " + String.join("|", SHOW_COMMANDS) + "\n\t"
                    + String.join("\n\t", COMMANDS);
            return List.of(ErrorResponse.notice("NOTICE", "00000", help).encode(ctx.alloc()),
                    new CommandComplete("SHOW").encode(ctx.alloc()));
        }
        return r.encode(ctx.alloc(), "SHOW");
    }

    private List<ByteBuf> set(String statement) {
        Matcher m = SET.matcher(statement.trim());
        if (!m.matches()) {
            throw new AdminError(ErrorResponse.error("42601", "syntax: SET key = value"));
        }
        String value = m.group(2).trim();
        if (value.length() >= 2 && value.startsWith("'") && value.endsWith("'")) {
            value = value.substring(1, value.length() - 1).replace("''", "'");
        }
        io.pgrelay.config.PgRelayConfig next;
        try {
            next = AdminSettings.set(console.server().config(), m.group(1), value);
        } catch (IllegalArgumentException e) {
            throw new AdminError(ErrorResponse.error("22023", e.getMessage()));
        }
        Reloader.Outcome outcome = console.reloader().apply(next);
        if (!outcome.ok()) {
            throw new AdminError(ErrorResponse.error("22023", outcome.error()));
        }
        log.info("admin console: {} set {} = {}", user, m.group(1).toLowerCase(Locale.ROOT), value);
        return tag("SET");
    }

    /** Session parameters drivers send; the console accepts and ignores them, as PgBouncer does at login. */
    private static final java.util.Set<String> CLIENT_PARAMETERS = java.util.Set.of("application_name",
            "extra_float_digits", "client_encoding", "datestyle", "timezone", "intervalstyle", "search_path",
            "standard_conforming_strings", "client_min_messages", "bytea_output", "statement_timeout");

    private static boolean isClientParameter(String statement) {
        Matcher m = SET.matcher(statement.trim());
        return m.matches() && CLIENT_PARAMETERS.contains(m.group(1).toLowerCase(Locale.ROOT));
    }

    private List<ByteBuf> reloaded(Reloader.Outcome outcome) {
        if (!outcome.ok()) {
            throw new AdminError(ErrorResponse.error("F0000", outcome.error()));
        }
        List<ByteBuf> out = new ArrayList<>();
        for (String note : outcome.notes()) {
            out.add(ErrorResponse.notice(note.startsWith("needs a restart") ? "WARNING" : "NOTICE", "00000", note)
                    .encode(ctx.alloc()));
        }
        out.add(new CommandComplete("RELOAD").encode(ctx.alloc()));
        return out;
    }

    private CompletableFuture<List<ByteBuf>> waitUntil(BooleanSupplier condition, String tag) {
        CompletableFuture<List<ByteBuf>> f = new CompletableFuture<>();
        poll(condition, tag, f);
        return f;
    }

    private void poll(BooleanSupplier condition, String tag, CompletableFuture<List<ByteBuf>> f) {
        if (!ctx.channel().isActive()) {
            f.complete(List.of());
        } else if (condition.getAsBoolean()) {
            f.complete(tag(tag));
        } else {
            ctx.executor().schedule(() -> poll(condition, tag, f), POLL_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private int busy(String database) {
        int n = 0;
        for (Pool p : console.pools(database)) {
            n += p.stats().active();
        }
        return n;
    }

    private String optionalDatabase(String[] words) {
        if (words.length > 2) {
            throw unknown(String.join(" ", words));
        }
        return words.length == 2 ? database(words[1]) : null;
    }

    private String database(String name) {
        String db = name.startsWith("\"") && name.endsWith("\"") && name.length() > 1
                ? name.substring(1, name.length() - 1) : name;
        if (!console.server().config().pools().containsKey(db)) {
            throw new AdminError(ErrorResponse.error(SqlState.INVALID_CATALOG_NAME, "no such database: " + db));
        }
        return db;
    }

    private static void expectWords(String[] words, int n, String statement) {
        if (words.length != n) {
            throw unknown(statement);
        }
    }

    private List<ByteBuf> tag(String tag) {
        return List.of(new CommandComplete(tag).encode(ctx.alloc()));
    }

    private static CompletableFuture<List<ByteBuf>> done(List<ByteBuf> frames) {
        return CompletableFuture.completedFuture(frames);
    }

    static AdminError unknown(String statement) {
        return new AdminError(ErrorResponse.error("42601", "invalid admin console command: " + statement.trim())
                .withHint("commands: SHOW " + String.join("|", SHOW_COMMANDS) + "; " + String.join("; ", COMMANDS)));
    }

    /** Statements of a query string, split at semicolons outside quotes; empty ones dropped. */
    static List<String> split(String sql) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        char quote = 0;
        for (int i = 0; i < sql.length(); i++) {
            char c = sql.charAt(i);
            if (quote != 0) {
                if (c == quote) {
                    quote = 0;
                }
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == ';') {
                add(out, cur);
                continue;
            }
            cur.append(c);
        }
        add(out, cur);
        return out;
    }

    private static void add(List<String> out, StringBuilder cur) {
        String s = cur.toString().trim();
        if (!s.isEmpty()) {
            out.add(s);
        }
        cur.setLength(0);
    }

    // ---- the end --------------------------------------------------------------------------------------------

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            log.debug("admin console {}: {}", remote(), cause.toString());
        } else {
            log.warn("admin console {}: {}; closing", remote(), cause.toString());
        }
        ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        console.closed(this);
        services.clientClosed();
        ctx.fireChannelInactive();
    }

    private String remote() {
        SocketAddress a = ctx == null ? null : ctx.channel().remoteAddress();
        return a == null ? "?" : a.toString();
    }

    /** An ErrorResponse for the admin client. */
    static final class AdminError extends RuntimeException {
        final transient ErrorResponse response;

        AdminError(ErrorResponse response) {
            super(response.message(), null, false, false);
            this.response = response;
        }
    }
}
