package io.pgrelay.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Turns a parsed TOML tree into a {@link PgRelayConfig}. Every check records its problem and carries on, so one run
 * reports everything; each {@code read*} method returns null when its part had a problem (the result is then thrown
 * away with a {@link ConfigException}).
 */
final class ConfigReader extends TomlFields {
    /** general.auth_type; null when invalid, and then checks that depend on it are skipped. */
    private AuthType defaultAuthType = AuthType.SCRAM_SHA_256;
    /** The TLS/GSS settings; null when they had a problem (then checks that depend on them are skipped). */
    private SecurityConfig security = SecurityConfig.NONE;
    /** Per-pool and per-user client limits, gathered while the pools are read. */
    private final Map<String, Integer> dbLimits = new HashMap<>();
    private final Map<String, Integer> userLimits = new HashMap<>();
    /** The pool whose users are being read. */
    private String poolName;

    ConfigReader(String source, LineIndex index) {
        super(source, index);
    }

    PgRelayConfig read(ObjectNode top) throws ConfigException {
        checkKeys(top, KeyPath.ROOT, ConfigKeys.TOP, ConfigKeys.TOP_PGCAT);
        KeyPath generalPath = KeyPath.of("general");
        JsonNode generalNode = top.get("general");
        ObjectNode generalTable = generalNode == null ? top.objectNode() : table(generalNode, generalPath);
        General general = generalTable == null ? null : readGeneral(generalTable, generalPath);
        if (generalTable == null) {
            defaultAuthType = null;
        }
        security = generalTable == null ? null : readSecurity(generalTable, generalPath);
        HealthConfig health = generalTable == null ? null : readHealth(generalTable, generalPath);
        Map<String, PoolConfig> pools = readPools(top.get("pools"), KeyPath.of("pools"));
        LimitsConfig limits = generalTable == null ? null : readLimits(generalTable, generalPath);
        Long workerThreads = generalTable == null ? Long.valueOf(0)
                : integer(generalTable, generalPath, "worker_threads", 0, 0, 1024);
        if (!problems.isEmpty()) {
            throw new ConfigException(inLineOrder(problems));
        }
        List<String> warningTexts = inLineOrder(warnings).stream()
                .map(w -> w.keyPath() + ": " + w.message())
                .toList();
        return new PgRelayConfig(source, general, pools, warningTexts, security, health, limits,
                workerThreads.intValue());
    }

    /** tls_*, server_tls_* and gss_* of [general], with pgcat's tls_certificate / server_tls spellings. */
    private SecurityConfig readSecurity(ObjectNode g, KeyPath p) {
        int before = problems.size();
        String cert = readableFile(g, p, "tls_certificate");
        String key = readableFile(g, p, "tls_private_key");
        String ca = readableFile(g, p, "tls_ca_file");
        if (g.has("tls_certificate") != g.has("tls_private_key")) {
            problem(p.child(g.has("tls_certificate") ? "tls_private_key" : "tls_certificate"),
                    "tls_certificate and tls_private_key go together: set both or neither");
        }
        // pgcat turns TLS on by setting the certificate: then "prefer", as pgcat does.
        SecurityConfig.TlsMode defaultMode = g.has("tls_certificate") ? SecurityConfig.TlsMode.PREFER
                : SecurityConfig.TlsMode.DISABLE;
        SecurityConfig.TlsMode mode = choice(g, p, "tls_mode", SecurityConfig.TlsMode.values(),
                SecurityConfig.TlsMode::configName, defaultMode);
        if (mode != null && mode != SecurityConfig.TlsMode.DISABLE
                && (!g.has("tls_certificate") || !g.has("tls_private_key"))) {
            problem(p.child("tls_mode"), "tls_mode " + quote(mode.configName())
                    + " needs tls_certificate and tls_private_key");
        }
        if (g.has("tls_ca_file") && mode == SecurityConfig.TlsMode.DISABLE) {
            problem(p.child("tls_ca_file"), "client certificates need TLS: set tls_certificate and tls_private_key");
        }
        // pgcat: server_tls = true (TLS required), verify_server_certificate = true (and the certificate checked).
        Boolean pgcatServerTls = bool(g, p, "server_tls", false);
        Boolean pgcatVerify = bool(g, p, "verify_server_certificate", false);
        SecurityConfig.ServerTlsMode defaultServerMode = Boolean.TRUE.equals(pgcatServerTls)
                ? (Boolean.TRUE.equals(pgcatVerify) ? SecurityConfig.ServerTlsMode.VERIFY_FULL
                : SecurityConfig.ServerTlsMode.REQUIRE)
                : SecurityConfig.ServerTlsMode.DISABLE;
        SecurityConfig.ServerTlsMode serverMode = choice(g, p, "server_tls_mode",
                SecurityConfig.ServerTlsMode.values(), SecurityConfig.ServerTlsMode::configName, defaultServerMode);
        String serverCa = readableFile(g, p, "server_tls_ca_file");
        String keytab = readableFile(g, p, "gss_keytab");
        String principal = nonEmptyString(g, p, "gss_principal", null);
        if (g.has("gss_keytab") != g.has("gss_principal")) {
            problem(p.child(g.has("gss_keytab") ? "gss_principal" : "gss_keytab"),
                    "gss_keytab and gss_principal go together: set both or neither");
        }
        Boolean includeRealm = bool(g, p, "gss_include_realm", false);
        if (problems.size() > before) {
            return null;
        }
        return new SecurityConfig(mode, cert, key, ca, serverMode, serverCa, keytab, principal, includeRealm);
    }

