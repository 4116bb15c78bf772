package io.pgrelay.proxy.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.protocol.message.Message;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;

/** A bare socket speaking bytes, for what real drivers never send (bad versions, odd orders). */
final class RawClient implements AutoCloseable {
    private final java.io.Closeable socket;
    private final DataInputStream in;
    private final OutputStream out;

    RawClient(int port) throws IOException {
        this(port, 0);
    }

    /** {@code receiveBuffer}: the socket's SO_RCVBUF, set before connecting; 0 for the system's default. */
    RawClient(int port, int receiveBuffer) throws IOException {
        Socket s = new Socket();
        if (receiveBuffer > 0) {
            s.setReceiveBufferSize(receiveBuffer);
        }
        s.connect(new java.net.InetSocketAddress("127.0.0.1", port));
        s.setSoTimeout(10_000);
        socket = s;
        in = new DataInputStream(s.getInputStream());
        out = s.getOutputStream();
    }

    private RawClient(java.nio.channels.SocketChannel channel) {
        socket = channel;
        in = new DataInputStream(java.nio.channels.Channels.newInputStream(channel));
        out = java.nio.channels.Channels.newOutputStream(channel);
    }

    /**
     * A client of PostgreSQL itself, on its Unix socket in {@code socketDir} (where the test clusters trust local
     * users). Reads have no timeout: use it only where PostgreSQL is sure to answer.
     */
    static RawClient unix(java.nio.file.Path socketDir, int port) throws IOException {
        java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX);
        ch.connect(java.net.UnixDomainSocketAddress.of(socketDir.resolve(".s.PGSQL." + port)));
        return new RawClient(ch);
    }

    void send(Message m) throws IOException {
        ByteBuf b = m.encode(Unpooled.buffer().alloc());
        try {
            out.write(ByteBufUtil.getBytes(b));
            out.flush();
        } finally {
            b.release();
        }
    }

    void send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    int readByte() throws IOException {
        return in.read();
    }

    /** Reads one typed message: returns its type; the body goes to {@code body[0]}. */
    byte readMessage(byte[][] body) throws IOException {
        byte type = in.readByte();
        int len = in.readInt();
        byte[] b = new byte[len - 4];
        in.readFully(b);
        body[0] = b;
        return type;
    }

    /** Reads messages until an ErrorResponse and decodes it. */
    ErrorResponse readError() throws IOException {
        byte[][] body = new byte[1][];
        while (true) {
            byte type = readMessage(body);
            if (type == 'E') {
                ByteBuf frame = Unpooled.buffer().writeByte('E').writeInt(body[0].length + 4).writeBytes(body[0]);
                try {
                    return ErrorResponse.decode(frame);
                } finally {
                    frame.release();
                }
            }
        }
    }

    /** True once the server has closed the connection (read returns end of stream). */
    boolean closedByServer() throws IOException {
        try {
            return in.read() == -1;
        } catch (java.net.SocketException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
