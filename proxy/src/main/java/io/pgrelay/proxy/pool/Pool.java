package io.pgrelay.proxy.pool;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.ReadyForQuery;
import io.pgrelay.proxy.PgRelayException;
import io.pgrelay.proxy.server.ServerConnection;
import io.pgrelay.proxy.server.ServerConnector;
import io.pgrelay.proxy.server.ServerTarget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Server connections for one (database, user) pair on one server, bounded by pool_size. Clients that find no idle
 * connection and no room for a new one wait in FIFO order up to query_wait_timeout. A connection comes back through
 * {@link #release}: reset with DISCARD ALL when the server owes nothing, otherwise cancelled and closed, so a client
 * that vanished mid-query never leaves a connection stuck.
 *
 * <p>Bookkeeping is guarded by this object's monitor; connection I/O always runs on the connection's own loop.
 */
public final class Pool {
    private static final Logger log = LoggerFactory.getLogger(Pool.class);
    private static final long WARM_UP_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final PoolKey key;
    private volatile ServerTarget target; // RELOAD may change target and settings (reconfigure)
    private final ServerConnector connector;
    private volatile PoolSettings settings;

    private final ArrayDeque<ServerConnection> idle = new ArrayDeque<>();
    private final Set<ServerConnection> open = Collections.newSetFromMap(new IdentityHashMap<>());
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    /** Fails the waiters past query_wait_timeout; null while none waits with a deadline. */
    private ScheduledFuture<?> expiry;
    /** How far down the queue a released connection looks for a waiter on its own loop. */
    static final int AFFINITY_SCAN = 16;
    /** How often the first waiter may be passed over for one on the connection's loop. */
    static final int MAX_PASSED_OVER = 4;
    private int opening;
    private final LoopShares shares = new LoopShares(); // under the lock
    private boolean closed;
    /** PAUSE: clients queue for a connection until RESUME. */
    private boolean paused;
    /** RECONNECT / a reload that moved the pool: connections created before this are closed, not reused. */
    private long reconnectBeforeNanos = Long.MIN_VALUE;
    /** After a failed warm-up connection, no new attempt before this time (a down server is not hammered). */
    private long nextWarmUpNanos;

    public Pool(PoolKey key, ServerTarget target, ServerConnector connector, PoolSettings settings) {
        this.key = key;
        this.target = target;
        this.connector = connector;
        this.settings = settings;
    }

    public PoolKey key() {
        return key;
    }

    public ServerTarget target() {
        return target;
    }

    public PoolSettings settings() {
        return settings;
    }

    /** Gets a logged-in idle connection; listeners run on {@code loop}. {@link #cancel} stops waiting. */
    public Future<ServerConnection> acquire(EventLoop loop) {
        Promise<ServerConnection> promise = loop.newPromise();
        ServerConnection conn;
        synchronized (this) {
            if (closed) {
                promise.setFailure(shuttingDown());
                return promise;
            }
            if (paused) {
                enqueue(promise, loop);
                return promise;
            }
            shares.know(loop);
            conn = pollIdle(loop);
            if (conn == null) {
                if (open.size() + opening < settings.poolSize()) {
                    opening++;
                } else {
                    enqueue(promise, loop);
                    return promise;
                }
            }
        }
        if (conn != null) {
            handTo(promise, conn);
        } else {
            openFor(promise, loop);
        }
        return promise;
    }

    /**
     * The most recently used live idle connection, preferring one on the caller's event loop: a client and its
     * server on one loop exchange frames without thread hops.
     */
    private ServerConnection pollIdle(EventLoop loop) {
        idle.removeIf(c -> !c.channel().isActive());
        for (Iterator<ServerConnection> it = idle.iterator(); it.hasNext(); ) {
            ServerConnection c = it.next();
            if (c.channel().eventLoop() == loop) {
                it.remove();
                return c;
            }
        }
        return idle.pollFirst();
    }

    private void enqueue(Promise<ServerConnection> promise, EventLoop loop) {
        long ms = settings.queryWaitTimeout().toMillis();
        Waiter w = new Waiter(promise, loop, ms > 0 ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms) : 0);
        waiters.addLast(w);
        if (ms > 0) { // 0: wait as long as it takes
            long delay = TimeUnit.MILLISECONDS.toNanos(ms);
            if (expiry != null && expiry.getDelay(TimeUnit.NANOSECONDS) > delay) {
                expiry.cancel(false); // RELOAD shortened query_wait_timeout
                expiry = null;
            }
            if (expiry == null) {
                expiry = loop.schedule(this::expireWaiters, delay, TimeUnit.NANOSECONDS);
            }
        }
    }

    /**
     * Stops waiting for a connection {@link #acquire} promised (the client left): the future is cancelled and leaves
     * the queue. A method rather than a listener on every queued promise: a busy pool queues a client per transaction.
     */
    public void cancel(Future<ServerConnection> acquired) {
        if (acquired.cancel(false)) {
            synchronized (this) {
                waiters.removeIf(w -> w.promise == acquired);
            }
        }
    }

    /**
     * One timer per pool rather than one per waiter (a busy pool queues a client per transaction): it fires at the
     * nearest deadline, fails every waiter past its own and sets itself for the next.
     */
    private void expireWaiters() {
        List<Waiter> expired = new ArrayList<>();
        long now = System.nanoTime();
        synchronized (this) {
            expiry = null;
            Waiter next = null;
            for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
                Waiter w = it.next();
                if (w.deadlineNanos == 0) {
                    continue;
                }
                if (w.deadlineNanos - now <= 0) {
                    it.remove();
                    expired.add(w);
                } else if (next == null || w.deadlineNanos - next.deadlineNanos < 0) {
                    next = w;
                }
            }
            if (next != null) {
                expiry = next.loop.schedule(this::expireWaiters, next.deadlineNanos - now, TimeUnit.NANOSECONDS);
            }
        }
        long ms = settings.queryWaitTimeout().toMillis();
        for (Waiter w : expired) {
            if (w.promise.tryFailure(new PgRelayException(ErrorResponse.fatal(SqlState.TOO_MANY_CONNECTIONS,
                    "no server connection available for database \"" + key.database() + "\" user \""
                            + key.user() + "\" within query_wait_timeout (" + ms + " ms); all "
                            + settings.poolSize() + " connections of the pool are in use")))) {
                log.warn("pool {}: a client waited {} ms for a server connection and gave up", key, ms);
            }
        }
    }

    /**
     * The next waiter for a connection on {@code loop}: the first one on that loop among the first few, so that client
     * and server exchange frames without thread hops; the first in line once it has been passed over often enough.
     */
    static Waiter pollWaiter(ArrayDeque<Waiter> waiters, EventLoop loop) {
        Waiter head = waiters.peekFirst();
        if (head == null || head.loop == loop || head.passedOver >= MAX_PASSED_OVER) {
            return waiters.pollFirst();
        }
        int seen = 0;
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext() && seen < AFFINITY_SCAN; seen++) {
            Waiter w = it.next();
            if (w.loop == loop) {
                it.remove();
                head.passedOver++;
                return w;
            }
        }
        return waiters.pollFirst();
    }

    /**
     * Opens a connection for {@code promise}, on the loop of the one who asked unless that loop already runs more of
     * this pool's connections than another: connections spread evenly over the loops, so the loop affinity of
     * {@link #pollIdle} and {@link #pollWaiter} finds a same-loop match (one loop with 13 of 20 connections while
     * the clients were split evenly sent about one transaction in six across threads).
     */
    private void openFor(Promise<ServerConnection> promise, EventLoop wanted) {
        EventLoop loop;
        synchronized (this) {
            loop = shares.leastLoaded(wanted);
            shares.opened(loop);
        }
        connector.connect(loop, target).addListener(f -> {
            if (f.isSuccess()) {
                ServerConnection conn = (ServerConnection) f.getNow();
                synchronized (this) {
                    opening--;
                    open.add(conn);
                }
                conn.channel().closeFuture().addListener(c -> onClosed(conn));
                handTo(promise, conn);
            } else {
                synchronized (this) {
                    opening--;
                    shares.closed(loop);
                }
                promise.tryFailure(f.cause());
                // Room was freed: a queued client may try a connection of its own (and fail fast if the server is down).
                serveWaiters();
            }
        });
    }

    /** Gives a connection to a waiting client, or takes it back if that client has gone meanwhile. */
    private void handTo(Promise<ServerConnection> promise, ServerConnection conn) {
        if (!promise.trySuccess(conn)) {
            returnIdle(conn);
        }
    }

    /**
     * The client is done with {@code conn}: reset it and make it idle, or close it when it cannot be reused.
     * Safe from any thread.
     */
    public void release(ServerConnection conn) {
        EventLoop loop = conn.channel().eventLoop();
        if (!loop.inEventLoop()) {
            loop.execute(() -> release(conn));
            return;
        }
        conn.unlink();
        if (conn.state() == ServerConnection.State.CLOSED) {
            return;
        }
        if (conn.isBusy()) {
            // The server is still working for a client that is gone: stop the query, drop the connection.
            log.info("pool {}: client left while server connection {} was busy; cancelling and closing it",
                    key, conn.id());
            if (conn.backendKey() != null) {
                connector.cancel(loop, target, conn.backendKey());
            }
            conn.close();
            return;
        }
        // Session mode always resets; transaction mode only ends an open transaction, and resets a connection whose
        // client left session state behind that pgrelay does not track (SET, LISTEN...).
        List<String> reset = new ArrayList<>(2);
        if (conn.transactionStatus() != ReadyForQuery.IDLE) {
            reset.add("ROLLBACK");
        }
        boolean discard = settings.resetQuery() != null || conn.isDirty();
        if (discard) {
            reset.add(settings.resetQuery() != null ? settings.resetQuery() : "DISCARD ALL");
        }
        if (reset.isEmpty()) {
            returnIdle(conn);
            return;
        }
        conn.runInternal(reset.toArray(new String[0])).addListener(f -> {
            if (f.isSuccess()) {
                if (discard) {
                    conn.discarded();
                }
                returnIdle(conn);
            } else {
                log.warn("pool {}: reset of server connection {} failed ({}); closing it", key, conn.id(),
                        f.cause().getMessage());
                conn.close();
            }
        });
    }

    private void returnIdle(ServerConnection conn) {
        long now = System.nanoTime();
        if (expired(settings.serverLifetime(), now - conn.createdNanos()) || isStale(conn)) {
            log.debug("pool {}: server connection {} reached server_lifetime", key, conn.id());
            conn.close();
            return;
        }
        while (true) {
            Waiter w;
            synchronized (this) {
                if (closed || !conn.channel().isActive()) {
                    break;
                }
                w = paused ? null : pollWaiter(waiters, conn.channel().eventLoop());
                if (w == null) {
                    conn.markIdle(now);
                    idle.addFirst(conn); // LIFO: the warmest connection goes out next
                    return;
                }
            }
            if (w.promise.trySuccess(conn)) {
                return;
            }
        }
        conn.close();
    }

    private void onClosed(ServerConnection conn) {
        synchronized (this) {
            if (open.remove(conn)) {
                shares.closed(conn.channel().eventLoop());
            }
            idle.remove(conn);
        }
        serveWaiters();
    }

    /** Opens connections for queued clients while the pool has room. */
    private void serveWaiters() {
        while (true) {
            Waiter w;
            synchronized (this) {
                if (closed || paused || waiters.isEmpty() || open.size() + opening >= settings.poolSize()) {
                    return;
                }
                w = waiters.pollFirst();
                opening++;
            }
            openFor(w.promise, w.loop);
        }
    }

    /**
     * Opens connections until min_pool_size are open or opening; they go straight to the idle list. Spread over the
     * event loops so clients on every loop find a warm connection of their own.
     */
    public void ensureMinimum(EventLoopGroup loops, long nowNanos) {
        int missing;
        synchronized (this) {
            missing = settings.minPoolSize() - open.size() - opening;
            if (closed || missing <= 0 || nowNanos < nextWarmUpNanos) {
                return;
            }
            opening += missing;
        }
        for (int i = 0; i < missing; i++) {
            EventLoop loop = loops.next();
            Promise<ServerConnection> warm = loop.newPromise();
            warm.addListener(f -> {
                if (f.isSuccess()) {
                    returnIdle((ServerConnection) f.getNow());
                } else {
                    synchronized (this) {
                        nextWarmUpNanos = System.nanoTime() + WARM_UP_BACKOFF_NANOS;
                    }
                }
            });
            openFor(warm, loop);
        }
    }

    /** Closes idle connections past idle_timeout (keeping min_pool_size open) or server_lifetime. */
    public void evict(long nowNanos) {
        synchronized (this) {
            int excess = open.size() - settings.poolSize(); // pool_size lowered by a reload
            for (Iterator<ServerConnection> it = idle.iterator(); it.hasNext(); ) {
                ServerConnection c = it.next();
                boolean aboveMinimum = open.size() > settings.minPoolSize();
                if ((aboveMinimum && expired(settings.idleTimeout(), nowNanos - c.idleSinceNanos()))
                        || expired(settings.serverLifetime(), nowNanos - c.createdNanos())
                        || excess-- > 0 || isStale(c)) {
                    it.remove();
                    c.channel().close();
                }
            }
        }
    }

    /** Stops handing out connections, fails the waiting clients and closes the idle connections. */
    public void close() {
        ArrayDeque<Waiter> failed;
        synchronized (this) {
            closed = true;
            for (ServerConnection c : idle) {
                c.channel().close();
            }
            idle.clear();
            failed = new ArrayDeque<>(waiters);
            waiters.clear();
            if (expiry != null) {
                expiry.cancel(false);
                expiry = null;
            }
        }
        for (Waiter w : failed) {
            w.promise.tryFailure(shuttingDown());
        }
    }

    // ---- admin console and reload (io.pgrelay.proxy.admin) ----------------------------------------------------

    /** PAUSE: connections are no longer handed out; clients asking for one wait until {@link #resume}. */
    public synchronized void pause() {
        paused = true;
    }

    public synchronized boolean isPaused() {
        return paused;
    }

    /** RESUME: waiting clients get idle connections, then new ones as pool_size allows. */
    public void resume() {
        synchronized (this) {
            paused = false;
        }
        while (true) {
            ServerConnection c;
            synchronized (this) {
                if (waiters.isEmpty()) {
                    break;
                }
                c = pollIdle(null);
            }
            if (c == null) {
                break;
            }
            returnIdle(c);
        }
        serveWaiters();
    }

    /** RECONNECT: idle connections close now, busy ones when their client gives them back. */
    public void reconnect() {
        synchronized (this) {
            reconnectBeforeNanos = System.nanoTime();
        }
        evict(System.nanoTime());
    }

    /**
     * The server is banned (dead or hung): every connection closes now, busy ones too, so that clients waiting on
     * a server that will not answer get an error instead of waiting for ever.
     */
    public void abortAll() {
        List<ServerConnection> all;
        synchronized (this) {
            reconnectBeforeNanos = System.nanoTime();
            all = new ArrayList<>(open);
        }
        for (ServerConnection c : all) {
            c.close();
        }
    }

    /** Connections that RECONNECT (or a reload that moved the pool) marked for closing and that are still open. */
    public synchronized int staleCount() {
        int n = 0;
        for (ServerConnection c : open) {
            if (isStale(c)) {
                n++;
            }
        }
        return n;
    }

    private boolean isStale(ServerConnection c) {
        return c.createdNanos() - reconnectBeforeNanos < 0 && reconnectBeforeNanos != Long.MIN_VALUE;
    }

    /**
     * RELOAD: new settings take effect at once (a larger pool serves waiting clients, a smaller one shrinks as
     * connections come back); a new target drains the connections to the old one.
     */
    public void reconfigure(ServerTarget newTarget, PoolSettings newSettings) {
        ServerTarget old = target;
        boolean moved = !(newTarget.host().equals(old.host()) && newTarget.port() == old.port()
                && newTarget.database().equals(old.database()) && newTarget.user().equals(old.user())
                && java.util.Objects.equals(newTarget.password(), old.password()));
        synchronized (this) {
            settings = newSettings;
            target = newTarget;
        }
        if (moved) {
            reconnect();
        }
        serveWaiters();
    }

    /** The open connections (idle, linked or being reset), for SHOW SERVERS. */
    public synchronized List<ServerConnection> connections() {
        return new ArrayList<>(open);
    }

    /** A limit of 0 means none. */
    private static boolean expired(Duration limit, long elapsedNanos) {
        return !limit.isZero() && elapsedNanos > limit.toNanos();
    }

    private static PgRelayException shuttingDown() {
        return new PgRelayException(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN, "pgrelay is shutting down"));
    }

    /** Counts for logs, tests and (later) the admin console. */
    public synchronized PoolStats stats() {
        return new PoolStats(open.size() - idle.size(), idle.size(), opening, waiters.size());
    }

    @Override
    public String toString() {
        return key.toString();
    }

    static final class Waiter {
        final Promise<ServerConnection> promise;
        final EventLoop loop;
        final long deadlineNanos; // 0 without query_wait_timeout
        int passedOver; // times a later waiter on the connection's loop went first (guarded by the pool)

        Waiter(Promise<ServerConnection> promise, EventLoop loop, long deadlineNanos) {
            this.promise = promise;
            this.loop = loop;
            this.deadlineNanos = deadlineNanos;
        }
    }

    /** Settings that apply to one pool; {@code resetQuery} null in transaction mode (no reset between clients). */
    public record PoolSettings(int poolSize, Duration queryWaitTimeout, Duration idleTimeout,
                               Duration serverLifetime, String resetQuery, boolean transactionMode,
                               int minPoolSize, Duration idleInTransactionTimeout) {
    }

    /** Active = handed to clients (or being reset); idle; opening = login under way; waiting = queued clients. */
    public record PoolStats(int active, int idle, int opening, int waiting) {
    }
}
