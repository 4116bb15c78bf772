package io.pgrelay.proxy.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.pgrelay.protocol.FrameDecoder;
import io.pgrelay.protocol.SqlState;
import io.pgrelay.protocol.message.BackendKeyData;
import io.pgrelay.protocol.message.CancelRequest;
import io.pgrelay.protocol.message.ErrorResponse;
import io.pgrelay.proxy.PgRelayException;
import io.pgrelay.proxy.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.TimeUnit;

/**
 * Opens connections to PostgreSQL servers: logged-in ServerConnections, and one-shot CancelRequests.
 *
 * <p>Not final, for one reason: the JMH round-trip benchmark overrides {@link #connect} to put the connection on an
 * in-process EmbeddedChannel (see {@link #newConnection}); pgrelay itself never subclasses it.
 */
public class ServerConnector {
    private static final Logger log = LoggerFactory.getLogger(ServerConnector.class);
    /** Servers may send DataRows up to 1 GB (MaxAllocSize) plus headers. */
    public static final int MAX_BACKEND_FRAME = (1 << 30) + 64;
    /** How long a cancel connection may stay open waiting for the server to hang up. */
    private static final int CANCEL_LINGER_SECONDS = 5;

    private final Transport transport;
    /** TLS towards servers (server_tls_mode); null: plaintext. */
    private volatile io.pgrelay.proxy.tls.TlsContexts tls;
    private volatile io.pgrelay.config.SecurityConfig.ServerTlsMode tlsMode =
            io.pgrelay.config.SecurityConfig.ServerTlsMode.DISABLE;

    public ServerConnector(Transport transport) {
        this.transport = transport;
    }

    /** Server connections opened from now on negotiate TLS as {@code mode} says. */
    public void useTls(io.pgrelay.proxy.tls.TlsContexts contexts, io.pgrelay.config.SecurityConfig.ServerTlsMode mode) {
        this.tls = contexts;
        this.tlsMode = mode;
    }

    /**
     * Connects on {@code loop} (the caller's loop keeps the hot path free of thread hops) and logs in; the future
     * completes once the server sent ReadyForQuery, or fails with a PgRelayException naming the server and why.
     */
    public Future<ServerConnection> connect(EventLoop loop, ServerTarget target) {
        Promise<ServerConnection> promise = loop.newPromise();
        ServerConnection connection = new ServerConnection(target, promise);
        Bootstrap b = bootstrap(loop, target)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        io.netty.handler.ssl.SslContext ssl = tls == null ? null : tls.forServers();
                        if (ssl != null && tlsMode != io.pgrelay.config.SecurityConfig.ServerTlsMode.DISABLE) {
                            ch.pipeline().addLast("server-tls", new ServerTlsNegotiator(ssl, tlsMode, target));
                        }
                        ch.pipeline().addLast("frames", FrameDecoder.forBackendRuns(MAX_BACKEND_FRAME));
                        ch.pipeline().addLast("server", connection);
                    }
                });
        b.connect(target.host(), target.port()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                String why = f.cause() == null ? "unknown error" : f.cause().getMessage();
                promise.tryFailure(PgRelayException.serverUnavailable(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE,
                        "could not connect to server " + target.address() + ": " + why), f.cause()));
                log.debug("could not connect to server {}: {}", target.address(), why); // the health checks log it once
            }
        });
        return promise;
    }

    /**
     * The handler of a connection not yet logged in, for a subclass that opens the channel itself: it goes last in
     * the channel's pipeline, after a {@code FrameDecoder.forBackendRuns}, and logs in once the channel is active.
     */
    protected static ServerConnection newConnection(ServerTarget target, Promise<ServerConnection> loginPromise) {
        return new ServerConnection(target, loginPromise);
    }

    /**
     * Sends a CancelRequest for {@code key} to the server over a new connection, the way libpq does, and closes it
     * once the server has hung up (or after the connect timeout).
     */
    public void cancel(EventLoop loop, ServerTarget target, BackendKeyData key) {
        Bootstrap b = bootstrap(loop, target).handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                // The server answers nothing; it closes the connection after reading the request.
            }
        });
        b.connect(target.host(), target.port()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                log.warn("could not send cancel request to server {}: {}", target.address(),
                        f.cause() == null ? "unknown error" : f.cause().getMessage());
                return;
            }
            ChannelFuture write = f.channel().writeAndFlush(new CancelRequest(key.processId(), key.secretKey())
                    .encode(f.channel().alloc()));
            write.addListener(w -> f.channel().eventLoop().schedule(() -> f.channel().close(),
                    CANCEL_LINGER_SECONDS, TimeUnit.SECONDS));
        });
    }

    private Bootstrap bootstrap(EventLoop loop, ServerTarget target) {
        return new Bootstrap()
                .group(loop)
                .channel(transport.channelClass())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                // 0 means no limit, in pgrelay's config and in Netty alike.
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                        target.connectTimeout().toMillis()));
    }
}
