package io.pgrelay.proxy.pool;

import io.netty.channel.EventLoop;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The claimants queued for one pool's connections, first come first served, and which of them a released connection
 * goes to. Copies that another pool already answered ({@link Waiter#isTaken}) are dropped as the queue meets them.
 * Not thread-safe: the pool calls it under its lock.
 */
final class WaitQueue {
    /** How far down the queue a released connection looks for a waiter on its own loop. */
    static final int AFFINITY_SCAN = 16;
    /** How often the first waiter may be passed over for one on the connection's loop. */
    static final int MAX_PASSED_OVER = 4;

    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

    void add(Waiter w) {
        waiters.addLast(w);
    }

    /** True when no one waits; a queue holding only copies that other pools answered may still say false. */
    boolean isEmpty() {
        return waiters.isEmpty();
    }

    /**
     * The next waiter for a connection on {@code loop}, claimed for this pool: the first one on that loop among the
     * first few, so that client and server exchange frames without thread hops; the first in line once it has been
     * passed over often enough. Null when no one waits.
     */
    Waiter poll(EventLoop loop) {
        while (true) {
            Waiter w = pick(loop);
            if (w == null || w.claim()) {
                return w;
            }
        }
    }

    /** The first in line, claimed for this pool; null when no one waits. */
    Waiter pollFirst() {
        while (true) {
            Waiter w = waiters.pollFirst();
            if (w == null || w.claim()) {
                return w;
            }
        }
    }

    private Waiter pick(EventLoop loop) {
        Waiter head = waiters.peekFirst();
        while (head != null && head.isTaken()) {
            waiters.pollFirst();
            head = waiters.peekFirst();
        }
        if (head == null || head.loop == loop || head.passedOver >= MAX_PASSED_OVER) {
            return waiters.pollFirst();
        }
        int seen = 0;
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext() && seen < AFFINITY_SCAN; seen++) {
            Waiter w = it.next();
            if (w.loop == loop && !w.isTaken()) {
                it.remove();
                head.passedOver++;
                return w;
            }
        }
        return waiters.pollFirst();
    }

    /** Takes {@code claimant} out of the queue (it left). */
    void remove(Claimant claimant) {
        waiters.removeIf(w -> w.claimant == claimant);
    }

    /** Entries, copies that another pool answered included. */
    int size() {
        return waiters.size();
    }

    /** Waiters not yet answered by another pool. */
    int live() {
        int n = 0;
        for (Waiter w : waiters) {
            if (!w.isTaken()) {
                n++;
            }
        }
        return n;
    }

    /**
     * Moves the waiters past their deadline at {@code now} into {@code expired} (claimed for this pool; copies other
     * pools answered are dropped) and returns the live waiter with the nearest deadline after it, or null.
     */
    Waiter expire(long now, List<Waiter> expired) {
        Waiter next = null;
        for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            if (w.isTaken()) {
                it.remove();
            } else if (w.deadlineNanos == 0) {
                continue;
            } else if (w.deadlineNanos - now <= 0) {
                it.remove();
                if (w.claim()) {
                    expired.add(w);
                }
            } else if (next == null || w.deadlineNanos - next.deadlineNanos < 0) {
                next = w;
            }
        }
        return next;
    }

    /** Empties the queue; returns the waiters this pool must answer (those no other pool answered). */
    List<Waiter> drain() {
        List<Waiter> out = new ArrayList<>(waiters.size());
        for (Waiter w : waiters) {
            if (w.claim()) {
                out.add(w);
            }
        }
        waiters.clear();
        return out;
    }
}
