package io.pgrelay.proxy.metrics;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.pgrelay.proxy.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The Prometheus endpoint: {@code GET /metrics} answers the text exposition format, {@code GET /} a line saying
 * where the metrics are; anything else 404 (405 for other methods). Its own event loop, so a slow scrape never
 * delays client traffic.
 */
public final class MetricsHttpServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MetricsHttpServer.class);
    /** The Prometheus text format, version 0.0.4. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final EventLoopGroup group;
    private final Channel channel;

    private MetricsHttpServer(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /** Listens on host:port and serves {@code scrape}'s text at /metrics. */
    public static MetricsHttpServer start(String host, int port, Supplier<String> scrape) throws InterruptedException {
        Transport transport = Transport.detect();
        EventLoopGroup group = transport.newGroup(1, "pgrelay-metrics");
        try {
            Channel ch = new ServerBootstrap().group(group).channel(transport.serverChannelClass())
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new ReadTimeoutHandler(30, TimeUnit.SECONDS));
                            ch.pipeline().addLast(new HttpServerCodec());
                            ch.pipeline().addLast(new HttpObjectAggregator(64 * 1024));
                            ch.pipeline().addLast(new Handler(scrape));
                        }
                    })
                    .bind(host, port).sync().channel();
            log.info("metrics served at http://{}:{}/metrics", host, ((InetSocketAddress) ch.localAddress()).getPort());
            return new MetricsHttpServer(group, ch);
        } catch (RuntimeException | InterruptedException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final Supplier<String> scrape;

        Handler(Supplier<String> scrape) {
            this.scrape = scrape;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String path = new QueryStringDecoder(req.uri()).path();
            boolean head = req.method().equals(HttpMethod.HEAD);
            FullHttpResponse res;
            if (!req.method().equals(HttpMethod.GET) && !head) {
                res = text(HttpResponseStatus.METHOD_NOT_ALLOWED, "only GET\n", "text/plain; charset=utf-8");
                res.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
            } else if (path.equals("/metrics")) {
                String body;
                try {
                    body = scrape.get();
                } catch (RuntimeException e) {
                    log.warn("metrics scrape failed: {}", e.toString());
                    body = null;
                }
                res = body == null ? text(HttpResponseStatus.INTERNAL_SERVER_ERROR, "scrape failed\n",
                        "text/plain; charset=utf-8") : text(HttpResponseStatus.OK, body, CONTENT_TYPE);
            } else if (path.equals("/")) {
                res = text(HttpResponseStatus.OK, "pgrelay: metrics at /metrics\n", "text/plain; charset=utf-8");
            } else {
                res = text(HttpResponseStatus.NOT_FOUND, "not found\n", "text/plain; charset=utf-8");
            }
            if (head) {
                res.content().clear();
            }
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (keepAlive) {
                res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
                ctx.writeAndFlush(res);
            } else {
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            }
        }

        private static FullHttpResponse text(HttpResponseStatus status, String body, String type) {
            ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            res.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
            return res;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("metrics connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}