    /** healthcheck_*, ban_*, failover_timeout, auto_promote and promote_after of [general]. */
    private HealthConfig readHealth(ObjectNode g, KeyPath p) {
        int before = problems.size();
        HealthConfig d = HealthConfig.DEFAULTS;
        Duration interval = duration(g, p, "healthcheck_interval", d.healthcheckInterval().toMillis());
        if (interval != null && interval.toMillis() < 10) {
            problem(p.child("healthcheck_interval"), "must be at least 10 ms");
        }
        Duration timeout = duration(g, p, "healthcheck_timeout", d.healthcheckTimeout().toMillis());
        if (timeout != null && timeout.isZero()) {
            problem(p.child("healthcheck_timeout"), "must be more than 0 ms");
        }
        Long banAfter = integer(g, p, "ban_after_failures", d.banAfterFailures(), 1, 1000);
        Long banSeconds = integer(g, p, "ban_time", d.banTime().toSeconds(), 0, 86_400); // seconds, as in pgcat
        Duration failoverTimeout = duration(g, p, "failover_timeout", d.failoverTimeout().toMillis());
        Boolean autoPromote = bool(g, p, "auto_promote", d.autoPromote());
        Duration promoteAfter = duration(g, p, "promote_after", d.promoteAfter().toMillis());
        if (problems.size() > before) {
            return null;
        }
        return new HealthConfig(interval, timeout, banAfter.intValue(), Duration.ofSeconds(banSeconds),
                failoverTimeout, autoPromote, promoteAfter);
    }

    /** max_user_client_connections, max_db_client_connections, max_client_prepared_statements; 0: no limit. */
    private LimitsConfig readLimits(ObjectNode g, KeyPath p) {
        int before = problems.size();
        LimitsConfig d = LimitsConfig.DEFAULTS;
        Long perUser = integer(g, p, "max_user_client_connections", d.maxUserClientConnections(), 0, MAX_INT);
        Long perDb = integer(g, p, "max_db_client_connections", d.maxDbClientConnections(), 0, MAX_INT);
        Long prepared = integer(g, p, "max_client_prepared_statements", d.maxClientPreparedStatements(), 0,
                MAX_INT);
        if (problems.size() > before) {
            return null;
        }
        return new LimitsConfig(perUser.intValue(), perDb.intValue(), prepared.intValue(), dbLimits, userLimits);
    }

