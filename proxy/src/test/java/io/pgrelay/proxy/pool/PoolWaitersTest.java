package io.pgrelay.proxy.pool;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/** Which waiting client a released connection goes to: its own loop's first, within bounds. */
class PoolWaitersTest {
    private final EventLoop a = new DefaultEventLoop();
    private final EventLoop b = new DefaultEventLoop();
    private final WaitQueue waiters = new WaitQueue();

    @AfterEach
    void stop() {
        a.shutdownGracefully();
        b.shutdownGracefully();
    }

    private Waiter waiter(EventLoop loop) {
        Waiter w = new Waiter(null, loop, 0, null); // poll looks at the loop only
        waiters.add(w);
        return w;
    }

    @Test
    void theFirstInLineWhenItIsOnTheConnectionsLoop() {
        Waiter first = waiter(a);
        waiter(a);
        assertThat(waiters.poll(a)).isSameAs(first);
        assertThat(new WaitQueue().poll(a)).isNull();
    }

    @Test
    void aLaterWaiterOnTheConnectionsLoopGoesFirst() {
        Waiter first = waiter(b);
        waiter(b);
        Waiter sameLoop = waiter(a);
        assertThat(waiters.poll(a)).isSameAs(sameLoop);
        assertThat(first.passedOver).isEqualTo(1);
        assertThat(waiters.live()).isEqualTo(2);
        assertThat(waiters.pollFirst()).isSameAs(first);
    }

    @Test
    void theFirstInLineIsPassedOverOnlySoOften() {
        // A connection on loop a, clients on loop a arriving all the time: the client on loop b still gets a turn.
        Waiter starved = waiter(b);
        List<Waiter> served = new ArrayList<>();
        for (int i = 0; i < 20 && !served.contains(starved); i++) {
            waiter(a);
            served.add(waiters.poll(a));
        }
        assertThat(served).hasSize(WaitQueue.MAX_PASSED_OVER + 1).last().isSameAs(starved);
    }

    @Test
    void onlyTheFirstFewAreLookedAt() {
        Waiter first = waiter(b);
        for (int i = 1; i < WaitQueue.AFFINITY_SCAN; i++) {
            waiter(b);
        }
        waiter(a); // beyond the scan: taking it would let late arrivals jump a long queue
        assertThat(waiters.poll(a)).isSameAs(first);
        assertThat(first.passedOver).isZero();
    }

    /** A read queued in two pools: whichever pool serves it first, the other skips its copy. */
    @Test
    void aReadQueuedInTwoPoolsIsServedOnce() {
        WaitQueue other = new WaitQueue();
        AtomicBoolean taken = new AtomicBoolean();
        Waiter read = new Waiter(null, a, 0, taken);
        Waiter readCopy = new Waiter(null, a, 0, taken);
        waiters.add(read);
        other.add(readCopy);
        Waiter onlyOther = new Waiter(null, a, 0, null);
        other.add(onlyOther);
        assertThat(waiters.poll(a)).isSameAs(read);
        assertThat(taken).isTrue();
        assertThat(other.live()).isEqualTo(1);
        assertThat(other.poll(a)).as("the copy is dropped, the next in line served").isSameAs(onlyOther);
        assertThat(other.isEmpty()).isTrue();
        assertThat(other.poll(a)).isNull();
    }

    @Test
    void copiesServedElsewhereAreSkippedByTheAffinityScanAndTheFirstInLine() {
        AtomicBoolean served = new AtomicBoolean(true);
        waiters.add(new Waiter(null, a, 0, served)); // head, already served by another pool
        Waiter first = waiter(b);
        waiters.add(new Waiter(null, a, 0, served)); // on the connection's loop, but served elsewhere
        Waiter sameLoop = waiter(a);
        assertThat(waiters.poll(a)).isSameAs(sameLoop);
        assertThat(waiters.pollFirst()).isSameAs(first);
        assertThat(waiters.pollFirst()).isNull();
    }

    @Test
    void expiryAndCloseAnswerOnlyWhatNoOtherPoolAnswered() {
        long now = System.nanoTime();
        AtomicBoolean servedElsewhere = new AtomicBoolean(true);
        AtomicBoolean stillWaiting = new AtomicBoolean();
        waiters.add(new Waiter(null, a, now - 1, servedElsewhere));
        Waiter due = new Waiter(null, a, now - 1, stillWaiting);
        waiters.add(due);
        Waiter later = new Waiter(null, b, now + 1_000_000_000L, null);
        waiters.add(later);
        List<Waiter> expired = new ArrayList<>();
        assertThat(waiters.expire(now, expired)).isSameAs(later);
        assertThat(expired).containsExactly(due);
        assertThat(stillWaiting).as("claimed, so the other pool does not answer it too").isTrue();
        AtomicBoolean lost = new AtomicBoolean();
        waiters.add(new Waiter(null, a, 0, lost));
        lost.set(true); // another pool served it meanwhile
        assertThat(waiters.drain()).containsExactly(later);
        assertThat(waiters.isEmpty()).isTrue();
    }
}
