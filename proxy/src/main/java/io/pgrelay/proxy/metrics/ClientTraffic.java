package io.pgrelay.proxy.metrics;

import io.netty.buffer.ByteBuf;
import io.pgrelay.protocol.Frames;
import io.pgrelay.protocol.MessageType;
import io.pgrelay.protocol.message.ReadyForQuery;

/**
 * One client's clocks and counters, fed by the relay with the frames it passes: requests start the query (and the
 * transaction) clock, ReadyForQuery stops them. Used on the client's event loop only.
 */
public final class ClientTraffic {
    /** Counts nothing. */
    public static final ClientTraffic NONE = new ClientTraffic(TrafficStats.NONE);

    private final TrafficStats stats;
    private static final long FLUSH_BYTES = 1 << 20;
    private long received; // not yet added to stats
    private long sent;
    private long queryStart;
    private long xactStart;
    private volatile long waitStart; // read by the admin console
    private volatile long lastRequest;
    private volatile String applicationName;
    private Thread writer; // whose shard of stats this client's counts go to
    private TrafficShard shard;

    ClientTraffic(TrafficStats stats) {
        this.stats = stats;
    }

    public TrafficStats stats() {
        return stats;
    }

    /** A frame from the client, before it is forwarded (its bytes are still readable). */
    public void request(ByteBuf frame) {
        received += frame.readableBytes();
        if (received >= FLUSH_BYTES) {
            flushBytes(); // COPY FROM STDIN
        }
        byte type = Frames.type(frame);
        switch (type) {
            case MessageType.PARSE -> shard().add(TrafficShard.CLIENT_PARSES, 1);
            case MessageType.BIND -> shard().add(TrafficShard.BINDS, 1);
            case MessageType.TERMINATE -> {
                return;
            }
            default -> {
            }
        }
        if (queryStart == 0) {
            queryStart = System.nanoTime();
            lastRequest = queryStart;
            if (xactStart == 0) {
                xactStart = queryStart;
            }
        }
    }

    /** A frame to the client, before it is written: bytes, errors, and the end of a query at ReadyForQuery. */
    public void response(ByteBuf frame) {
        sent += frame.readableBytes();
        if (sent >= FLUSH_BYTES) {
            flushBytes(); // a long result or COPY shows up in SHOW STATS while it runs
        }
        byte type = Frames.type(frame);
        if (type == MessageType.READY_FOR_QUERY) {
            ready(ReadyForQuery.statusOf(frame));
        } else if (type == MessageType.ERROR_RESPONSE) {
            stats.error(sqlStateClass(frame));
        } else if (type == MessageType.PARAMETER_STATUS) {
            io.pgrelay.protocol.message.ParameterStatus ps = io.pgrelay.protocol.message.ParameterStatus.decode(frame);
            if (ps.name().equals("application_name")) {
                applicationName = ps.value();
            }
        }
    }

    /**
     * A frame to the client passed on without a buffer of its own, at {@code at} in {@code buf}: as
     * {@link #response}, for any type but ErrorResponse and ParameterStatus (those take {@link #response}).
     */
    public void response(ByteBuf buf, int at, int length) {
        sent += length;
        if (sent >= FLUSH_BYTES) {
            flushBytes();
        }
        if (buf.getByte(at) == MessageType.READY_FOR_QUERY) {
            ready(ReadyForQuery.statusAt(buf, at));
        }
    }

    private void ready(byte status) {
        flushBytes();
        long now = System.nanoTime();
        TrafficShard s = shard();
        if (queryStart != 0) {
            s.ended(s.query, now - queryStart, now);
            queryStart = 0;
        }
        if (status == ReadyForQuery.IDLE && xactStart != 0) {
            s.ended(s.xact, now - xactStart, now);
            xactStart = 0;
        }
    }

    /**
     * Byte counts are summed here and added to the shared counters once per query (at ReadyForQuery, every
     * {@link #FLUSH_BYTES} and when the client leaves) rather than per frame.
     */
    public void flushBytes() {
        if (received != 0) {
            shard().add(TrafficShard.RECEIVED, received);
            received = 0;
        }
        if (sent != 0) {
            shard().add(TrafficShard.SENT, sent);
            sent = 0;
        }
    }

    /** The client started waiting for a server connection. */
    public void waiting() {
        waitStart = System.nanoTime();
    }

    /** A server connection was assigned to the client (wait time since {@link #waiting}). */
    public void assigned() {
        long now = System.nanoTime();
        TrafficShard s = shard();
        s.ended(s.wait, waitStart == 0 ? 0 : now - waitStart, now);
        waitStart = 0;
    }

    /** application_name as the server last reported it to the client; null before any report. */
    public String applicationName() {
        return applicationName;
    }

    /** When the client's last query started (System.nanoTime), or 0. */
    public long lastRequestNanos() {
        return lastRequest;
    }

    /** Since when the client waits for a server (System.nanoTime), or 0. */
    public long waitingSince() {
        return waitStart;
    }

    /** A Parse went to the server. */
    public void serverParse() {
        shard().add(TrafficShard.SERVER_PARSES, 1);
    }

    /** A Bind or Describe of a prepared statement: was it already prepared on the server connection? */
    public void prepared(boolean hit) {
        shard().add(hit ? TrafficShard.PREPARED_HITS : TrafficShard.PREPARED_MISSES, 1);
    }

    /** The shard of the thread running this client: its event loop, looked up once. */
    private TrafficShard shard() {
        Thread t = Thread.currentThread();
        if (t != writer) {
            shard = stats.shard();
            writer = t;
        }
        return shard;
    }

    /** The 'C' field of an ErrorResponse, cut to its class; "??" when it has none. */
    static String sqlStateClass(ByteBuf frame) {
        int i = frame.readerIndex() + Frames.HEADER_LENGTH;
        int end = frame.writerIndex();
        while (i < end) {
            byte code = frame.getByte(i++);
            if (code == 0) {
                break;
            }
            int nul = frame.indexOf(i, end, (byte) 0);
            if (nul < 0) {
                break;
            }
            if (code == 'C' && nul - i >= 2) {
                return "" + (char) frame.getByte(i) + (char) frame.getByte(i + 1);
            }
            i = nul + 1;
        }
        return "??";
    }
}
