package io.pgrelay.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The pgrelay image's health check ({@code docker/pgrelay/pgrelay-healthcheck}) against fake listeners; the real
 * pgrelay is probed in {@link ClusterScriptsIT}.
 */
class PgrelayHealthcheckTest {

    /** Runs the health check script with the given environment. */
    static Scripts.Result probe(Map<String, String> env) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(
                Scripts.repoRoot().resolve("docker/pgrelay/pgrelay-healthcheck").toString()).redirectErrorStream(true);
        Map<String, String> e = pb.environment();
        e.clear();
        e.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        e.putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("pgrelay-healthcheck hung: " + out);
        }
        return new Scripts.Result(p.exitValue(), out);
    }

    /** A listener that reads the 8-byte SSLRequest and answers {@code reply} (or nothing, when null). */
    private static final class Fake implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 10, InetAddress.getByName("127.0.0.1"));
        final List<byte[]> requests = new ArrayList<>();
        final Thread thread;

        Fake(Integer reply) throws IOException {
            thread = new Thread(() -> {
                while (!server.isClosed()) {
                    try (Socket s = server.accept()) {
                        InputStream in = s.getInputStream();
                        byte[] req = in.readNBytes(8);
                        synchronized (requests) {
                            requests.add(req);
                        }
                        if (reply != null) {
                            OutputStream out = s.getOutputStream();
                            out.write(reply);
                            out.flush();
                        } else {
                            in.read();   // silent until the prober goes away
                        }
                    } catch (IOException e) {
                        // closed
                    }
                }
            }, "fake-pgrelay");
            thread.setDaemon(true);
            thread.start();
        }

        Map<String, String> env() {
            Map<String, String> env = new HashMap<>();
            env.put("PGRELAY_HEALTH_PORT", Integer.toString(server.getLocalPort()));
            env.put("PGRELAY_HEALTH_TIMEOUT", "1");
            return env;
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    @Test
    void healthyWhenTheSslRequestIsAnsweredNorS() throws Exception {
        for (char answer : new char[] {'N', 'S'}) {
            try (Fake fake = new Fake((int) answer)) {
                Scripts.Result r = probe(fake.env());
                assertThat(r.exitCode()).as(r.toString()).isZero();
                synchronized (fake.requests) {
                    // length 8, SSLRequest code 80877103
                    assertThat(fake.requests.get(0)).containsExactly(0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f);
                }
            }
        }
    }

    @Test
    void unhealthyWhenNothingListens() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            port = s.getLocalPort();
        }
        Scripts.Result r = probe(Map.of("PGRELAY_HEALTH_PORT", Integer.toString(port)));
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.output()).contains("nothing accepts connections on 127.0.0.1:" + port);
    }

    @Test
    void unhealthyWhenTheListenerDoesNotAnswer() throws Exception {
        try (Fake fake = new Fake(null)) {
            long t0 = System.nanoTime();
            Scripts.Result r = probe(fake.env());
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.output()).contains("no answer to an SSLRequest on 127.0.0.1:" + fake.server.getLocalPort()
                    + " within 1 s");
            assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(10_000);
        }
    }

    @Test
    void unhealthyWhenSomethingElseAnswers() throws Exception {
        try (Fake fake = new Fake((int) 'E')) {
            Scripts.Result r = probe(fake.env());
            assertThat(r.exitCode()).isEqualTo(1);
            assertThat(r.output()).contains("answered an SSLRequest with \"E\", not N or S");
        }
    }
}
