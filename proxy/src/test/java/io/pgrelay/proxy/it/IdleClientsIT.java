package io.pgrelay.proxy.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.pgrelay.protocol.message.StartupMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many clients logged in and idle at once against the runnable jar in its own JVM, started with bin/pgrelay's JVM
 * options and -Xmx256m: every one stays connected, and any of them is served at once. Clients are raw NIO sockets
 * (one selector thread), so the test JVM holds thousands of them cheaply. The count is {@code -Dpgrelay.idleClients} (default 10000), lowered when the
 * open-files limit would not allow it; the log states the count, the time taken and pgrelay's RSS per client.
 */
class IdleClientsIT {
    private static final Path ROOT = Path.of(System.getProperty("user.dir")).getParent();
    private static final Path JAR = ROOT.resolve("proxy/target/pgrelay.jar");
    private static final int DEFAULT_CLIENTS = 10_000;
    /** Logins in progress at once: keeps the accept backlog and pgrelay's login path from being flooded. */
    private static final int IN_FLIGHT = 256;
    private static final int SAMPLE = 100;

    /** The JVM options bin/pgrelay puts before the user's (its {@code defaults="..."} line). */
    static List<String> launcherJvmOptions() throws java.io.IOException {
        for (String line : Files.readAllLines(ROOT.resolve("bin/pgrelay"))) {
            if (line.startsWith("defaults=\"") && line.endsWith("\"")) {
                return List.of(line.substring("defaults=\"".length(), line.length() - 1).trim().split("\\s+"));
            }
        }
        throw new IllegalStateException("bin/pgrelay has no defaults=\"...\" line");
    }

