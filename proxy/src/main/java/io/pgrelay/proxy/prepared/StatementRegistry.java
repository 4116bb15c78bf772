package io.pgrelay.proxy.prepared;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One server-side name per distinct statement: the same text and parameter types get the same {@code pgrelay_N}
 * name on every server connection, so a statement prepared once on a connection serves every client that uses it.
 * Client statement names never reach a server, so two clients may use one name for different texts.
 */
public final class StatementRegistry {
    private final ConcurrentHashMap<Key, String> names = new ConcurrentHashMap<>();
    private final AtomicLong ids = new AtomicLong();

    /** The Parse body after the statement name: query text, parameter count and types. */
    private static final class Key {
        final byte[] definition;
        final int hash;

        Key(byte[] definition) {
            this.definition = definition;
            this.hash = Arrays.hashCode(definition);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.hash == hash && Arrays.equals(k.definition, definition);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** The server-side name for a statement definition (the bytes of a Parse body after its name). */
    public String nameFor(byte[] definition) {
        return names.computeIfAbsent(new Key(definition), k -> "pgrelay_" + Long.toHexString(ids.incrementAndGet()));
    }

    public int size() {
        return names.size();
    }
}
