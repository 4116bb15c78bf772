package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.pgrelay.proxy.LeakTracker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import static io.pgrelay.proxy.PgbenchBatch.P;
import static io.pgrelay.proxy.PgbenchBatch.B;
import static io.pgrelay.proxy.PgbenchBatch.D;
import static io.pgrelay.proxy.PgbenchBatch.E;
import static io.pgrelay.proxy.PgbenchBatch.S;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a read unit kept for a replay runs again as: the same frames, in order, whether they were kept as a copy (whole
 * frames within the copy limit) or as duplicates (the rest); and what keeping holds on to.
 */
class StandbyReplayTest {
    private final StandbyReplay replay = new StandbyReplay(null); // the relay is only told of held notices
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private final List<ByteBuf> reads = new ArrayList<>();

    @AfterAll
    static void leaks() {
        LeakTracker.assertNoLeaks();
    }

    @AfterEach
    void release() {
        replay.drop();
        held.forEach(ByteBuf::release);
        reads.forEach(ByteBuf::release);
    }

    /** A client's read holding {@code hex}, as the frame decoder leaves it: the test owns it. */
    private ByteBuf read(String hex) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer().writeBytes(ByteBufUtil.decodeHexDump(hex));
        reads.add(b);
        return b;
    }

    private List<String> rerun() {
        replay.rerun(held, PooledByteBufAllocator.DEFAULT);
        List<String> frames = new ArrayList<>();
        held.forEach(f -> frames.add(ByteBufUtil.hexDump(f)));
        return frames;
    }

    @Test
    void keepsASmallUnitAsACopyThatHoldsNothingOfTheRead() {
        ByteBuf read = read(P + B + D + E + S);
        int at = 0;
        for (String f : List.of(P, B, D, E, S)) {
            replay.keep(read.slice(at, f.length() / 2));
            at += f.length() / 2;
        }
        assertThat(read.refCnt()).as("the read can go as soon as it is sent").isEqualTo(1);
        assertThat(replay.kept()).isTrue();
        assertThat(rerun()).containsExactly(P, B, D, E, S);
        assertThat(replay.kept()).as("all of it went back to be held").isFalse();
    }

    @Test
    void keepsFramesPastTheCopyLimitAndAllAfterThemAsDuplicatesInOrder() {
        String big = "51" + String.format("%08x", 4 + StandbyReplay.COPY_LIMIT + 1)
                + "41".repeat(StandbyReplay.COPY_LIMIT) + "00"; // a Query of more than the limit
        ByteBuf first = read(P);
        ByteBuf large = read(big);
        ByteBuf after = read(S);
        replay.keep(first);
        replay.keep(large);
        replay.keep(after);
        assertThat(first.refCnt()).as("copied").isEqualTo(1);
        assertThat(large.refCnt()).as("a duplicate").isEqualTo(2);
        assertThat(after.refCnt()).as("after a duplicate, a duplicate: order").isEqualTo(2);
        assertThat(rerun()).containsExactly(P, big, S);
    }

    @Test
    void keepsAPieceOfAFrameAsADuplicate() {
        ByteBuf piece = read(P.substring(0, 20)); // the start of a frame streamed in pieces
        replay.keep(piece);
        assertThat(piece.refCnt()).isEqualTo(2);
        assertThat(rerun()).containsExactly(P.substring(0, 20));
    }

    @Test
    void dropForgetsTheCopyAndReleasesTheDuplicates() {
        ByteBuf copied = read(Q_SELECT);
        ByteBuf piece = read(P.substring(0, 20));
        replay.keep(copied);
        replay.keep(piece);
        replay.drop();
        assertThat(replay.kept()).isFalse();
        assertThat(piece.refCnt()).isEqualTo(1);
        assertThat(rerun()).as("nothing kept, nothing runs again").isEmpty();
    }

    @Test
    void theCopyIsReusedByTheNextUnit() {
        replay.keep(read(P));
        replay.drop();
        replay.keep(read(Q_SELECT));
        assertThat(rerun()).containsExactly(Q_SELECT);
    }

    private static final String Q_SELECT = "510000000d53454c4543542031" + "00"; // Query "SELECT 1"
}
