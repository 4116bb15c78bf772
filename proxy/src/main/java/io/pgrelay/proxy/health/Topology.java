package io.pgrelay.proxy.health;

import io.pgrelay.proxy.health.RoleDecider.Role;

import java.util.HashMap;
import java.util.Map;

/**
 * The roles the health checks decided, as one immutable snapshot that routing reads on every unit: a volatile read
 * and, when nothing changed, a version comparison (see PoolGroup's cached view). Servers not in the snapshot are
 * {@link Role#UNKNOWN}: their config role holds.
 */
public final class Topology {
    /** Roles by address ({@code host:port}); {@code version} grows with every change. */
    public record Snapshot(long version, Map<String, Role> roles) {
        public Role role(String address) {
            Role r = roles.get(address);
            return r == null ? Role.UNKNOWN : r;
        }
    }

    private volatile Snapshot snapshot = new Snapshot(0, Map.of());

    public Snapshot snapshot() {
        return snapshot;
    }

    /** Publishes the roles of some servers (others keep theirs); a no-op when nothing differs. Single writer. */
    void publish(Map<String, Role> roles) {
        Snapshot old = snapshot;
        Map<String, Role> next = new HashMap<>(old.roles());
        next.putAll(roles);
        if (!next.equals(old.roles())) {
            snapshot = new Snapshot(old.version() + 1, Map.copyOf(next));
        }
    }
}