    private General readGeneral(ObjectNode g, KeyPath p) {
        int before = problems.size();
        checkKeys(g, p, ConfigKeys.GENERAL, ConfigKeys.GENERAL_PGCAT);
        String host = nonEmptyString(g, p, "host", "0.0.0.0");
        Long port = integer(g, p, "port", 6432, 1, 65535);
        String adminUsername = nonEmptyString(g, p, "admin_username", null);
        String adminPassword = nonEmptyString(g, p, "admin_password", null);
        if (g.has("admin_username") && !g.has("admin_password")) {
            problem(p.child("admin_password"), "required when admin_username is set");
        }
        if (g.has("admin_password") && !g.has("admin_username")) {
            problem(p.child("admin_username"), "required when admin_password is set");
        }
        Duration connectTimeout = duration(g, p, "connect_timeout", 5_000);
        Duration idleTimeout = duration(g, p, "idle_timeout", 600_000);
        Duration serverLifetime = duration(g, p, "server_lifetime", 3_600_000);
        Duration queryWaitTimeout = duration(g, p, "query_wait_timeout", 120_000);
        Long maxClientConn = integer(g, p, "max_client_conn", 1000, 1, MAX_INT);
        Duration clientLoginTimeout = duration(g, p, "client_login_timeout", 60_000);
        Duration idleInTransaction = duration(g, p, "idle_client_in_transaction_timeout", 0);
        Long maxPacketSize = integer(g, p, "max_packet_size", General.DEFAULT_MAX_PACKET_SIZE, 64,
                General.DEFAULT_MAX_PACKET_SIZE);
        defaultAuthType = choice(g, p, "auth_type", AuthType.values(), AuthType::configName, AuthType.SCRAM_SHA_256);
        List<String> statsUsers = stringList(g, p, "stats_users");
        Boolean prometheus = bool(g, p, "enable_prometheus_exporter", false);
        Long prometheusPort = integer(g, p, "prometheus_exporter_port", General.DEFAULT_PROMETHEUS_EXPORTER_PORT, 1,
                65535);
        if (prometheus != null && prometheus && prometheusPort != null && port != null
                && prometheusPort.longValue() == port.longValue()) {
            problem(p.child("prometheus_exporter_port"), "must differ from port (" + port + ")");
        }
        Duration shutdownTimeout = duration(g, p, "shutdown_timeout", General.DEFAULT_SHUTDOWN_TIMEOUT.toMillis());
        if (problems.size() > before) {
            return null;
        }
        return new General(host, port.intValue(), adminUsername, adminPassword, connectTimeout, idleTimeout,
                serverLifetime, queryWaitTimeout, maxClientConn.intValue(), defaultAuthType, clientLoginTimeout,
                idleInTransaction, maxPacketSize.intValue(), statsUsers, prometheus, prometheusPort.intValue(),
                shutdownTimeout);
    }

    private Map<String, PoolConfig> readPools(JsonNode node, KeyPath p) {
        Map<String, PoolConfig> pools = new LinkedHashMap<>();
        ObjectNode t = node == null ? null : table(node, p);
        if (node == null || t != null && t.isEmpty()) {
            problem(p, "no pools configured (add a [pools.<database>] table)");
        }
        if (t == null) {
            return pools;
        }
        for (Map.Entry<String, JsonNode> e : t.properties()) {
            KeyPath poolPath = p.child(e.getKey());
            if (e.getKey().isBlank()) {
                problem(poolPath, "the database name must not be empty");
            }
            ObjectNode poolTable = table(e.getValue(), poolPath);
            PoolConfig pool = poolTable == null ? null : readPool(e.getKey(), poolTable, poolPath);
            if (pool != null) {
                pools.put(e.getKey(), pool);
            }
        }
        return pools;
    }

    private PoolConfig readPool(String name, ObjectNode t, KeyPath p) {
        int before = problems.size();
        checkKeys(t, p, ConfigKeys.POOL, ConfigKeys.POOL_PGCAT);
        PoolMode mode = choice(t, p, "pool_mode", PoolMode.values(), PoolMode::configName, PoolMode.TRANSACTION);
        poolName = name;
        Map<String, UserConfig> users = readUsers(t.get("users"), p.child("users"), mode);
        ShardConfig shard = readShards(t.get("shards"), p.child("shards"));
        Routing routing = readRouting(t, p);
        if (t.has("max_db_client_connections")) {
            Long limit = integer(t, p, "max_db_client_connections", 0, 0, MAX_INT);
            if (limit != null) {
                dbLimits.put(name, limit.intValue());
            }
        }
        if (problems.size() > before || mode == null || users == null || shard == null || routing == null) {
            return null;
        }
        return new PoolConfig(name, mode, users, List.of(shard), routing);
    }

