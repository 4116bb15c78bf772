package io.pgrelay.proxy;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** DirectSend on real epoll sockets over loopback: what it sends, and every case where it leaves bytes to Netty. */
class DirectSendTest {
    private static EventLoopGroup group;
    private Channel listener;
    private Channel client;
    private volatile Channel peer;
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private final ChannelHandler writer = new ChannelInboundHandlerAdapter();

    @BeforeAll
    static void loops() {
        assumeTrue(Epoll.isAvailable(), "native epoll");
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    }

    @AfterAll
    static void stopLoops() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @AfterEach
    void close() {
        for (Channel c : new Channel[] {client, peer, listener}) {
            if (c != null) {
                c.close().syncUninterruptibly();
            }
        }
    }

    /** A connected pair: the client's pipeline is {@code before} (if any) then the writer; the peer records bytes. */
    private void connect(ChannelHandler before, boolean peerReads) throws Exception {
        listener = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, peerReads)
                .childOption(ChannelOption.SO_RCVBUF, 16 * 1024)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        peer = ch;
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                ByteBuf b = (ByteBuf) msg;
                                synchronized (received) {
                                    received.writeBytes(ByteBufUtil.getBytes(b));
                                }
                                b.release();
                            }
                        });
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        client = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                .option(ChannelOption.SO_SNDBUF, 16 * 1024)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (before != null) {
                            ch.pipeline().addLast(before);
                        }
                        ch.pipeline().addLast("writer", writer);
                    }
                }).connect(listener.localAddress()).sync().channel();
        await().atMost(5, TimeUnit.SECONDS).until(() -> peer != null);
    }

    private ChannelHandlerContext writerCtx() {
        return client.pipeline().context(writer);
    }

    private <T> T onLoop(Callable<T> task) throws Exception {
        Future<T> f = client.eventLoop().submit(task);
        return f.get(5, TimeUnit.SECONDS);
    }

    private String receivedText() {
        synchronized (received) {
            return received.toString(StandardCharsets.US_ASCII);
        }
    }

    private static ByteBuf direct(String text) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer();
        b.writeCharSequence(text, StandardCharsets.US_ASCII);
        return b;
    }

    @Test
    void sendsTheBytesAskedForStraightToThePlainSocket() throws Exception {
        connect(null, true);
        ByteBuf buf = direct("xQuery;y");
        try {
            int sent = onLoop(() -> DirectSend.of(writerCtx()).send(buf, 1, 6));
            assertThat(sent).isEqualTo(6);
            assertThat(buf.refCnt()).as("neither retained nor released").isEqualTo(1);
            assertThat(buf.readerIndex()).isZero();
            await().atMost(5, TimeUnit.SECONDS).until(() -> receivedText().equals("Query;"));
        } finally {
            buf.release();
        }
    }

    @Test
    void leavesBytesToNettyWhileOthersAreQueuedBeforeThem() throws Exception {
        connect(null, true);
        ByteBuf buf = direct("second");
        try {
            int sent = onLoop(() -> {
                writerCtx().write(direct("first;")); // not flushed: still queued
                return DirectSend.of(writerCtx()).send(buf, 0, buf.readableBytes());
            });
            assertThat(sent).isZero();
            onLoop(() -> {
                writerCtx().writeAndFlush(buf.retain());
                return null;
            });
            await().atMost(5, TimeUnit.SECONDS).until(() -> receivedText().equals("first;second"));
        } finally {
            buf.release();
        }
    }

    @Test
    void sendsNothingOffTheEventLoopOrFromAHeapBuffer() throws Exception {
        connect(null, true);
        ByteBuf buf = direct("abc");
        ByteBuf heap = Unpooled.copiedBuffer("abc", StandardCharsets.US_ASCII);
        try {
            DirectSend d = onLoop(() -> DirectSend.of(writerCtx()));
            assertThat(d.usable()).isTrue();
            assertThat(d.send(buf, 0, 3)).as("from the test's thread").isZero();
            assertThat(onLoop(() -> d.send(heap, 0, 3))).as("heap buffer").isZero();
            assertThat(onLoop(() -> d.send(buf, 0, 0))).as("nothing to send").isZero();
            Thread.sleep(100);
            assertThat(receivedText()).isEmpty();
        } finally {
            buf.release();
            heap.release();
        }
    }

    @Test
    void isNotUsedWhenAnOutboundHandlerSitsBetweenTheWriterAndTheSocket() throws Exception {
        connect(new ChannelOutboundHandlerAdapter(), true); // as TLS or GSS wrapping would
        DirectSend d = onLoop(() -> DirectSend.of(writerCtx()));
        assertThat(d.usable()).isFalse();
        assertSendsNothingOnTheLoop(d);
    }

    @Test
    void takesOnlyWhatTheSocketHasRoomForThenNothingOnceItIsFull() throws Exception {
        connect(null, false); // the peer reads nothing for now
        int size = 4 * 1024 * 1024; // far more than both sockets' buffers hold
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) ('a' + i % 26);
        }
        ByteBuf big = PooledByteBufAllocator.DEFAULT.directBuffer(size).writeBytes(bytes);
        try {
            DirectSend d = onLoop(() -> DirectSend.of(writerCtx()));
            int first = onLoop(() -> d.send(big, 0, size));
            assertThat(first).isPositive().isLessThan(size);
            int more = onLoop(() -> d.send(big, first, size - first));
            assertThat(first + more).isLessThan(size);
            assertThat(onLoop(() -> d.send(big, first + more, size - first - more))).as("the socket is full").isZero();
            peer.config().setAutoRead(true);
            int total = first + more;
            await().atMost(10, TimeUnit.SECONDS).until(() -> {
                synchronized (received) {
                    return received.size() == total;
                }
            });
            byte[] got;
            synchronized (received) {
                got = received.toByteArray();
            }
            assertThat(got).isEqualTo(java.util.Arrays.copyOf(bytes, total));
        } finally {
            big.release();
        }
    }

    @Test
    void sendsNothingOnAClosedChannel() throws Exception {
        connect(null, true);
        DirectSend d = onLoop(() -> DirectSend.of(writerCtx()));
        client.close().sync();
        assertSendsNothingOnTheLoop(d);
    }

    /** Asks {@code d} to send 3 bytes of a direct buffer on the channel's loop: it must take none. */
    private void assertSendsNothingOnTheLoop(DirectSend d) throws Exception {
        ByteBuf buf = direct("abc");
        try {
            assertThat(onLoop(() -> d.send(buf, 0, 3))).isZero();
        } finally {
            buf.release();
        }
    }

    @Test
    void saysNothingIsQueuedOnlyWhenAFlushWouldFindNothingToWrite() throws Exception {
        connect(null, false); // the peer reads nothing for now
        DirectSend d = onLoop(() -> DirectSend.of(writerCtx()));
        assertThat(onLoop(d::nothingQueued)).as("a fresh channel").isTrue();
        assertThat(d.nothingQueued()).as("off the loop").isFalse();
        assertThat(onLoop(() -> {
            writerCtx().write(Unpooled.EMPTY_BUFFER); // written, not flushed: its promise waits for a flush
            return d.nothingQueued();
        })).as("an empty buffer not yet flushed").isFalse();
        assertThat(onLoop(() -> {
            writerCtx().flush();
            return d.nothingQueued();
        })).as("flushed").isTrue();
        int size = 4 * 1024 * 1024; // more than the sockets hold: part of it stays queued after the flush
        ByteBuf big = PooledByteBufAllocator.DEFAULT.directBuffer(size).writeZero(size);
        assertThat(onLoop(() -> {
            writerCtx().writeAndFlush(big);
            return d.nothingQueued();
        })).as("flushed, but the socket did not take it all").isFalse();
        peer.config().setAutoRead(true);
        await().atMost(10, TimeUnit.SECONDS).until(() -> onLoop(d::nothingQueued));
        DirectSend behindHandler = DirectSend.NONE;
        assertThat(onLoop(behindHandler::nothingQueued)).as("a channel the path does not serve").isFalse();
    }
}
