package io.pgrelay.proxy.pool;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Which waiting client a released connection goes to: its own loop's first, within bounds. */
class PoolWaitersTest {
    private final EventLoop a = new DefaultEventLoop();
    private final EventLoop b = new DefaultEventLoop();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();

    @AfterEach
    void stop() {
        a.shutdownGracefully();
        b.shutdownGracefully();
    }

    private Waiter waiter(EventLoop loop) {
        Waiter w = new Waiter(null, loop, 0); // poll looks at the loop only
        waiters.addLast(w);
        return w;
    }

    @Test
    void theFirstInLineWhenItIsOnTheConnectionsLoop() {
        Waiter first = waiter(a);
        waiter(a);
        assertThat(Waiter.poll(waiters, a)).isSameAs(first);
        assertThat(Waiter.poll(new ArrayDeque<>(), a)).isNull();
    }

    @Test
    void aLaterWaiterOnTheConnectionsLoopGoesFirst() {
        Waiter first = waiter(b);
        waiter(b);
        Waiter sameLoop = waiter(a);
        assertThat(Waiter.poll(waiters, a)).isSameAs(sameLoop);
        assertThat(first.passedOver).isEqualTo(1);
        assertThat(waiters).hasSize(2).first().isSameAs(first);
    }

    @Test
    void theFirstInLineIsPassedOverOnlySoOften() {
        // A connection on loop a, clients on loop a arriving all the time: the client on loop b still gets a turn.
        Waiter starved = waiter(b);
        List<Waiter> served = new ArrayList<>();
        for (int i = 0; i < 20 && !served.contains(starved); i++) {
            waiter(a);
            served.add(Waiter.poll(waiters, a));
        }
        assertThat(served).hasSize(Waiter.MAX_PASSED_OVER + 1).last().isSameAs(starved);
    }

    @Test
    void onlyTheFirstFewAreLookedAt() {
        Waiter first = waiter(b);
        for (int i = 1; i < Waiter.AFFINITY_SCAN; i++) {
            waiter(b);
        }
        waiter(a); // beyond the scan: taking it would let late arrivals jump a long queue
        assertThat(Waiter.poll(waiters, a)).isSameAs(first);
        assertThat(first.passedOver).isZero();
    }
}
