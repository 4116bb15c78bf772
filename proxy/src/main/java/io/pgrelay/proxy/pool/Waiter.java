package io.pgrelay.proxy.pool;

import io.netty.channel.EventLoop;

import java.util.ArrayDeque;
import java.util.Iterator;

/** A claimant queued for a connection of a pool, and the order in which a released connection picks one. */
final class Waiter {
    /** How far down the queue a released connection looks for a waiter on its own loop. */
    static final int AFFINITY_SCAN = 16;
    /** How often the first waiter may be passed over for one on the connection's loop. */
    static final int MAX_PASSED_OVER = 4;

    final Claimant claimant;
    /** The claimant's loop, read once: the affinity scan compares it for every waiter it passes. */
    final EventLoop loop;
    final long deadlineNanos; // 0 without query_wait_timeout
    int passedOver; // times a later waiter on the connection's loop went first (guarded by the pool)

    Waiter(Claimant claimant, EventLoop loop, long deadlineNanos) {
        this.claimant = claimant;
        this.loop = loop;
        this.deadlineNanos = deadlineNanos;
    }

    /**
     * The next waiter for a connection on {@code loop}: the first one on that loop among the first few, so that client
     * and server exchange frames without thread hops; the first in line once it has been passed over often enough.
     * The caller holds the pool's lock.
     */
    static Waiter poll(ArrayDeque<Waiter> waiters, EventLoop loop) {
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
}
