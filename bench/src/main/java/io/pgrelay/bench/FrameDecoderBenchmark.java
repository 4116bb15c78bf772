package io.pgrelay.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgrelay.protocol.FrameDecoder;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Backend FrameDecoder over a typical result stream (RowDescription, 500 DataRows, CommandComplete, ReadyForQuery;
 * about 50 kB) fed in 16 kB reads, as a socket delivers it. Throughput in MB/s is the "bytes" counter (bytes/s).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class FrameDecoderBenchmark {
    private static final int READ_SIZE = 16 * 1024;

    private byte[] stream;
    private ByteBuf source;
    private EmbeddedChannel channel;

    /** Bytes decoded; JMH reports it per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public long bytes;
        public long frames;

        @Setup(Level.Iteration)
        public void reset() {
            bytes = 0;
            frames = 0;
        }
    }

    private long framesSeen;

    @Setup
    public void setUp() {
        ByteBuf b = Unpooled.buffer();
        frame(b, 'T', rowDescription());
        for (int i = 0; i < 500; i++) {
            frame(b, 'D', dataRow(i));
        }
        frame(b, 'C', "SELECT 500\0".getBytes(StandardCharsets.US_ASCII));
        frame(b, 'Z', new byte[] {'I'});
        stream = new byte[b.readableBytes()];
        b.readBytes(stream);
        b.release();
        source = PooledByteBufAllocator.DEFAULT.directBuffer(stream.length);
        source.writeBytes(stream);
        channel = new EmbeddedChannel(FrameDecoder.forBackend(1 << 30), new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                framesSeen++;
                ((ByteBuf) msg).release();
            }
        });
    }

    @TearDown
    public void tearDown() {
        channel.finishAndReleaseAll();
        source.release();
    }

    @Benchmark
    public long decodeResultStream(Counters counters) {
        long before = framesSeen;
        for (int off = 0; off < stream.length; off += READ_SIZE) {
            int n = Math.min(READ_SIZE, stream.length - off);
            channel.writeInbound(source.retainedSlice(off, n));
        }
        counters.bytes += stream.length;
        counters.frames += framesSeen - before;
        return framesSeen;
    }

    private static void frame(ByteBuf out, char type, byte[] body) {
        out.writeByte(type).writeInt(body.length + 4).writeBytes(body);
    }

    private static byte[] rowDescription() {
        ByteBuf b = Unpooled.buffer();
        String[] names = {"id", "email", "name", "created_at", "balance"};
        int[] types = {20, 25, 25, 1184, 1700};
        b.writeShort(names.length);
        for (int i = 0; i < names.length; i++) {
            b.writeBytes(names[i].getBytes(StandardCharsets.US_ASCII)).writeByte(0);
            b.writeInt(16384).writeShort(i + 1).writeInt(types[i]).writeShort(-1).writeInt(-1).writeShort(0);
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }

    private static byte[] dataRow(int i) {
        String[] values = {Integer.toString(1_000_000 + i), "user" + i + "@example.com", "User Number " + i,
            "2024-06-01 12:34:56.789+00", (i * 13 % 10_000) + ".25"};
        ByteBuf b = Unpooled.buffer();
        b.writeShort(values.length);
        for (String v : values) {
            byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
            b.writeInt(bytes.length).writeBytes(bytes);
        }
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }
}
