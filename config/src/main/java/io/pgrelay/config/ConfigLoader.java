package io.pgrelay.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Reads a pgrelay configuration: a TOML file laid out like pgcat's {@code pgcat.toml}, so a pgcat user can point
 * pgrelay at an existing file.
 *
 * <h2>Layout</h2>
 * <pre>{@code
 * [general]
 * host = "0.0.0.0"
 * port = 6432
 *
 * [pools.app]                 # clients connect to database "app"
 * pool_mode = "transaction"
 *
 * [pools.app.users.0]         # any table key; pgcat numbers users 0, 1, ...
 * username = "app"
 * password = "secret"
 *
 * [pools.app.shards.0]        # exactly one shard, named "0"
 * database = "app"            # the database on the servers
 * servers = [["10.0.0.1", 5432, "primary"], ["10.0.0.2", 5432, "replica"]]
 * }</pre>
 *
 * <h2>Keys</h2>
 * Durations are whole milliseconds, as in pgcat; 0 means no limit.
 * <table>
 * <caption>Keys pgrelay reads</caption>
 * <tr><th>key</th><th>default</th><th>meaning</th></tr>
 * <tr><td>general.host</td><td>"0.0.0.0"</td><td>address to listen on</td></tr>
 * <tr><td>general.port</td><td>6432</td><td>port to listen on, 1..65535</td></tr>
 * <tr><td>general.admin_username, general.admin_password</td><td>none</td><td>admin console login; both or
 *     neither (absent: no admin console)</td></tr>
 * <tr><td>general.connect_timeout</td><td>5000</td><td>ms to connect and log in to a server</td></tr>
 * <tr><td>general.idle_timeout</td><td>600000</td><td>ms an unused server connection is kept</td></tr>
 * <tr><td>general.server_lifetime</td><td>3600000</td><td>ms after which a server connection is retired</td></tr>
 * <tr><td>general.query_wait_timeout</td><td>120000</td><td>ms a client waits for a free server connection
 *     (PgBouncer's name)</td></tr>
 * <tr><td>general.max_client_conn</td><td>1000</td><td>client connections accepted (PgBouncer's name)</td></tr>
 * <tr><td>general.auth_type</td><td>"scram-sha-256"</td><td>client authentication: "scram-sha-256", "md5" or
 *     "trust"</td></tr>
 * <tr><td>pools.&lt;db&gt;.pool_mode</td><td>"transaction"</td><td>"session" or "transaction"</td></tr>
 * <tr><td>pools.&lt;db&gt;.users.&lt;n&gt;.username</td><td>required</td><td>unique within the pool</td></tr>
 * <tr><td>...users.&lt;n&gt;.password</td><td>required unless trust</td><td>plaintext, {@code md5<32 hex>}
 *     (auth_type md5 or trust) or a {@code SCRAM-SHA-256$...} verifier (scram-sha-256 or trust); a hash needs
 *     server_password</td></tr>
 * <tr><td>...users.&lt;n&gt;.auth_type</td><td>general.auth_type</td><td>per-user override</td></tr>
 * <tr><td>...users.&lt;n&gt;.pool_size</td><td>10</td><td>server connections at most, at least 1</td></tr>
 * <tr><td>...users.&lt;n&gt;.min_pool_size</td><td>0</td><td>server connections kept open, at most
 *     pool_size</td></tr>
 * <tr><td>...users.&lt;n&gt;.pool_mode</td><td>the pool's</td><td>per-user override</td></tr>
 * <tr><td>...users.&lt;n&gt;.server_username</td><td>username</td><td>login on PostgreSQL</td></tr>
 * <tr><td>...users.&lt;n&gt;.server_password</td><td>password if plaintext</td><td>plaintext password on
 *     PostgreSQL</td></tr>
 * <tr><td>pools.&lt;db&gt;.shards.0.database</td><td>required</td><td>database name on the servers</td></tr>
 * <tr><td>pools.&lt;db&gt;.shards.0.servers</td><td>required</td><td>{@code [host, port, role]} entries, role
 *     "primary" or "replica", exactly one primary</td></tr>
 * </table>
 *
 * <h2>pgcat keys</h2>
 * Keys pgcat knows but pgrelay does not implement yet (health checks, bans, TLS, Prometheus, query parser, sharding,
 * auth_query, mirrors, plugins, per-pool and per-user timeouts, ...) are accepted and ignored with a warning in
 * {@link PgRelayConfig#warnings()}. Any other key is an error that names the nearest known key.
 *
 * <h2>Errors</h2>
 * Loading reports every problem at once as {@code file:line: key.path: problem}, in line order, in a
 * {@link ConfigException}. A missing key is reported at the line of its table.
 */
public final class ConfigLoader {

    private static final TomlMapper MAPPER = new TomlMapper();

    private ConfigLoader() {
    }

    /** Reads and validates a file; problems name the file as given. */
    public static PgRelayConfig load(Path file) throws ConfigException {
        String source = file.toString();
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw single(source, "file not found");
        } catch (AccessDeniedException e) {
            throw single(source, "permission denied");
        } catch (MalformedInputException e) {
            throw single(source, "not a UTF-8 text file");
        } catch (IOException e) {
            throw single(source, "cannot read the file: " + Objects.toString(e.getMessage(), e.toString()));
        }
        return parse(text, source);
    }

    /** Validates TOML text; {@code sourceName} stands for the file in problems. */
    public static PgRelayConfig parse(String toml, String sourceName) throws ConfigException {
        Objects.requireNonNull(sourceName, "sourceName");
        String text = toml.startsWith("\uFEFF") ? toml.substring(1) : toml; // a BOM that some editors write
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new ConfigException(List.of(syntaxProblem(e, text, sourceName)));
        }
        ObjectNode top = root instanceof ObjectNode o ? o : MAPPER.createObjectNode();
        return new ConfigReader(sourceName, LineIndex.of(text)).read(top);
    }

    private static ConfigException single(String source, String message) {
        return new ConfigException(List.of(new ConfigProblem(source, 0, "", message)));
    }

    private static ConfigProblem syntaxProblem(JsonProcessingException e, String text, String source) {
        String original = Objects.toString(e.getOriginalMessage(), "");
        if (original.startsWith("Duplicate key") || original.startsWith("Table redefined")
                || original.startsWith("Path into existing")) {
            // Jackson places a duplicate key at the token after it; the index knows both definitions.
            LineIndex index = LineIndex.of(text);
            KeyPath duplicate = index.duplicate();
            if (duplicate != null) {
                return new ConfigProblem(source, index.duplicateLine(), duplicate.toString(),
                        "defined twice (first on line " + index.lineOf(duplicate) + ")");
            }
        }
        JsonLocation location = e.getLocation();
        int line = location == null ? 0 : Math.max(0, location.getLineNr());
        return new ConfigProblem(source, line, "", "TOML syntax error: " + friendly(original));
    }

    private static String friendly(String original) {
        if (original.startsWith("Unknown token")) {
            return "invalid value (strings must be quoted, e.g. host = \"db1\")";
        }
        if (original.startsWith("Newline not permitted")) {
            return "unexpected end of line (an unclosed string or table header, or a key without a value?)";
        }
        if (original.startsWith("More data after value")) {
            return "unexpected text after a value (one key = value per line; strings must be quoted)";
        }
        if (original.startsWith("Premature end of file")) {
            return "unexpected end of file (an unclosed array, inline table or string?)";
        }
        if (original.startsWith("Unknown escape sequence")) {
            return "unknown escape sequence in a string (single-quoted strings take backslashes literally)";
        }
        if (original.startsWith("Path into existing")) {
            return "a key is used both as a value and as a table";
        }
        if (original.isEmpty()) {
            return "cannot parse";
        }
        return original.substring(0, 1).toLowerCase(Locale.ROOT) + original.substring(1);
    }
}
