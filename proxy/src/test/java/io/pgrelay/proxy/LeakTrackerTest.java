package io.pgrelay.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The leak check every integration test relies on must be able to fail. */
class LeakTrackerTest {
    @Test
    void aBufferThatIsNeverReleasedFailsTheCheck() {
        LeakTracker.assertNoLeaks(); // start clean
        leakOne();
        assertThatThrownBy(LeakTracker::assertNoLeaks)
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("LEAK")
                .hasMessageContaining("leakOne");
    }

    private static void leakOne() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(64);
        b.writeLong(42); // touched, never released
    }
}
