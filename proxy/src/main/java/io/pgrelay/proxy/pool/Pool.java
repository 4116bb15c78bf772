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
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Server connections for one (database, user) pair on one server, bounded by pool_size. Clients that find no idle
 * connection and no room for a new one wait in FIFO order up to query_wait_timeout; a read that several servers could
 * serve waits in each of their pools at once ({@link #offer}). A connection comes back through
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
    private final WaitQueue waiters = new WaitQueue();
    /** Fails the waiters past query_wait_timeout; null while none waits with a deadline. */
    private ScheduledFuture<?> expiry;
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

    /** Gets a logged-in idle connection for {@code claimant}, at once when one is idle on its loop. */
    public void acquire(Claimant claimant) {
        if (take(claimant, null, true) == Offer.PASSED) { // closed
            Answers.refuse(this, claimant, shuttingDown());
        }
    }

    /**
     * For a read that other pools could serve as well: a connection now when one is idle or there is room to open
     * one, as {@link #acquire} would give; false, with nothing queued, when the pool is full, paused or closed.
     */
    public boolean tryAcquire(Claimant claimant) {
        return take(claimant, null, false) == Offer.SERVED;
    }

    /** What {@link #offer} did with a read. */
    public enum Offer {
        /** This pool serves it: a connection is on its way (or refused by this pool alone). */
        SERVED,
        /** It waits in this pool's queue too. */
        QUEUED,
        /** Nothing: the pool is closed, or another pool already serves it. */
        PASSED
    }

    /**
     * For a read whose picked pool was full ({@link #tryAcquire}), offered to every standby pool it may use: served
     * at once when this pool has a connection idle or room for one, else it joins this pool's queue as well as the
     * others', all sharing {@code taken}, and the first of them to free a connection serves it.
     */
    public Offer offer(Claimant claimant, AtomicBoolean taken) {
        return take(claimant, taken, true);
    }

    /**
     * An idle connection for {@code claimant} (one on its loop first), or room to open one; else, with {@code queue},
     * a place in the queue. {@code taken}, when not null, is shared with the other pools the claimant was offered
     * to: this pool serves it only if it sets it first. PASSED when closed, already served elsewhere, or full
     * without {@code queue}.
     */
    private Offer take(Claimant claimant, AtomicBoolean taken, boolean queue) {
        EventLoop loop = claimant.loop();
        ServerConnection conn = null;
        synchronized (this) {
            if (closed || (taken != null && taken.get())) {
                return Offer.PASSED;
            }
            if (!paused) {
                shares.know(loop);
                conn = pollIdle(loop);
            }
            if (conn == null && (paused || !hasRoom())) {
                if (!queue) {
                    return Offer.PASSED;
                }
                enqueue(claimant, loop, taken);
                return Offer.QUEUED;
            }
            if (taken != null && !taken.compareAndSet(false, true)) {
                if (conn != null) {
                    idle.addFirst(conn);
                }
                return Offer.PASSED;
            }
            if (conn == null) {
                opening++;
            }
        }
        if (conn != null) {
            Answers.grant(this, claimant, conn);
        } else {
            openFor(claimant, loop);
        }
        return Offer.SERVED;
    }

    /** Whether pool_size leaves room for one more connection; under the lock. */
    private boolean hasRoom() {
        return open.size() + opening < settings.poolSize();
    }

    /** The same as a future that completes on {@code loop}, for the occasional internal user (catalog lookups). */
    public Future<ServerConnection> acquire(EventLoop loop) {
        Promise<ServerConnection> promise = loop.newPromise();
        acquire(Claimant.of(loop, conn -> {
            if (!promise.trySuccess(conn)) {
                release(conn);
            }
        }, promise::tryFailure));
        return promise;
    }

    /**
     * The most recently used live idle connection, preferring one on the caller's event loop: a client and its
     * server on one loop exchange frames without thread hops.
     */
    private ServerConnection pollIdle(EventLoop loop) {
        // Dead ones are dropped as the scan meets them (a closed connection also leaves through its close
        // listener): one live connection on the loop, the usual case, ends the scan at the first step.
        for (Iterator<ServerConnection> it = idle.iterator(); it.hasNext(); ) {
            ServerConnection c = it.next();
            if (!c.channel().isActive()) {
                it.remove();
            } else if (c.channel().eventLoop() == loop) {
                it.remove();
                return c;
            }
        }
        return idle.pollFirst(); // all live: the scan above met every one
    }

    private void enqueue(Claimant claimant, EventLoop loop, AtomicBoolean taken) {
        long ms = settings.queryWaitTimeout().toMillis();
        Waiter w = new Waiter(claimant, loop, ms > 0 ? System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms) : 0,
                taken);
        waiters.add(w);
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
     * {@code claimant} no longer wants a connection (the client left): it leaves the queue. A grant already on its way
     * still arrives, and the claimant gives that connection back.
     */
    public void cancel(Claimant claimant) {
        synchronized (this) {
            waiters.remove(claimant);
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
            Waiter next = waiters.expire(now, expired);
            if (next != null) {
                expiry = next.loop.schedule(this::expireWaiters, next.deadlineNanos - now, TimeUnit.NANOSECONDS);
            }
        }
        long ms = settings.queryWaitTimeout().toMillis();
        for (Waiter w : expired) {
            Answers.refuse(this, w.claimant, new PgRelayException(ErrorResponse.fatal(
                    SqlState.TOO_MANY_CONNECTIONS,
                    "no server connection available for database \"" + key.database() + "\" user \""
                            + key.user() + "\" within query_wait_timeout (" + ms + " ms); all "
                            + settings.poolSize() + " connections of the pool are in use")));
            log.warn("pool {}: a client waited {} ms for a server connection and gave up", key, ms);
        }
    }

    /**
     * Opens a connection for {@code claimant}, on the loop of the one who asked unless that loop already runs more of
     * this pool's connections than another: connections spread evenly over the loops, so the loop affinity of
     * {@link #pollIdle} and {@link Waiter#poll} finds a same-loop match (one loop with 13 of 20 connections while
     * the clients were split evenly sent about one transaction in six across threads).
     */
    private void openFor(Claimant claimant, EventLoop wanted) {
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
                Answers.grant(this, claimant, conn);
            } else {
                synchronized (this) {
                    opening--;
                    shares.closed(loop);
                }
                Answers.refuse(this, claimant, f.cause());
                // Room was freed: a queued client may try a connection of its own (and fail fast if the server is down).
                serveWaiters();
            }
        });
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
        boolean rollback = conn.transactionStatus() != ReadyForQuery.IDLE;
        boolean discard = settings.resetQuery() != null || conn.isDirty();
        if (!rollback && !discard) {
            returnIdle(conn); // the common case in transaction mode: nothing to reset, nothing allocated
            return;
        }
        List<String> reset = new ArrayList<>(2);
        if (rollback) {
            reset.add("ROLLBACK");
        }
        if (discard) {
            reset.add(settings.resetQuery() != null ? settings.resetQuery() : "DISCARD ALL");
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
        Waiter w;
        synchronized (this) {
            if (closed || !conn.channel().isActive()) {
                w = null;
            } else {
                w = paused ? null : waiters.poll(conn.channel().eventLoop());
                if (w == null) {
                    conn.markIdle(now);
                    idle.addFirst(conn); // LIFO: the warmest connection goes out next
                    return;
                }
            }
        }
        if (w == null) {
            conn.close();
            return;
        }
        Answers.grant(this, w.claimant, conn);
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
                if (closed || paused || waiters.isEmpty() || !hasRoom()) {
                    return;
                }
                w = waiters.pollFirst();
                if (w == null) {
                    return; // only reads that another pool served were left
                }
                opening++;
            }
            openFor(w.claimant, w.loop);
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
            openFor(Claimant.of(loop, this::returnIdle, cause -> {
                synchronized (this) {
                    nextWarmUpNanos = System.nanoTime() + WARM_UP_BACKOFF_NANOS;
                }
            }), loop);
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
        List<Waiter> failed;
        synchronized (this) {
            closed = true;
            for (ServerConnection c : idle) {
                c.channel().close();
            }
            idle.clear();
            failed = waiters.drain();
            if (expiry != null) {
                expiry.cancel(false);
                expiry = null;
            }
        }
        for (Waiter w : failed) {
            Answers.refuse(this, w.claimant, shuttingDown());
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

    /** In use, opening and queued, for `loc` balancing on every read: O(1), counting copies served elsewhere. */
    public synchronized int outstanding() {
        return open.size() - idle.size() + opening + waiters.size();
    }

    /** Counts for logs, tests and (later) the admin console. */
    public synchronized PoolStats stats() {
        return new PoolStats(open.size() - idle.size(), idle.size(), opening, waiters.live());
    }

    @Override
    public String toString() {
        return key.toString();
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