    /** The pool's routing keys, pgcat's names; absent keys take {@link Routing#defaults()}. */
    private Routing readRouting(ObjectNode t, KeyPath p) {
        Routing d = Routing.defaults();
        Boolean parser = bool(t, p, "query_parser_enabled", d.queryParserEnabled());
        Boolean split = bool(t, p, "query_parser_read_write_splitting", d.readWriteSplitting());
        Boolean primaryReads = bool(t, p, "primary_reads_enabled", d.primaryReadsEnabled());
        Routing.DefaultRole role = choice(t, p, "default_role", Routing.DefaultRole.values(),
                Routing.DefaultRole::configName, d.defaultRole());
        Routing.LoadBalancingMode lb = choice(t, p, "load_balancing_mode", Routing.LoadBalancingMode.values(),
                Routing.LoadBalancingMode::configName, d.loadBalancingMode());
        Routing.ReadYourWrites ryw = choice(t, p, "read_your_writes", Routing.ReadYourWrites.values(),
                Routing.ReadYourWrites::configName, d.readYourWrites());
        Duration window = duration(t, p, "read_your_writes_window_ms", d.readYourWritesWindow().toMillis());
        Long lagBytes = integer(t, p, "max_replica_lag_bytes", 0, 0, Long.MAX_VALUE);
        Duration lag = duration(t, p, "max_replica_lag_ms", 0);
        List<String> writers = regexes(t, p, "write_functions");
        List<String> readers = regexes(t, p, "read_only_functions");
        if (parser == null || split == null || primaryReads == null || role == null || lb == null || ryw == null
                || window == null || lagBytes == null || lag == null || writers == null || readers == null) {
            return null;
        }
        return new Routing(parser, split, primaryReads, role, lb, ryw, window, lagBytes, lag, writers, readers);
    }

    /** A list of regular expressions, each checked to compile (a bad one names itself and the error). */
    private List<String> regexes(ObjectNode t, KeyPath p, String key) {
        List<String> list = stringList(t, p, key);
        if (list == null) {
            return null;
        }
        for (String r : list) {
            try {
                java.util.regex.Pattern.compile(r);
            } catch (java.util.regex.PatternSyntaxException e) {
                problem(p.child(key), "\"" + r + "\" is not a valid regular expression: " + e.getDescription());
                return null;
            }
        }
        return list;
    }

    private Map<String, UserConfig> readUsers(JsonNode node, KeyPath p, PoolMode poolMode) {
        ObjectNode t = requiredTable(node, p, "must define at least one user");
        if (t == null) {
            return null;
        }
        int before = problems.size();
        Map<String, UserConfig> users = new LinkedHashMap<>();
        Map<String, KeyPath> seen = new HashMap<>();
        for (Map.Entry<String, JsonNode> e : t.properties()) {
            KeyPath userPath = p.child(e.getKey());
            ObjectNode userTable = table(e.getValue(), userPath);
            if (userTable == null) {
                continue;
            }
            JsonNode username = userTable.get("username");
            if (username != null && username.isTextual()) {
                KeyPath first = seen.putIfAbsent(username.textValue(), userPath);
                if (first != null) {
                    problem(userPath.child("username"),
                            "duplicate user " + quote(username.textValue()) + " (already defined in " + first + ")");
                }
            }
            UserConfig user = readUser(userTable, userPath, poolMode);
            if (user != null) {
                users.put(user.username(), user);
            }
        }
        return problems.size() > before ? null : users;
    }

