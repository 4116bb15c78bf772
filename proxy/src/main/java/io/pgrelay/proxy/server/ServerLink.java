package io.pgrelay.proxy.server;

import io.netty.buffer.ByteBuf;

/**
 * The client side of a linked server connection. Called on the server connection's event loop; an implementation
 * on another loop hops there itself.
 */
public interface ServerLink {
    /** One frame from the server; the callee owns it (forwards or releases it). */
    void serverFrame(ServerConnection connection, ByteBuf frame);

    /**
     * One frame from the server, {@code length} bytes at {@code at} in {@code run} (a read's whole frames, which the
     * connection releases when all are given). The callee keeps nothing of {@code run} without retaining it, and has
     * written what it passes on by {@link #serverFramesGiven}. By default, the frame as a retained slice of its own.
     */
    default void serverFrame(ServerConnection connection, ByteBuf run, int at, int length) {
        serverFrame(connection, run.retainedSlice(at, length));
    }

    /** The frames of one run were all given: nothing of it may be referred to after this returns. */
    default void serverFramesGiven(ServerConnection connection) {
    }

    /** The end of a read batch from the server: time to flush. */
    void serverReadComplete(ServerConnection connection);

    /** The server connection ended while linked (server crash, FATAL, network). */
    void serverClosed(ServerConnection connection, String reason);

    /** The server's socket stopped or started accepting writes: stop or resume reading the client. */
    void serverWritabilityChanged(ServerConnection connection, boolean writable);
}
