package io.pgrelay.proxy.server;

import io.netty.buffer.ByteBuf;

/**
 * The client side of a linked server connection. Called on the server connection's event loop; an implementation
 * on another loop hops there itself.
 */
public interface ServerLink {
    /** One frame from the server; the callee owns it (forwards or releases it). */
    void serverFrame(ServerConnection connection, ByteBuf frame);

    /** The end of a read batch from the server: time to flush. */
    void serverReadComplete(ServerConnection connection);

    /** The server connection ended while linked (server crash, FATAL, network). */
    void serverClosed(ServerConnection connection, String reason);

    /** The server's socket stopped or started accepting writes: stop or resume reading the client. */
    void serverWritabilityChanged(ServerConnection connection, boolean writable);
}
