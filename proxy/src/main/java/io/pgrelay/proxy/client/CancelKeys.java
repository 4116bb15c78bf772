package io.pgrelay.proxy.client;

import io.pgrelay.protocol.message.BackendKeyData;

import java.security.SecureRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * pgrelay's own cancel keys: every client gets a random (process id, secret) pair from a SecureRandom, unrelated to
 * any server's key, so a key seen by one client can never cancel another client's query, and keys cannot be
 * predicted from keys seen. A request whose key does not match changes nothing and gets no answer.
 */
public final class CancelKeys {
    private final SecureRandom random = new SecureRandom();
    private final ConcurrentHashMap<Integer, Entry> byProcessId = new ConcurrentHashMap<>();

    private record Entry(int secret, ClientSession session) {
    }

    /** A fresh key for {@code session}; process ids are positive and unique among live sessions. */
    public BackendKeyData register(ClientSession session) {
        while (true) {
            int pid = random.nextInt(Integer.MAX_VALUE - 1) + 1;
            int secret = random.nextInt();
            if (byProcessId.putIfAbsent(pid, new Entry(secret, session)) == null) {
                return new BackendKeyData(pid, secret);
            }
        }
    }

    public void unregister(BackendKeyData key) {
        byProcessId.computeIfPresent(key.processId(), (k, e) -> e.secret() == key.secretKey() ? null : e);
    }

    /** The session owning this key, or null when the pair does not match a live session. */
    public ClientSession lookup(int processId, int secret) {
        Entry e = byProcessId.get(processId);
        // One comparison of the whole secret, also for an unknown id (against a value it cannot equal), so the time
        // taken does not tell how many bytes of a guess were right. A 4-byte int compare has no early exit.
        int expected = e == null ? ~secret : e.secret();
        return (expected ^ secret) == 0 && e != null ? e.session() : null;
    }

    /** The logged-in sessions (SHOW CLIENTS, KILL_CLIENT). */
    public java.util.List<ClientSession> sessions() {
        java.util.List<ClientSession> out = new java.util.ArrayList<>(byProcessId.size());
        for (Entry e : byProcessId.values()) {
            out.add(e.session());
        }
        return out;
    }

    public int size() {
        return byProcessId.size();
    }
}
