package io.pgrelay.proxy.admin;

import io.pgrelay.config.ConfigException;
import io.pgrelay.config.ConfigLoader;
import io.pgrelay.config.General;
import io.pgrelay.config.PgRelayConfig;
import io.pgrelay.config.PoolConfig;
import io.pgrelay.config.PoolMode;
import io.pgrelay.config.Role;
import io.pgrelay.config.ServerConfig;
import io.pgrelay.config.UserConfig;
import io.pgrelay.proxy.PgRelayServer;
import io.pgrelay.proxy.client.UserSecrets;
import io.pgrelay.proxy.pool.Pool;
import io.pgrelay.proxy.pool.PoolKey;
import io.pgrelay.proxy.route.PoolGroup;
import io.pgrelay.proxy.server.ServerTarget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * RELOAD and SIGHUP: re-read the config file and apply it live. A file that does not validate changes nothing.
 * A valid one: users and pools added or removed, pool sizes and timeouts changed in place, servers added or
 * removed (pools on a removed server drain: idle connections close now, busy ones when their client gives them
 * back), new passwords for new logins, TLS certificates re-read. Listen address and port, the metrics endpoint and
 * TLS modes need a restart: such changes are reported and not applied.
 */
public final class Reloader {
    private static final Logger log = LoggerFactory.getLogger(Reloader.class);
    private static final String RESET_QUERY = "DISCARD ALL";
    private static final int STATEMENT_CACHE_SIZE = 200;

    /** What a reload did: {@code error} set when nothing was applied; notes say what changed or needs a restart. */
    public record Outcome(String error, List<String> notes) {
        public boolean ok() {
            return error == null;
        }
    }

    private final AdminConsole console;

    Reloader(AdminConsole console) {
        this.console = console;
    }

    /** Re-reads the file the running config came from. */
    synchronized Outcome reloadFile() {
        PgRelayServer server = console.server();
        Path file = Path.of(server.config().source());
        PgRelayConfig next;
        try {
            next = ConfigLoader.load(file);
        } catch (ConfigException e) {
            String msg = "config file " + file + " is not valid; nothing changed:\n" + e.getMessage();
            log.warn("reload: config file {} is not valid, keeping the running config: {}", file,
                    e.getMessage().replace('\n', ';'));
            return new Outcome(msg, List.of());
        } catch (RuntimeException e) {
            log.warn("reload: could not read {}: {}; keeping the running config", file, e.toString());
            return new Outcome("could not read " + file + ": " + e.getMessage() + "; nothing changed", List.of());
        }
        for (String w : next.warnings()) {
            log.info("reload: warning: {}", w);
        }
        return apply(next);
    }

    /** Applies a validated config (RELOAD, or SET with one setting changed). */
    synchronized Outcome apply(PgRelayConfig next) {
        PgRelayServer server = console.server();
        PgRelayConfig current = server.config();
        List<String> notes = new ArrayList<>();
        UserSecrets secrets;
        Map<String, UserSecrets.Secrets> admin;
        try {
            for (PoolConfig p : next.pools().values()) {
                primaryOf(p);
            }
            secrets = UserSecrets.derive(next);
            admin = AdminConsole.deriveAdmin(next.general());
        } catch (Exception e) {
            log.warn("reload: {}; keeping the running config", e.getMessage());
            return new Outcome("config not applied: " + e.getMessage(), List.of());
        }
        General was = current.general();
        General now = next.general();
        List<String> restart = new ArrayList<>();
        if (!was.host().equals(now.host()) || was.port() != now.port()) {
            restart.add("listen address " + was.host() + ":" + was.port() + " -> " + now.host() + ":" + now.port());
        }
        if (was.enablePrometheusExporter() != now.enablePrometheusExporter()
                || was.prometheusExporterPort() != now.prometheusExporterPort()) {
            restart.add("metrics endpoint (enable_prometheus_exporter, prometheus_exporter_port)");
        }
        if (current.workerThreads() != next.workerThreads()) {
            restart.add("worker_threads " + current.workerThreads() + " -> " + next.workerThreads());
        }
        if (!Objects.equals(current.security(), next.security())) {
            restart.add("TLS / GSSAPI settings (certificate files are re-read; modes and paths need a restart)");
        }
        // Keep what needs a restart as it runs, so SHOW CONFIG tells the truth.
        General applied = new General(was.host(), was.port(), now.adminUsername(), now.adminPassword(),
                now.connectTimeout(), now.idleTimeout(), now.serverLifetime(), now.queryWaitTimeout(),
                now.maxClientConn(), now.authType(), now.clientLoginTimeout(), now.idleClientInTransactionTimeout(),
                now.maxPacketSize(), now.statsUsers(), was.enablePrometheusExporter(), was.prometheusExporterPort(),
                now.shutdownTimeout());
        PgRelayConfig effective = new PgRelayConfig(next.source(), applied, next.pools(), next.warnings(),
                current.security(), next.health(), next.limits(), current.workerThreads());

        Map<PoolKey, PoolGroup> groups = new LinkedHashMap<>();
        Set<Pool> kept = Collections.newSetFromMap(new IdentityHashMap<>());
        for (PoolConfig p : effective.pools().values()) {
            for (UserConfig u : p.users().values()) {
                PoolKey key = new PoolKey(p.name(), u.username());
                PoolGroup old = server.group(p.name(), u.username());
                PoolGroup group = build(server, effective, p, u, key, old, kept);
                groups.put(key, group);
                if (old == null) {
                    notes.add("pool " + key + " added");
                }
            }
        }
        List<Pool> drained = new ArrayList<>();
        for (Pool p : server.allPools()) {
            if (!kept.contains(p)) {
                drained.add(p);
            }
        }
        for (Map.Entry<PoolKey, PoolGroup> e : server.groups().entrySet()) {
            if (!groups.containsKey(e.getKey())) {
                notes.add("pool " + e.getKey() + " removed");
            }
        }
        console.applyPauseTo(groups);
        server.apply(effective, secrets, groups);
        console.adminSecrets(admin);
        console.registerMeters(effective);
        server.watch(effective, groups.values()); // new servers probed, removed ones dropped, health settings applied
        for (Pool p : drained) {
            p.close(); // idle connections close now, busy ones when their client gives them back
            notes.add("connections to " + p.target().address() + " of pool " + p.key() + " drained");
        }
        try {
            server.reloadTls();
        } catch (Exception e) {
            notes.add("TLS certificates not reloaded (the old ones stay in use): " + e.getMessage());
            log.warn("reload: TLS certificates not reloaded, keeping the old ones: {}", e.getMessage());
        }
        for (String r : restart) {
            notes.add("needs a restart, not applied: " + r);
        }
        log.info("reload: config {} applied ({} pools){}", next.source(), groups.size(),
                notes.isEmpty() ? "" : "; " + String.join("; ", notes));
        return new Outcome(null, notes);
    }

