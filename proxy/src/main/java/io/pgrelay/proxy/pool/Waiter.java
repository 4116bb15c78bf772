package io.pgrelay.proxy.pool;

import io.netty.channel.EventLoop;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A claimant queued for a connection of a pool. A read that several pools could serve waits in each of their queues at
 * once, one Waiter per queue sharing one {@code taken} flag: the pool that sets it first serves the read, and the
 * others drop their copy when they meet it.
 */
final class Waiter {
    final Claimant claimant;
    /** The claimant's loop, read once: the affinity scan compares it for every waiter it passes. */
    final EventLoop loop;
    final long deadlineNanos; // 0 without query_wait_timeout
    /** Shared by the copies of a read queued in several pools; null when it waits in one pool only. */
    private final AtomicBoolean taken;
    int passedOver; // times a later waiter on the connection's loop went first (guarded by the pool)

    Waiter(Claimant claimant, EventLoop loop, long deadlineNanos, AtomicBoolean taken) {
        this.claimant = claimant;
        this.loop = loop;
        this.deadlineNanos = deadlineNanos;
        this.taken = taken;
    }

    /** Whether another pool (or a timeout there) has already answered this claimant. */
    boolean isTaken() {
        return taken != null && taken.get();
    }

    /** Makes this pool the one that answers; false when another pool got there first. */
    boolean claim() {
        return taken == null || taken.compareAndSet(false, true);
    }
}