    @Test
    void tenThousandIdleClientsAtXmx256mAndAnyOfThemIsServed(@TempDir Path dir) throws Exception {
        int clients = feasibleClients(Integer.getInteger("pgrelay.idleClients", DEFAULT_CLIENTS));
        int port = TestProxy.freePort();
        Path config = dir.resolve("pgrelay.toml");
        Files.writeString(config, String.join("\n",
                "[general]",
                "host = \"127.0.0.1\"",
                "port = " + port,
                "max_client_conn = " + (clients + 100),
                "[pools.app]",
                "pool_mode = \"transaction\"",
                "[pools.app.users.0]",
                "username = \"idle\"",
                "auth_type = \"trust\"",
                "pool_size = 4",
                "server_username = \"app\"",
                "server_password = \"app\"",
                "[pools.app.shards.0]",
                "database = \"app\"",
                "servers = " + TestProxy.servers(SharedCluster.get()),
                ""));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java));
        command.addAll(launcherJvmOptions()); // as bin/pgrelay starts it
        command.addAll(List.of("-Xmx256m", "-jar", JAR.toString(), "run", "--config", config.toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        StringBuffer output = new StringBuffer();
        CountDownLatch listening = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    output.append(line).append('\n');
                    if (line.contains("pgrelay listening on")) {
                        listening.countDown();
                    }
                }
            } catch (IOException ignored) {
                // the process is gone
            }
        }, "pgrelay-output");
        reader.setDaemon(true);
        reader.start();
        try (Selector selector = Selector.open()) {
            assertThat(listening.await(30, TimeUnit.SECONDS)).as("pgrelay started; output:\n%s", output).isTrue();
            long rssBefore = rssKb(p.pid());
            long start = System.nanoTime();
            List<Client> all = new ArrayList<>(clients);
            InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
            int loggedIn = 0;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(45);
            while (loggedIn < clients) {
                while (all.size() < clients && all.size() - loggedIn < IN_FLIGHT) {
                    all.add(Client.connect(selector, address));
                }
                loggedIn += poll(selector);
                assertThat(System.nanoTime()).as("%d of %d clients logged in; pgrelay output:\n%s", loggedIn,
                        clients, output).isLessThan(deadline);
            }
            double loginSeconds = (System.nanoTime() - start) / 1e9;
            Thread.sleep(500); // let pgrelay settle after the last login
            long rssIdle = rssKb(p.pid());
            for (Client c : all) {
                assertThat(c.error).as("a login failed").isNull();
            }

            // Any of them is served: a spread sample sends a query each, all at once.
            long queryStart = System.nanoTime();
            List<Client> sample = new ArrayList<>();
            for (int i = 0; i < SAMPLE; i++) {
                Client c = all.get((int) ((long) i * (clients - 1) / (SAMPLE - 1)));
                c.query(selector, "SELECT " + i + " AS n");
                sample.add(c);
            }
            int answered = 0;
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (answered < sample.size()) {
                answered += poll(selector);
                assertThat(System.nanoTime()).as("%d of %d sampled queries answered", answered, sample.size())
                        .isLessThan(deadline);
            }
            double queryMillis = (System.nanoTime() - queryStart) / 1e6;
            for (int i = 0; i < sample.size(); i++) {
                assertThat(sample.get(i).error).isNull();
                assertThat(sample.get(i).lastValue).isEqualTo(Integer.toString(i));
            }
            int stillOpen = 0;
            for (Client c : all) {
                stillOpen += c.channel.isOpen() && !c.closedByPeer ? 1 : 0;
            }
            assertThat(stillOpen).as("clients still connected").isEqualTo(clients);
            assertThat(p.isAlive()).isTrue();
            System.out.printf("idle clients: %d logged in within %.1f s; pgrelay (launcher options, -Xmx256m) RSS %d MB before, %d MB "
                            + "with them idle: %.1f kB per idle client; %d sampled queries answered in %.0f ms%n",
                    clients, loginSeconds, rssBefore / 1024, rssIdle / 1024,
                    (rssIdle - rssBefore) / (double) clients, sample.size(), queryMillis);
            for (Client c : all) {
                c.channel.close();
            }
        } finally {
            p.toHandle().destroy();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        assertThat(output.toString()).doesNotContain("OutOfMemoryError").contains("pgrelay stopped");
    }

    /** The wanted count, lowered to what the open-files limit allows (each side needs one descriptor a client). */
    private static int feasibleClients(int wanted) throws IOException {
        long limit = Long.MAX_VALUE;
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
                limit = soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
            }
        }
        long headroom = 500; // jars, the cluster's connections, selectors
        if (wanted + headroom > limit) {
            int lowered = (int) Math.max(100, limit - headroom);
            System.out.printf("idle clients: open-files limit is %d, so %d clients instead of %d%n", limit,
                    lowered, wanted);
            return lowered;
        }
        return wanted;
    }

    private static long rssKb(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS for " + pid);
    }

    /** One round of the selector; returns how many clients reached the ReadyForQuery they were waiting for. */
    private static int poll(Selector selector) throws IOException {
        selector.select(50);
        int done = 0;
        for (SelectionKey key : selector.selectedKeys()) {
            done += ((Client) key.attachment()).ready(key) ? 1 : 0;
        }
        selector.selectedKeys().clear();
        return done;
    }

    /** A raw protocol client on a non-blocking socket: log in, then one query at a time. */
    private static final class Client {
        private static final byte[] STARTUP = encode(new StartupMessage(StartupMessage.PROTOCOL_3_0,
                Map.of("user", "idle", "database", "app")));

        final SocketChannel channel;
        private ByteBuffer out;
        private ByteBuffer in;
        String lastValue;
        String error;
        boolean closedByPeer;

        private Client(SocketChannel channel) {
            this.channel = channel;
        }

        static Client connect(Selector selector, InetSocketAddress address) throws IOException {
            SocketChannel ch = SocketChannel.open();
            ch.configureBlocking(false);
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            Client c = new Client(ch);
            c.out = ByteBuffer.wrap(STARTUP);
            c.in = ByteBuffer.allocate(1024);
            boolean connected = ch.connect(address);
            ch.register(selector, connected ? SelectionKey.OP_WRITE : SelectionKey.OP_CONNECT, c);
            return c;
        }

        void query(Selector selector, String sql) {
            byte[] text = (sql + "\0").getBytes(StandardCharsets.UTF_8);
            out = ByteBuffer.allocate(5 + text.length).put((byte) 'Q').putInt(4 + text.length).put(text).flip();
            in = ByteBuffer.allocate(1024);
            channel.keyFor(selector).interestOps(SelectionKey.OP_WRITE);
        }

        /** Handles a ready key; true when this client just received the ReadyForQuery it waited for. */
        boolean ready(SelectionKey key) throws IOException {
            if (key.isConnectable() && channel.finishConnect()) {
                key.interestOps(SelectionKey.OP_WRITE);
                return false;
            }
            if (key.isWritable()) {
                channel.write(out);
                if (!out.hasRemaining()) {
                    out = null;
                    key.interestOps(SelectionKey.OP_READ);
                }
                return false;
            }
            if (!key.isReadable()) {
                return false;
            }
            if (channel.read(in) < 0) {
                closedByPeer = true;
                error = error == null ? "closed by pgrelay" : error;
                key.cancel();
                return true;
            }
            in.flip();
            boolean done = false;
            while (in.remaining() >= 5) {
                int len = in.getInt(in.position() + 1);
                if (in.remaining() < len + 1) {
                    break;
                }
                byte type = in.get();
                in.getInt();
                byte[] body = new byte[len - 4];
                in.get(body);
                if (type == 'D') {
                    int n = ((body[2] & 0xff) << 24) | ((body[3] & 0xff) << 16) | ((body[4] & 0xff) << 8)
                            | (body[5] & 0xff);
                    lastValue = new String(body, 6, n, StandardCharsets.UTF_8);
                } else if (type == 'E') {
                    error = new String(body, StandardCharsets.UTF_8).replace('\0', ' ');
                } else if (type == 'Z') {
                    done = true;
                }
            }
            in.compact();
            if (done && in.position() == 0) {
                in = ByteBuffer.allocate(64); // idle: little kept per client besides the socket
            }
            return done;
        }

        private static byte[] encode(StartupMessage m) {
            ByteBuf b = m.encode(Unpooled.buffer().alloc());
            try {
                return ByteBufUtil.getBytes(b);
            } finally {
                b.release();
            }
        }
    }
}
