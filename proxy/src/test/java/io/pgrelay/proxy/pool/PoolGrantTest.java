package io.pgrelay.proxy.pool;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.pgrelay.proxy.server.ServerConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** How a pool's answer reaches a claimant: on the claimant's loop, directly when it can, never as a deep stack. */
class PoolGrantTest {
    private final EventLoop loop = new DefaultEventLoop();
    private final EventLoop other = new DefaultEventLoop();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        other.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    /**
     * A login hands its connection straight back, which grants it to the next waiting login within the same call: a
     * hundred thousand such grants in a row run without a stack overflow, at most 9 deep.
     */
    @Test
    void grantsThatNestPastEightBecomeTasks() throws Exception {
        int total = 100_000;
        AtomicInteger granted = new AtomicInteger();
        AtomicInteger depth = new AtomicInteger();
        AtomicInteger deepest = new AtomicInteger();
        CompletableFuture<Void> done = new CompletableFuture<>();
        Claimant chain = new Claimant() {
            @Override
            public EventLoop loop() {
                return loop;
            }

            @Override
            public void granted(Pool pool, ServerConnection conn) {
                deepest.accumulateAndGet(depth.incrementAndGet(), Math::max);
                try {
                    if (granted.incrementAndGet() < total) {
                        Answers.grant(pool, this, conn); // the next login, while this one is still on the stack
                    } else {
                        done.complete(null);
                    }
                } finally {
                    depth.decrementAndGet();
                }
            }

            @Override
            public void refused(Pool pool, Throwable cause) {
                done.completeExceptionally(cause);
            }
        };
        loop.execute(() -> Answers.grant(null, chain, null));
        done.get(30, TimeUnit.SECONDS);
        assertThat(granted).hasValue(total);
        assertThat(deepest.get()).isEqualTo(9); // the task's own call plus eight nested ones
    }

    @Test
    void aGrantFromAnotherLoopRunsOnTheClaimantsLoop() throws Exception {
        CompletableFuture<Boolean> onItsLoop = new CompletableFuture<>();
        Claimant claimant = Claimant.of(loop, conn -> onItsLoop.complete(loop.inEventLoop()),
                onItsLoop::completeExceptionally);
        other.execute(() -> Answers.grant(null, claimant, null));
        assertThat(onItsLoop.get(5, TimeUnit.SECONDS)).isTrue();
    }
}