    private UserConfig readUser(ObjectNode t, KeyPath p, PoolMode poolMode) {
        int before = problems.size();
        checkKeys(t, p, ConfigKeys.USER, ConfigKeys.USER_PGCAT);
        String username = requiredString(t, p, "username");
        String password = nonEmptyString(t, p, "password", null);
        AuthType authType = choice(t, p, "auth_type", AuthType.values(), AuthType::configName, defaultAuthType);
        Long poolSize = integer(t, p, "pool_size", 10, 1, MAX_INT);
        Long minPoolSize = integer(t, p, "min_pool_size", 0, 0, MAX_INT);
        if (poolSize != null && minPoolSize != null && minPoolSize > poolSize) {
            problem(p.child("min_pool_size"), "must not be greater than pool_size (" + poolSize + ")");
        }
        PoolMode mode = choice(t, p, "pool_mode", PoolMode.values(), PoolMode::configName, poolMode);
        String serverUsername = nonEmptyString(t, p, "server_username", username);
        String serverPassword = nonEmptyString(t, p, "server_password", null);
        checkPasswords(t, p, username == null ? "this user" : "user " + quote(username), authType, password,
                serverPassword);
        List<String> identities = stringList(t, p, "client_identities");
        if (t.has("max_user_client_connections") && username != null) {
            Long limit = integer(t, p, "max_user_client_connections", 0, 0, MAX_INT);
            if (limit != null) {
                userLimits.put(LimitsConfig.userKey(poolName, username), limit.intValue());
            }
        }
        if (security != null && authType == AuthType.CERT && security.tlsCaFile() == null) {
            problem(p.child("auth_type"), "auth_type \"cert\" needs general.tls_ca_file (and TLS) to check client "
                    + "certificates");
        }
        if (security != null && authType == AuthType.GSS && !security.gss()) {
            problem(p.child("auth_type"), "auth_type \"gss\" needs general.gss_keytab and general.gss_principal");
        }
        if (problems.size() > before || authType == null || mode == null || identities == null) {
            return null;
        }
        String effectiveServerPassword = serverPassword != null ? serverPassword
                : password != null && Passwords.form(password) == Passwords.Form.PLAINTEXT ? password : null;
        return new UserConfig(username, password, authType, poolSize.intValue(), minPoolSize.intValue(), mode,
                serverUsername, effectiveServerPassword, identities);
    }

    /** The forms a password may take depend on how clients authenticate and how pgrelay logs in to PostgreSQL. */
    private void checkPasswords(ObjectNode t, KeyPath p, String user, AuthType auth, String password,
                                String serverPassword) {
        KeyPath passwordPath = p.child("password");
        boolean needsPassword = auth == AuthType.SCRAM_SHA_256 || auth == AuthType.MD5;
        if (!t.has("password") && needsPassword) {
            problem(passwordPath, MISSING + ": " + user + " has auth_type " + quote(auth.configName())
                    + "; only \"trust\", \"cert\" and \"gss\" allow no password");
        }
        Passwords.Form form = password == null ? null : Passwords.form(password);
        if (form == Passwords.Form.MALFORMED_SCRAM) {
            problem(passwordPath, user + " has a malformed SCRAM verifier (expected "
                    + "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)");
        } else if (form == Passwords.Form.MD5 && auth == AuthType.SCRAM_SHA_256) {
            problem(passwordPath, user + " has an MD5-hashed password, which cannot be used with auth_type "
                    + "\"scram-sha-256\" (a SCRAM exchange needs the plaintext or a SCRAM verifier); "
                    + "use auth_type \"md5\" or the plaintext password");
        } else if (form == Passwords.Form.SCRAM && auth == AuthType.MD5) {
            problem(passwordPath, user + " has a SCRAM verifier as password, which cannot be used with auth_type "
                    + "\"md5\" (MD5 needs the plaintext or an MD5 hash); "
                    + "use auth_type \"scram-sha-256\" or the plaintext password");
        }
        if ((form == Passwords.Form.MD5 || form == Passwords.Form.SCRAM) && !t.has("server_password")) {
            problem(p.child("server_password"), MISSING + ": " + user + " has "
                    + (form == Passwords.Form.MD5 ? "an MD5-hashed password" : "a SCRAM verifier as password")
                    + ", and pgrelay logs in to PostgreSQL with a plaintext password");
        }
        if (serverPassword != null && Passwords.form(serverPassword) != Passwords.Form.PLAINTEXT) {
            problem(p.child("server_password"), user + ": must be the plaintext password, not a hash "
                    + "(pgrelay logs in to PostgreSQL with it)");
        }
    }

