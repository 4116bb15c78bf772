package io.pgrelay.proxy;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class TransportTest {

    @Test
    void epollOnLinuxWithLoopsThatNeverChangeThreads() throws Exception {
        Transport transport = Transport.detect();
        assertThat(Epoll.isAvailable()).as("native epoll loads here").isTrue();
        assertThat(transport.name()).isEqualTo("epoll");
        // A factory that may change threads makes Netty time every wakeup's I/O for loop suspension.
        assertThat(transport.ioHandlerFactory().isChangingThreadSupported()).isFalse();

        EventLoopGroup group = transport.newGroup(1, "transport-test");
        try {
            String thread = group.next().submit(() -> Thread.currentThread().getName()).get(10, TimeUnit.SECONDS);
            assertThat(thread).startsWith("transport-test");
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