    /** The group of (pool, user) for a first start: every pool new. */
    public static PoolGroup build(PgRelayServer server, PgRelayConfig config, PoolConfig p, UserConfig u) {
        return build(server, config, p, u, new PoolKey(p.name(), u.username()), null, new HashSet<>());
    }

    /** The group of (pool, user): existing pools on the same servers are kept and reconfigured, others made. */
    private static PoolGroup build(PgRelayServer server, PgRelayConfig config, PoolConfig p, UserConfig u, PoolKey key,
                                   PoolGroup old, Set<Pool> kept) {
        Pool.PoolSettings settings = settings(config, u);
        Pool primary = null;
        List<Pool> standbys = new ArrayList<>();
        for (ServerConfig s : p.shards().get(0).servers()) {
            ServerTarget target = target(config, p, u, s);
            Pool pool = find(old, s, u.poolMode(), kept);
            if (pool != null) {
                pool.reconfigure(target, settings);
            } else {
                pool = new Pool(key, target, server.connector(), settings);
            }
            kept.add(pool);
            if (s.role() == Role.PRIMARY) {
                primary = pool;
            } else {
                standbys.add(pool);
            }
        }
        if (old != null && old.configuredPrimary() == primary && old.standbys().equals(standbys)
                && old.routing().equals(p.routing())) {
            // Same pools, same routing: sessions holding the group go on unchanged; what pg_proc said is asked anew.
            old.catalog().clear();
            old.classifier().clearCache();
            return old;
        }
        return new PoolGroup(key, primary, standbys, p.routing(), server.topology());
    }

    private static Pool find(PoolGroup old, ServerConfig s, PoolMode mode, Set<Pool> kept) {
        if (old == null) {
            return null;
        }
        for (Pool p : old.all()) {
            ServerTarget t = p.target();
            if (!kept.contains(p) && t.host().equalsIgnoreCase(s.host()) && t.port() == s.port()
                    && p.settings().transactionMode() == (mode == PoolMode.TRANSACTION)) {
                return p;
            }
        }
        return null;
    }

    static Pool.PoolSettings settings(PgRelayConfig config, UserConfig user) {
        boolean transaction = user.poolMode() == PoolMode.TRANSACTION;
        General g = config.general();
        return new Pool.PoolSettings(user.poolSize(), g.queryWaitTimeout(), g.idleTimeout(), g.serverLifetime(),
                transaction ? null : RESET_QUERY, transaction, user.minPoolSize(),
                g.idleClientInTransactionTimeout());
    }

    static ServerTarget target(PgRelayConfig config, PoolConfig pool, UserConfig user, ServerConfig server) {
        return new ServerTarget(server.host(), server.port(), pool.shards().get(0).database(),
                user.serverUsername(), user.serverPassword(), config.general().connectTimeout(),
                STATEMENT_CACHE_SIZE, server.weight());
    }

    private static ServerConfig primaryOf(PoolConfig pool) {
        return pool.shards().get(0).servers().stream().filter(s -> s.role() == Role.PRIMARY).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("pool " + pool.name() + " has no primary"));
    }
}
