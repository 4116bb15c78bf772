package io.pgrelay.proxy.prepared;

import java.util.Iterator;
import java.util.LinkedHashMap;

/**
 * The pgrelay statements prepared on one server connection, least recently used first, bounded so a long-lived
 * connection does not accumulate every statement ever seen. Touched only by the session holding the connection.
 */
public final class ServerStatements {
    private final int capacity;
    private final LinkedHashMap<String, Boolean> names;

    public ServerStatements(int capacity) {
        this.capacity = capacity;
        this.names = new LinkedHashMap<>(16, 0.75f, true);
    }

    /** Whether the statement is prepared here (and marks it used). */
    public boolean contains(String name) {
        return names.get(name) != null;
    }

    /** Records a statement as prepared; returns the name to Close on the server to stay within capacity, or null. */
    public String add(String name) {
        names.put(name, Boolean.TRUE);
        if (names.size() > capacity) {
            Iterator<String> eldest = names.keySet().iterator();
            String evicted = eldest.next();
            eldest.remove();
            return evicted;
        }
        return null;
    }

    /** A Parse of it failed or never ran. */
    public void remove(String name) {
        names.remove(name);
    }

    /** DISCARD ALL or DEALLOCATE ALL ran on the server. */
    public void clear() {
        names.clear();
    }

    public int size() {
        return names.size();
    }
}
