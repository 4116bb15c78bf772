package io.pgrelay.proxy.client;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.message.ErrorResponse;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The frames of a read unit on a standby, kept until its server answers anything: if the server dies first,
 * nothing was run that matters (a standby writes nothing) and nothing reached the client, so the unit runs
 * again on another server instead of failing.
 *
 * <p>Part of one {@link Relay}, on the client's event loop; it decides when a unit is kept and when it runs again.
 */
final class StandbyReplay {
    private static final int MAX_REPLAYS = 2;

    /** The most bytes of a unit kept as a copy; frames past it (and pieces of frames) are kept as duplicates. */
    static final int COPY_LIMIT = 2048;

    private final Relay relay;
    /**
     * The kept unit's whole frames, copied: a read unit is small, and a copy lets the client's read go at once, where
     * a retained duplicate would free it only at the answer, long after its memory went cold. Allocated at the first
     * kept unit (a client that never reads from a standby has none), grown up to {@link #COPY_LIMIT}.
     */
    private byte[] copied;
    private int copiedLength;
    /** The kept unit's frames after the copied ones: retained duplicates. */
    private final ArrayDeque<ByteBuf> replay = new ArrayDeque<>(4);
    /** Notices a replayable unit's server sent before any answer: forwarded with the answer, dropped on replay. */
    private final ArrayDeque<ByteBuf> heldNotices = new ArrayDeque<>(1);
    private int replays;
    /** What the server owed right after the unit was sent: more means the client sent more since (no replay). */
    private int unitEntries;

    StandbyReplay(Relay relay) {
        this.relay = relay;
    }

    /** Whether the unit about to be sent may be kept: it has not run again too often already. */
    boolean mayKeep() {
        return replays < MAX_REPLAYS;
    }

    /** Keeps a copy of a frame of the unit being sent (the frame itself goes to the server). */
    void keep(ByteBuf frame) {
        int n = frame.readableBytes();
        int at = frame.readerIndex();
        boolean whole = n >= Frames.HEADER_LENGTH && Frames.HEADER_LENGTH + Frames.bodyLength(frame) == n;
        if (!whole || !replay.isEmpty() || copiedLength + n > COPY_LIMIT) {
            replay.add(frame.retainedDuplicate()); // order: once a frame is a duplicate, the rest of the unit is too
            return;
        }
        if (copied == null || copied.length < copiedLength + n) {
            int size = Math.min(COPY_LIMIT, Math.max(256, Integer.highestOneBit(copiedLength + n - 1) << 1));
            copied = copied == null ? new byte[size] : Arrays.copyOf(copied, size);
        }
        frame.getBytes(at, copied, copiedLength, n);
        copiedLength += n;
    }

    /** The unit is sent: {@code entries} is what its server owes for it. */
    void sent(int entries) {
        unitEntries = entries;
    }

    /**
     * A frame from the server of a kept unit: a notice, or a FATAL, waits (true, the frame taken); anything else is
     * the answer, which makes the unit the server's (false, the frame the caller's, the waiting notices sent first).
     */
    boolean heldBack(ByteBuf frame) {
        if (!kept()) {
            return false;
        }
        byte first = Frames.type(frame);
        if (first == MessageType.NOTICE_RESPONSE
                || first == MessageType.ERROR_RESPONSE && ErrorResponse.decode(frame).isFatal()) {
            // The WARNING of an immediate shutdown, the FATAL of a backend whose postmaster died: not an
            // answer to the read, which runs again elsewhere once the connection closes.
            heldNotices.add(frame);
            return true;
        }
        answered();
        return false;
    }

    /** Whether a unit is kept: the server's next frame must go through {@link #heldBack} (or {@link #answered}). */
    boolean kept() {
        return copiedLength != 0 || !replay.isEmpty();
    }

    /** The kept unit's server sent a frame that is neither a notice nor a FATAL: the answer, so the unit is its. */
    void answered() {
        while (!heldNotices.isEmpty()) {
            relay.toClient(heldNotices.pollFirst());
        }
        drop();
        replays = 0;
    }

    /** The server closed: whether the kept unit can run again, nothing sent since but its own frames. */
    boolean mayRerun(int owed) {
        return kept() && owed == unitEntries;
    }

    /** Puts the kept unit back at the end of {@code held}, to run again on another server. */
    void rerun(ArrayDeque<ByteBuf> held, ByteBufAllocator alloc) {
        replays++;
        if (copiedLength > 0) {
            ByteBuf all = alloc.buffer(copiedLength).writeBytes(copied, 0, copiedLength);
            while (all.isReadable()) { // whole frames only: each says its length
                held.addLast(all.readRetainedSlice(Frames.HEADER_LENGTH + Frames.bodyLength(all)));
            }
            all.release();
            copiedLength = 0;
        }
        while (!replay.isEmpty()) {
            held.addLast(replay.pollFirst());
        }
        dropHeldNotices(); // the dead server's, not the client's
    }

    /** Releases the kept unit and the notices held with it. */
    void drop() {
        copiedLength = 0;
        while (!replay.isEmpty()) {
            replay.pollFirst().release();
        }
        dropHeldNotices();
    }

    private void dropHeldNotices() {
        while (!heldNotices.isEmpty()) {
            heldNotices.pollFirst().release();
        }
    }
}
