package io.pgrelay.proxy.pool;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Which loop a pool's new connection goes to: the asker's, unless another loop of the pool's clients has fewer. */
class LoopSharesTest {
    private final EventLoop a = new DefaultEventLoop();
    private final EventLoop b = new DefaultEventLoop();
    private final LoopShares shares = new LoopShares();

    @AfterEach
    void stop() {
        a.shutdownGracefully();
        b.shutdownGracefully();
    }

    @Test
    void connectionsAskedForFromOneLoopSpreadOverEveryLoopWithClients() {
        shares.know(a);
        shares.know(b);
        for (int i = 0; i < 20; i++) {
            shares.opened(shares.leastLoaded(a)); // every client that found no connection was on loop a
        }
        assertThat(shares.connections(a)).isEqualTo(10);
        assertThat(shares.connections(b)).isEqualTo(10);
    }

    @Test
    void theAskersLoopWhileItIsNotAhead() {
        shares.know(a);
        assertThat(shares.leastLoaded(a)).isSameAs(a);
        shares.opened(a);
        assertThat(shares.leastLoaded(a)).as("no other loop has asked yet").isSameAs(a);
        assertThat(shares.leastLoaded(b)).as("b has none").isSameAs(b);
        shares.opened(b);
        assertThat(shares.leastLoaded(b)).as("a tie keeps the asker's loop").isSameAs(b);
    }

    @Test
    void aClosedConnectionMakesRoomOnItsLoop() {
        shares.opened(a);
        shares.opened(a);
        shares.opened(b);
        shares.opened(b);
        shares.closed(a);
        assertThat(shares.leastLoaded(b)).isSameAs(a);
    }
}
