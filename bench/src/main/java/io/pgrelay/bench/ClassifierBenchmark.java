package io.pgrelay.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pgrelay.protocol.sql.Classification;
import io.pgrelay.protocol.sql.ClassifierSettings;
import io.pgrelay.protocol.sql.FunctionCatalog;
import io.pgrelay.protocol.sql.Route;
import io.pgrelay.protocol.sql.StatementClassifier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * StatementClassifier cost per statement, from the bytes of a Query message (a direct buffer, as Netty reads them).
 * "cached" repeats one text (the steady state of an application); "uncached" has no cache, so every call lexes.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Benchmark)
public class ClassifierBenchmark {
    static final String SELECT_60 = "SELECT id, name, email FROM users WHERE id = $1 AND active";

    /** pgbench -S -M simple: the literal inline, so a new text nearly every time (answered by PlainSelect). */
    static final String LITERAL_55 = "SELECT abalance FROM pgbench_accounts WHERE aid = 4711";
    /** The same with the literal quoted: PlainSelect gives up at the quote and the analyzer decides. */
    static final String QUOTED_57 = "SELECT abalance FROM pgbench_accounts WHERE aid = '4711'";

    static final String ORM_1K = "select o1_0.id,o1_0.created_at,o1_0.customer_id,o1_0.currency,o1_0.discount,"
            + "o1_0.note,o1_0.shipping_address_id,o1_0.status,o1_0.total,o1_0.updated_at,o1_0.version,"
            + "c1_0.id,c1_0.country,c1_0.created_at,c1_0.email,c1_0.name,c1_0.phone,c1_0.tier,"
            + "a1_0.id,a1_0.city,a1_0.country,a1_0.line1,a1_0.line2,a1_0.postal_code,a1_0.region,"
            + "i1_0.order_id,i1_0.id,i1_0.price,i1_0.product_id,i1_0.quantity,i1_0.sku "
            + "from orders o1_0 join customers c1_0 on c1_0.id=o1_0.customer_id "
            + "left join addresses a1_0 on a1_0.id=o1_0.shipping_address_id "
            + "left join order_items i1_0 on o1_0.id=i1_0.order_id "
            + "where o1_0.status in ($1,$2,$3) and c1_0.country=$4 and o1_0.created_at between $5 and $6 "
            + "and lower(c1_0.email) like $7 and coalesce(o1_0.discount,0)<$8 "
            + "and exists(select 1 from payments p1_0 where p1_0.order_id=o1_0.id and p1_0.state='settled') "
            + "and o1_0.total>(select avg(o2_0.total) from orders o2_0 where o2_0.customer_id=c1_0.id) "
            + "order by o1_0.created_at desc,o1_0.id offset $9 rows fetch first $10 rows only";

    static final String BIG_16K;

    static {
        StringBuilder sb = new StringBuilder("SELECT o.id, o.total, o.status FROM orders o WHERE o.id IN (");
        for (int i = 100000; sb.length() < 16_300; i++) {
            sb.append(i).append(", ");
        }
        sb.append("0) AND o.status <> 'deleted' ORDER BY o.id");
        BIG_16K = sb.toString();
    }

    private StatementClassifier cached;
    private StatementClassifier uncached;
    private ByteBuf select60;
    private ByteBuf orm1k;
    private ByteBuf literal55;
    private ByteBuf quoted57;
    private ByteBuf big16k;

    @Setup
    public void setUp() {
        cached = new StatementClassifier(ClassifierSettings.defaults(), FunctionCatalog.NONE);
        uncached = new StatementClassifier(new ClassifierSettings(List.of(), List.of(), 0), FunctionCatalog.NONE);
        select60 = direct(SELECT_60);
        orm1k = direct(ORM_1K);
        big16k = direct(BIG_16K);
        literal55 = direct(LITERAL_55);
        quoted57 = direct(QUOTED_57);
        for (ByteBuf b : List.of(select60, orm1k, big16k, literal55, quoted57)) {
            if (cached.classify(b, 0, b.readableBytes()).route() != Route.STANDBY) {
                throw new IllegalStateException("benchmark statements must be reads");
            }
        }
    }

    @TearDown
    public void tearDown() {
        select60.release();
        orm1k.release();
        big16k.release();
        literal55.release();
        quoted57.release();
    }

    private static ByteBuf direct(String sql) {
        byte[] b = sql.getBytes(StandardCharsets.UTF_8);
        return Unpooled.wrappedBuffer(ByteBuffer.allocateDirect(b.length).put(b).flip());
    }

    @Benchmark
    public Classification select60Cached() {
        return cached.classify(select60, 0, select60.readableBytes());
    }

    @Benchmark
    public Classification select60CachedString() {
        return cached.classify(SELECT_60);
    }

    @Benchmark
    public Classification select60Uncached() {
        return uncached.classify(select60, 0, select60.readableBytes());
    }

    @Benchmark
    public Classification orm1kCached() {
        return cached.classify(orm1k, 0, orm1k.readableBytes());
    }

    @Benchmark
    public Classification orm1kUncached() {
        return uncached.classify(orm1k, 0, orm1k.readableBytes());
    }

    @Benchmark
    public Classification big16kCached() {
        return cached.classify(big16k, 0, big16k.readableBytes());
    }

    @Benchmark
    public Classification big16kUncached() {
        return uncached.classify(big16k, 0, big16k.readableBytes());
    }

    /** A first sighting of a literal-bearing SELECT (no cache involved), as pgbench -S -M simple sends them. */
    @Benchmark
    public Classification literal55Uncached() {
        return uncached.classify(literal55, 0, literal55.readableBytes());
    }

    /** The same statement with a quoted literal: the lexer and analyzer's price for a first sighting. */
    @Benchmark
    public Classification quoted57Uncached() {
        return uncached.classify(quoted57, 0, quoted57.readableBytes());
    }
}
