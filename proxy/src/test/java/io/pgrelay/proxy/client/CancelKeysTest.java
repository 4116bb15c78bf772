package io.pgrelay.proxy.client;

import io.pgrelay.protocol.message.BackendKeyData;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class CancelKeysTest {

    @Test
    void onlyTheExactPairFindsTheSession() {
        CancelKeys keys = new CancelKeys();
        ClientSessionStub owner = new ClientSessionStub();
        BackendKeyData k = keys.register(owner.session);
        assertThat(keys.size()).isEqualTo(1);
        assertThat(keys.lookup(k.processId(), k.secretKey())).isSameAs(owner.session);
        for (int bit = 0; bit < 32; bit++) {
            assertThat(keys.lookup(k.processId(), k.secretKey() ^ (1 << bit))).isNull();
        }
        assertThat(keys.lookup(k.processId() ^ 1, k.secretKey())).isNull();
        assertThat(keys.lookup(0, 0)).isNull();
    }

    @Test
    void aWrongSecretDoesNotUnregister() {
        CancelKeys keys = new CancelKeys();
        ClientSessionStub owner = new ClientSessionStub();
        BackendKeyData k = keys.register(owner.session);
        keys.unregister(new BackendKeyData(k.processId(), k.secretKey() + 1));
        assertThat(keys.lookup(k.processId(), k.secretKey())).isSameAs(owner.session);
        keys.unregister(k);
        assertThat(keys.lookup(k.processId(), k.secretKey())).isNull();
        assertThat(keys.size()).isZero();
    }

    @Test
    void keysAreRandomAndPositive() {
        CancelKeys keys = new CancelKeys();
        Set<Integer> pids = new HashSet<>();
        Set<Integer> secrets = new HashSet<>();
        for (int i = 0; i < 1000; i++) {
            BackendKeyData k = keys.register(new ClientSessionStub().session);
            assertThat(k.processId()).isPositive();
            pids.add(k.processId());
            secrets.add(k.secretKey());
        }
        assertThat(pids).hasSize(1000);
        assertThat(secrets).hasSizeGreaterThan(990); // 32 random bits: a collision or two at most
    }

    /** A real session object (never started): CancelKeys only stores and returns it. */
    private static final class ClientSessionStub {
        final ClientSession session = new ClientSession(null);
    }
}
