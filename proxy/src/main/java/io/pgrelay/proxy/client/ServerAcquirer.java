package io.pgrelay.proxy.client;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.proxy.PgRelayException;
import io.pgrelay.proxy.pool.Claimant;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.route.PoolGroup;
import io.pgrelay.proxy.route.Router;
import io.pgrelay.proxy.server.ServerConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Takes a server connection for a {@link Relay}: asks the pool for the target (a read with no standby connection
 * falls back to the primary), waits out a failover, replaces a connection that died idle in the pool, applies the
 * client's settings on the connection's loop and links it there; then hands it to the relay on the client's loop
 * ({@link Relay#linked}). Kept apart from the relay because none of this runs per frame.
 */
final class ServerAcquirer implements Claimant {
    /** Logs under the relay's name, which operators and their log filters know. */
    private static final Logger log = LoggerFactory.getLogger(Relay.class);

    private final Relay relay;
    private final ChannelHandlerContext ctx;
    private final Relay.Owner owner;
    private final PoolGroup group;
    /** Transaction mode only: where each unit of work goes. */
    private final Router router;
    private final SettingsSync settings;
    /** See {@link #pool()}; set by each grant (a read may be granted by any standby it waited for). */
    private Pool current;
    private Router.Target currentTarget = Router.Target.PRIMARY;
    /** Between asking the pool and its answer (what {@link #cancel} takes back). */
    private boolean asking;
    /** From asking the pool until the connection is synced and linked (the pool may answer at once). */
    private boolean waitingForServer;
    /** Connections found dead while being set up for the current unit; bounded so a dying server fails fast. */
    private int deadOnArrival;
    private static final int DEAD_ON_ARRIVAL_RETRIES = 3;
    /** How often a client waiting out a failover asks for a server again. */
    private static final long FAILOVER_RETRY_MS = 50;
    /** When the current wait for a server gives up; 0 while not waiting. */
    private long failoverDeadlineNanos;
    private Throwable failoverCause;

    ServerAcquirer(Relay relay, ChannelHandlerContext ctx, Relay.Owner owner, PoolGroup group, Router router,
                   SettingsSync settings) {
        this.relay = relay;
        this.ctx = ctx;
        this.owner = owner;
        this.group = group;
        this.router = router;
        this.settings = settings;
    }

    /** Whether a server is being asked for, synced or linked (what the client sends meanwhile is held). */
    boolean waiting() {
        return waitingForServer;
    }

    /** The pool the linked (or granted, being set up) server connection belongs to: the one that answered last. */
    Pool pool() {
        return current;
    }

    /** Where the linked (or coming) server connection was asked for. */
    Router.Target target() {
        return currentTarget;
    }

    void acquire(Router.Target target) {
        deadOnArrival = 0;
        if (target == Router.Target.STANDBY) {
            List<Pool> readers = group.readers(relay.monitor, router == null ? 0 : router.minLsn());
            if (readers.isEmpty()) {
                awaitFailover(target, null);
                return;
            }
            asking(target);
            group.acquireRead(readers, this); // granted() says which pool answered
            return;
        }
        Pool pool = group.primary();
        if (pool == null) {
            awaitFailover(target, null);
            return;
        }
        acquireFrom(pool, target);
    }

    /**
     * No server for {@code target} now (no primary during a failover, or it refuses connections): the client waits,
     * unread, and asks again every {@link #FAILOVER_RETRY_MS} until failover_timeout has passed since it started
     * waiting, then gets a FATAL error naming the wait.
     */
    private void awaitFailover(Router.Target target, Throwable cause) {
        if (cause != null) {
            failoverCause = cause; // said in the final error even if later tries found no server to ask at all
        }
        waitingForServer = true;
        ctx.channel().config().setAutoRead(false);
        long now = System.nanoTime();
        if (failoverDeadlineNanos == 0) {
            failoverDeadlineNanos = now + relay.failoverTimeout.toNanos();
        } else if (now - failoverDeadlineNanos >= 0) {
            failoverDeadlineNanos = 0;
            waitingForServer = false;
            owner.fail(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, (target == Router.Target.PRIMARY
                    ? "no primary server" : "no server") + " available for database \"" + group.key().database()
                    + "\" within failover_timeout (" + relay.failoverTimeout.toMillis() + " ms)"
                    + (failoverCause != null ? ": " + failoverCause.getMessage() : healthSays())));
            failoverCause = null;
            return;
        }
        ctx.executor().schedule(() -> {
            if (!relay.closed()) {
                acquire(target);
            }
        }, FAILOVER_RETRY_MS, TimeUnit.MILLISECONDS);
    }

    /** What the health checks say of the configured primary, for an error when no server was even tried. */
    private String healthSays() {
        String address = group.configuredPrimary().target().address();
        String error = relay.monitor == null ? null : relay.monitor.lastError(address);
        return error == null ? "" : "; health checks of " + address + ": " + error;
    }

    private void acquireFrom(Pool pool, Router.Target target) {
        asking(target);
        pool.acquire(this);
    }

    private void asking(Router.Target target) {
        waitingForServer = true;
        relay.traffic.waiting();
        currentTarget = target;
        // The client stays readable meanwhile (no epoll change per transaction): what it sends is held, and reading
        // stops only if it sends much before a server is there (Relay.clientFrame).
        asking = true; // before asking: the pool may answer within the call
    }

    @Override
    public EventLoop loop() {
        return ctx.channel().eventLoop();
    }

    /** The pool's answer to {@link #acquire}: a connection (perhaps after the client left). */
    @Override
    public void granted(Pool pool, ServerConnection conn) {
        asking = false;
        current = pool;
        if (relay.closed()) {
            pool.release(conn);
            return;
        }
        sync(conn);
    }

    /** The pool's answer to {@link #acquire}: no connection. */
    @Override
    public void refused(Pool pool, Throwable cause) {
        Router.Target target = currentTarget;
        asking = false;
        waitingForServer = false;
        if (relay.closed()) {
            return;
        }
        if (target == Router.Target.STANDBY && pool != group.primary() && relay.loggedIn()) {
            // A read that found no standby connection runs on the primary rather than failing.
            log.warn("pool {}: no connection to standby {} ({}); reading from the primary",
                    pool.key(), pool.target().address(), cause.getMessage());
            acquire(Router.Target.PRIMARY);
            return;
        }
        if (cause instanceof PgRelayException p && p.isServerUnavailable()) {
            awaitFailover(target, cause); // the health checks will find another primary, or this one back
            return;
        }
        owner.fail(ClientSession.fatalFor(cause));
    }

    /** Applies the client's settings on the connection's loop, links it there, then continues on this loop. */
    private void sync(ServerConnection conn) {
        Object wanted = settings.snapshot();
        String sql = conn.settingsMatch(wanted) ? "" : settings.sql(conn.reportedLower(), conn.appliedSettings());
        EventLoop serverLoop = conn.channel().eventLoop();
        if (sql.isEmpty() && serverLoop.inEventLoop()) {
            // The common case, a connection on this client's own loop that already matches: no task hops.
            synced(conn, false, link(conn));
            return;
        }
        if (sql.isEmpty()) {
            serverLoop.execute(() -> { // link there, continue here: two hops, no future
                Throwable failure = link(conn);
                ctx.executor().execute(() -> synced(conn, false, failure));
            });
            return;
        }
        serverLoop.execute(() -> {
            Future<?> setup = conn.runInternal(sql);
            setup.addListener(s -> {
                Throwable failure = s.isSuccess() ? link(conn) : s.cause();
                if (ctx.executor().inEventLoop()) {
                    synced(conn, true, failure);
                } else {
                    ctx.executor().execute(() -> synced(conn, true, failure));
                }
            });
        });
    }

    /**
     * Links the connection to the relay, on its loop; the failure instead when it closed after the pool handed it
     * out (the server died meanwhile), which {@link #synced} answers with another connection.
     */
    private Throwable link(ServerConnection conn) {
        if (conn.state() != ServerConnection.State.IDLE) {
            return new PgRelayException(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE,
                    "server " + conn.target().address() + " closed the connection"));
        }
        conn.link(relay);
        return null;
    }

    /** The connection is linked ({@code failure} null) with {@code ran} telling whether settings were applied. */
    private void synced(ServerConnection conn, boolean ran, Throwable failure) {
        waitingForServer = false;
        Pool pool = current;
        if (relay.closed()) {
            pool.release(conn);
            return;
        }
        if (failure != null) {
            pool.release(conn);
            if (!conn.channel().isActive() && deadOnArrival++ < DEAD_ON_ARRIVAL_RETRIES) {
                // It died idle in the pool (a terminated backend, a restart) before any of the client's work was
                // written to it: nothing ran, so another connection can serve the client as if nothing happened.
                log.info("pool {}: server connection {} closed before use; taking another", pool.key(), conn.id());
                acquireFrom(pool, currentTarget);
                return;
            }
            owner.fail(ClientSession.fatalFor(failure));
            return;
        }
        if (ran) {
            settings.recordApplied(conn.reportedLower(), conn.appliedSettings());
        }
        conn.settingsMatched(settings.snapshot());
        failoverDeadlineNanos = 0;
        failoverCause = null;
        relay.linked(conn);
    }

    /** The client is gone: stop asking the pools (a read may wait in several). */
    void cancel() {
        if (asking) {
            for (Pool p : group.all()) {
                p.cancel(this);
            }
        }
    }
}
