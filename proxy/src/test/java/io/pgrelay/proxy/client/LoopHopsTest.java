package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgrelay.protocol.FrameDecoder;
import io.pgrelay.proxy.LeakTracker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.pgrelay.proxy.PgbenchBatch.P;
import static io.pgrelay.proxy.PgbenchBatch.B;
import static io.pgrelay.proxy.PgbenchBatch.D;
import static io.pgrelay.proxy.PgbenchBatch.E;
import static io.pgrelay.proxy.PgbenchBatch.S;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Writes to a server (an EmbeddedChannel here): frames a client sent back to back, forwarded unchanged, go as one
 * write; anything else keeps its place and its own write.
 */
class LoopHopsTest {
    private EmbeddedChannel server;
    private LoopHops hops;

    @AfterAll
    static void leaks() {
        LeakTracker.assertNoLeaks();
    }

    /** What reached each "socket", in order; released there, before the write's promise completes, as a socket does. */
    private final List<String> sent = new ArrayList<>();
    private final List<String> sentOther = new ArrayList<>();

    private static EmbeddedChannel socket(List<String> into) {
        return new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                ByteBuf b = (ByteBuf) msg;
                into.add(ByteBufUtil.hexDump(b));
                b.release();
                promise.trySuccess();
            }
        });
    }

    @BeforeEach
    void setUp() {
        server = socket(sent);
        hops = new LoopHops(null, (conn, frame) -> { });
    }

    /** The frames of {@code hex} as the client's decoder hands them over: retained slices of one read. */
    private static List<ByteBuf> decoded(ByteBuf read) {
        EmbeddedChannel client = new EmbeddedChannel(FrameDecoder.forFrontend(1 << 20));
        client.writeInbound(read);
        List<ByteBuf> frames = new ArrayList<>();
        ByteBuf f;
        while ((f = client.readInbound()) != null) {
            frames.add(f);
        }
        assertThat(client.finish()).isFalse();
        return frames;
    }

    private List<String> written() {
        server.flush();
        return sent;
    }

    private static ByteBuf hex(ByteBuf into, String hex) {
        return into.writeBytes(ByteBufUtil.decodeHexDump(hex));
    }

    @Test
    void anExtendedBatchFromOneReadIsOneWrite() {
        List<ByteBuf> frames = decoded(hex(PooledByteBufAllocator.DEFAULT.directBuffer(), P + B + D + E + S));
        assertThat(frames).hasSize(5);
        frames.forEach(f -> hops.write(server, f));
        assertThat(sent).isEmpty(); // pending until the flush at the end of the read
        hops.flushServer(server);
        assertThat(written()).containsExactly(P + B + D + E + S);
        assertThat(server.finish()).isFalse();
    }

    @Test
    void heapReadsJoinToo() {
        List<ByteBuf> frames = decoded(hex(Unpooled.buffer(), P + B + S));
        frames.forEach(f -> hops.write(server, f));
        hops.flushServer(server);
        assertThat(written()).containsExactly(P + B + S);
    }

    @Test
    void readsNoLeakDetectorWatchesJoinAndAreFreed() {
        // What most reads are outside the tests: no leak detector's wrapper around the read or its frames.
        ByteBuf read = Unpooled.wrappedBuffer(java.nio.ByteBuffer.allocateDirect(256)).clear();
        hex(read, P + B + D + E + S);
        read.retain(); // to watch it
        List<ByteBuf> frames = decoded(read);
        assertThat(frames.get(0)).isNotInstanceOf(io.netty.buffer.WrappedByteBuf.class);
        frames.forEach(f -> hops.write(server, f));
        hops.flushServer(server);
        assertThat(sent).containsExactly(P + B + D + E + S);
        assertThat(read.refCnt()).isEqualTo(1); // only the watcher's reference is left
        read.release();
    }

    @Test
    void aFrameOfItsOwnEndsTheSpanAndKeepsItsPlace() {
        List<ByteBuf> frames = decoded(hex(Unpooled.directBuffer(), P + B + D + E + S));
        hops.write(server, frames.get(0));
        ByteBuf renamed = hex(Unpooled.directBuffer(), B); // a rewritten Bind, say
        frames.get(1).release();
        hops.write(server, renamed);
        for (ByteBuf f : frames.subList(2, 5)) {
            hops.write(server, f);
        }
        hops.flushServer(server);
        assertThat(written()).containsExactly(P, B + D + E + S); // the small frames after it copied to its end
    }

    @Test
    void aFrameOfItsOwnTakesSmallFramesOnlyAndForItsChannel() {
        EmbeddedChannel other = socket(sentOther);
        String big = "51" + String.format("%08x", 4 + LoopHops.APPENDED_MAX + 1) + "00".repeat(LoopHops.APPENDED_MAX + 1);
        List<ByteBuf> frames = decoded(hex(Unpooled.directBuffer(), D + big + E + S));
        hops.write(server, hex(Unpooled.directBuffer(), B));
        hops.write(server, frames.get(0)); // copied
        hops.write(server, frames.get(1)); // too big: the Bind goes first, the rest from the read
        hops.write(server, frames.get(2));
        hops.write(server, hex(Unpooled.directBuffer(), P));
        hops.write(other, frames.get(3)); // another channel: the Parse goes first
        hops.flushServer(other);
        assertThat(written()).containsExactly(B + D, big + E, P);
        assertThat(sentOther).containsExactly(S);
        assertThat(other.finish()).isFalse();
    }

    @Test
    void aSharedOrCompositeFrameIsNotWrittenTo() {
        ByteBuf shared = hex(Unpooled.directBuffer(), B).retain();
        List<ByteBuf> frames = decoded(hex(Unpooled.directBuffer(), D + E));
        hops.write(server, shared);
        hops.write(server, frames.get(0));
        io.netty.buffer.CompositeByteBuf composite = Unpooled.compositeBuffer();
        composite.addComponent(true, hex(Unpooled.directBuffer(), B));
        hops.write(server, composite);
        hops.write(server, frames.get(1));
        hops.flushServer(server);
        assertThat(written()).containsExactly(B, D, B, E);
        assertThat(ByteBufUtil.hexDump(shared)).isEqualTo(B);
        shared.release();
    }

    @Test
    void aHeldFrameIsReleasedWhenTheServerIsGone() {
        ByteBuf own = hex(Unpooled.directBuffer(), B);
        hops.write(server, own);
        hops.write(server, decoded(hex(Unpooled.directBuffer(), S)).get(0));
        hops.dropOutbox();
        assertThat(own.refCnt()).isZero();
        hops.flushServer(server);
        assertThat(written()).isEmpty();
    }

    @Test
    void framesNotBackToBackAreSeparateWrites() {
        List<ByteBuf> frames = decoded(hex(Unpooled.directBuffer(), P + B + D));
        hops.write(server, frames.get(0));
        frames.get(1).release(); // dropped by the relay (answered locally, say): P and D are not adjacent
        hops.write(server, frames.get(2));
        hops.flushServer(server);
        assertThat(written()).containsExactly(P, D);
    }

    @Test
    void twoReadsAreTwoWrites() {
        List<ByteBuf> first = decoded(hex(Unpooled.directBuffer(), P + B));
        List<ByteBuf> second = decoded(hex(Unpooled.directBuffer(), E + S));
        first.forEach(f -> hops.write(server, f));
        second.forEach(f -> hops.write(server, f));
        hops.flushServer(server);
        assertThat(written()).containsExactly(P + B, E + S);
    }

    @Test
    void aFrameForAnotherChannelIsNotJoined() {
        EmbeddedChannel other = socket(sentOther);
        List<ByteBuf> frames = decoded(hex(Unpooled.directBuffer(), P + B + S));
        hops.write(server, frames.get(0));
        hops.write(server, frames.get(1));
        hops.write(other, frames.get(2));
        assertThat(sent).containsExactly(P + B); // written before the frame for the other channel
        hops.flushServer(other);
        assertThat(sentOther).containsExactly(S);
        assertThat(other.finish()).isFalse();
    }

    @Test
    void droppedSpanIsReleased() {
        ByteBuf read = hex(Unpooled.directBuffer(), P + B + S);
        read.retain(); // to watch it
        decoded(read).forEach(f -> hops.write(server, f));
        hops.dropOutbox(); // the server went away before the flush
        assertThat(read.refCnt()).isEqualTo(1);
        read.release();
        hops.flushServer(server);
        assertThat(written()).isEmpty();
    }

    @Test
    void handBackWritesWhatIsPending() {
        List<ByteBuf> frames = decoded(hex(Unpooled.directBuffer(), P + B + S));
        frames.forEach(f -> hops.write(server, f));
        hops.sendOutbox(server);
        assertThat(sent).containsExactly(P + B + S);
    }
}
