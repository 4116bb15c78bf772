package io.pgrelay.proxy;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandler;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ThreadAwareExecutor;

/** Native epoll where it loads (Linux x86_64), NIO elsewhere. */
public record Transport(String name, IoHandlerFactory ioHandlerFactory,
                        Class<? extends ServerChannel> serverChannelClass,
                        Class<? extends Channel> channelClass) {

    public static Transport detect() {
        if (Epoll.isAvailable() && !Boolean.getBoolean("pgrelay.nio")) {
            return new Transport("epoll", new FixedThread(EpollIoHandler.newFactory()),
                    EpollServerSocketChannel.class, EpollSocketChannel.class);
        }
        return new Transport("nio", new FixedThread(NioIoHandler.newFactory()),
                NioServerSocketChannel.class, NioSocketChannel.class);
    }

    public EventLoopGroup newGroup(int threads, String threadPrefix) {
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(threadPrefix, true), ioHandlerFactory);
    }

    /**
     * A handler factory that does not offer to move its loop to another thread. Epoll's and NIO's offer it, and then
     * Netty 4.2 lets the loop suspend and, for that, reads the clock three more times per wakeup to measure its active
     * I/O time: 1.6% of pgrelay's CPU at one client (async-profiler). pgrelay never suspends its loops.
     */
    record FixedThread(IoHandlerFactory factory) implements IoHandlerFactory {
        @Override
        public IoHandler newHandler(ThreadAwareExecutor executor) {
            return factory.newHandler(executor);
        }
    }
}