    /** Sharding is not implemented: exactly one shard, named "0" as pgcat numbers them. */
    private ShardConfig readShards(JsonNode node, KeyPath p) {
        ObjectNode t = requiredTable(node, p, "must define shard \"0\"");
        if (t == null) {
            return null;
        }
        ShardConfig shard = null;
        for (Map.Entry<String, JsonNode> e : t.properties()) {
            KeyPath shardPath = p.child(e.getKey());
            if (!e.getKey().equals("0")) {
                problem(shardPath, "sharding is not supported; use a single shard \"0\"");
            }
            ObjectNode shardTable = table(e.getValue(), shardPath);
            ShardConfig read = shardTable == null ? null : readShard(shardTable, shardPath);
            if (e.getKey().equals("0")) {
                shard = read;
            }
        }
        return shard;
    }

    private ShardConfig readShard(ObjectNode t, KeyPath p) {
        int before = problems.size();
        checkKeys(t, p, ConfigKeys.SHARD, ConfigKeys.SHARD_PGCAT);
        String database = requiredString(t, p, "database");
        List<ServerConfig> servers = readServers(t.get("servers"), p.child("servers"));
        return problems.size() > before ? null : new ShardConfig(database, servers);
    }

    private List<ServerConfig> readServers(JsonNode node, KeyPath p) {
        if (node == null) {
            problem(p, MISSING);
            return null;
        }
        if (!node.isArray()) {
            problem(p, "expected an array of [host, port, role], got " + describe(node, false));
            return null;
        }
        if (node.isEmpty()) {
            problem(p, "must list at least one server");
            return null;
        }
        int before = problems.size();
        List<ServerConfig> servers = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        List<Integer> primaries = new ArrayList<>();
        boolean allRolesKnown = true;
        for (int i = 0; i < node.size(); i++) {
            ServerConfig server = readServer(node.get(i), p.child(i));
            JsonNode role = node.get(i).get(2);
            Role r = role == null ? null : findChoice(role, Role.values(), Role::configName);
            allRolesKnown &= r != null;
            if (r == Role.PRIMARY) {
                primaries.add(i);
            }
            if (server != null) {
                String key = server.host().toLowerCase(Locale.ROOT) + ":" + server.port();
                Integer first = seen.putIfAbsent(key, i);
                if (first != null) {
                    problem(p.child(i), "duplicate server " + server.address() + " (same as entry " + first + ")");
                }
                servers.add(server);
            }
        }
        if (allRolesKnown && primaries.isEmpty()) {
            problem(p, "no server has role \"primary\"");
        } else if (primaries.size() > 1) {
            problem(p, "more than one server has role \"primary\" (entries "
                    + primaries.stream().map(String::valueOf).collect(Collectors.joining(", "))
                    + "); list the primary once and the others as \"replica\"");
        }
        return problems.size() > before ? null : servers;
    }

    private ServerConfig readServer(JsonNode entry, KeyPath p) {
        if (!entry.isArray() || entry.size() < 3 || entry.size() > 4) {
            problem(p, "expected [host, port, role] or [host, port, role, weight], got " + describe(entry, false));
            return null;
        }
        int before = problems.size();
        JsonNode hostNode = entry.get(0);
        String host = null;
        if (!hostNode.isTextual()) {
            problem(p, "host: expected a string, got " + describe(hostNode, false));
        } else if (hostNode.textValue().isBlank()) {
            problem(p, "host: must not be empty");
        } else {
            host = hostNode.textValue();
        }
        Long port = integerValue(entry.get(1), p, "port: ", 1, 65535);
        Role role = choiceValue(entry.get(2), p, "role: ", Role.values(), Role::configName);
        Long weight = entry.size() == 4 ? integerValue(entry.get(3), p, "weight: ", 0, 1000) : Long.valueOf(1);
        return problems.size() > before ? null : new ServerConfig(host, port.intValue(), role, weight.intValue());
    }

}
