package io.pgrelay.bench;

import io.pgrelay.protocol.auth.AuthException;
import io.pgrelay.protocol.auth.ScramClient;
import io.pgrelay.protocol.auth.ScramSecret;
import io.pgrelay.protocol.auth.ScramServer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * The server's share of a SCRAM-SHA-256 login (both rounds: nonce, proof check, server signature) against a stored
 * verifier with PostgreSQL's 4096 iterations. The client's PBKDF2 is done once in setup: a random source that always
 * gives the same bytes makes every server nonce equal, so one client-final message verifies every time.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class ScramBenchmark {
    private ScramSecret secret;
    private SecureRandom fixed;
    private byte[] clientFirst;
    private byte[] clientFinal;

    /** Not random at all: only for a repeatable benchmark. */
    private static final class FixedRandom extends SecureRandom {
        private static final long serialVersionUID = 1L;

        @Override
        public void nextBytes(byte[] bytes) {
            Arrays.fill(bytes, (byte) 42);
        }
    }

    @Setup
    public void setUp() throws AuthException {
        fixed = new FixedRandom();
        secret = ScramSecret.fromPassword("correct horse battery staple", new byte[16], 4096);
        ScramClient client = new ScramClient("correct horse battery staple", fixed);
        clientFirst = client.clientFirstMessage();
        ScramServer server = new ScramServer(secret, fixed);
        clientFinal = client.handleServerFirst(server.handleClientFirst(clientFirst));
        client.verifyServerFinal(server.handleClientFinal(clientFinal));
    }

    @Benchmark
    public byte[] serverVerification() throws AuthException {
        ScramServer server = new ScramServer(secret, fixed);
        server.handleClientFirst(clientFirst);
        return server.handleClientFinal(clientFinal);
    }

    @Benchmark
    public byte[] secretFromPassword() {
        return ScramSecret.fromPassword("correct horse battery staple", new byte[16], 4096).storedKey();
    }
}
