package io.pgrelay.config;

import static io.pgrelay.config.TomlFixtures.MD5_HASH;
import static io.pgrelay.config.TomlFixtures.MINIMAL;
import static io.pgrelay.config.TomlFixtures.SCRAM_VERIFIER;
import static io.pgrelay.config.TomlFixtures.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Valid files: what they load to. */
class ConfigLoaderTest {

    private static Path resource(String name) throws Exception {
        return Path.of(ConfigLoaderTest.class.getResource("/" + name).toURI());
    }

    @Test
    void fullPgcatStyleFileLoadsWithWarnings() throws Exception {
        Path file = resource("pgcat-full.toml");
        PgRelayConfig config = ConfigLoader.load(file);

        assertThat(config.source()).isEqualTo(file.toString());
        assertThat(config.general()).isEqualTo(new General("0.0.0.0", 6432, "admin", "admin",
                Duration.ofSeconds(5), Duration.ofMinutes(10), Duration.ofHours(1), Duration.ofMinutes(2), 1000,
                AuthType.SCRAM_SHA_256, Duration.ofSeconds(60), Duration.ZERO, General.DEFAULT_MAX_PACKET_SIZE,
                java.util.List.of(), true, 9930, General.DEFAULT_SHUTDOWN_TIMEOUT)); // the file enables the exporter
        assertThat(config.pools()).containsOnlyKeys("app", "my-analytics");
        assertThat(config.pools().keySet()).containsExactly("app", "my-analytics");

        PoolConfig app = config.pools().get("app");
        assertThat(app.name()).isEqualTo("app");
        assertThat(app.poolMode()).isEqualTo(PoolMode.SESSION);
        assertThat(app.users().keySet()).containsExactly("app", "reporting");
        assertThat(app.users().get("app")).isEqualTo(new UserConfig("app", "app", AuthType.MD5, 10, 0,
                PoolMode.SESSION, "app", "app"));
        assertThat(app.users().get("reporting")).isEqualTo(new UserConfig("reporting", MD5_HASH, AuthType.MD5, 4, 2,
                PoolMode.TRANSACTION, "reporting", "reports"));
        assertThat(app.shards()).containsExactly(new ShardConfig("app", List.of(
                new ServerConfig("127.0.0.1", 5432, Role.PRIMARY),
                new ServerConfig("127.0.0.1", 5433, Role.REPLICA))));

        assertThat(app.routing()).isEqualTo(Routing.defaults()); // the file spells out pgcat's defaults

        PoolConfig analytics = config.pools().get("my-analytics");
        assertThat(analytics.poolMode()).isEqualTo(PoolMode.TRANSACTION);
        assertThat(analytics.users().get("analyst").authType()).isEqualTo(AuthType.SCRAM_SHA_256);
        assertThat(analytics.shards().get(0).servers())
                .containsExactly(new ServerConfig("db.example.com", 5432, Role.PRIMARY));

        // pgcat's health keys mean the same here: probe timeout in ms, ban time in seconds.
        assertThat(config.health().healthcheckTimeout()).isEqualTo(Duration.ofMillis(1000));
        assertThat(config.health().banTime()).isEqualTo(Duration.ofSeconds(60));
        assertThat(config.warnings()).containsExactly(
                "general.healthcheck_delay: pgcat key not supported yet, ignored",
                "pools.app.users.0.statement_timeout: pgcat key not supported yet, ignored",
                "pools.app.shards.0.mirrors: pgcat key not supported yet, ignored");
    }

    @Test
    void defaults() throws ConfigException {
        PgRelayConfig config = parse(MINIMAL);
        assertThat(config.source()).isEqualTo("pgrelay.toml");
        assertThat(config.general()).isEqualTo(new General("0.0.0.0", 6432, null, null, Duration.ofMillis(5000),
                Duration.ofMillis(600_000), Duration.ofMillis(3_600_000), Duration.ofMillis(120_000), 1000,
                AuthType.SCRAM_SHA_256));
        PoolConfig pool = config.pools().get("app");
        assertThat(pool.poolMode()).isEqualTo(PoolMode.TRANSACTION);
        assertThat(pool.users().get("app")).isEqualTo(new UserConfig("app", "secret", AuthType.SCRAM_SHA_256, 10, 0,
                PoolMode.TRANSACTION, "app", "secret"));
        assertThat(config.warnings()).isEmpty();
    }

    @Test
    void effectiveUserValuesMergeOverridesWithPoolAndGeneral() throws ConfigException {
        PgRelayConfig config = parse("""
                [general]
                auth_type = "md5"
                [pools.app]
                pool_mode = "session"
                [pools.app.users.a]
                username = "alice"
                password = "pw"
                server_username = "alice_rw"
                [pools.app.users.b]
                username = "bob"
                password = "%s"
                server_password = "bob-plain"
                auth_type = "scram-sha-256"
                pool_mode = "transaction"
                [pools.app.shards.0]
                database = "appdb"
                servers = [["127.0.0.1", 5432, "primary"]]
                """.formatted(SCRAM_VERIFIER));
        var users = config.pools().get("app").users();
        assertThat(users.get("alice")).isEqualTo(new UserConfig("alice", "pw", AuthType.MD5, 10, 0, PoolMode.SESSION,
                "alice_rw", "pw"));
        assertThat(users.get("bob")).isEqualTo(new UserConfig("bob", SCRAM_VERIFIER, AuthType.SCRAM_SHA_256, 10, 0,
                PoolMode.TRANSACTION, "bob", "bob-plain"));
    }

    @Test
    void trustNeedsNoPasswordAndThenNoServerPasswordIsKnown() throws ConfigException {
        PgRelayConfig config = parse(MINIMAL.replace("password = \"secret\"", "auth_type = \"trust\""));
        UserConfig user = config.pools().get("app").users().get("app");
        assertThat(user.authType()).isEqualTo(AuthType.TRUST);
        assertThat(user.password()).isNull();
        assertThat(user.serverPassword()).isNull();
    }

    @Test
    void hashedPasswordsWithMatchingAuthTypesLoad() throws ConfigException {
        String md5 = MINIMAL.replace("password = \"secret\"",
                "password = \"" + MD5_HASH + "\"\nauth_type = \"md5\"\nserver_password = \"plain\"");
        assertThat(parse(md5).pools().get("app").users().get("app").serverPassword()).isEqualTo("plain");
        String trust = MINIMAL.replace("password = \"secret\"",
                "password = \"" + MD5_HASH + "\"\nauth_type = \"trust\"\nserver_password = \"plain\"");
        assertThat(parse(trust).pools().get("app").users().get("app").password()).isEqualTo(MD5_HASH);
    }

    @Test
    void enumValuesAreCaseInsensitiveLikePgcat() throws ConfigException {
        PgRelayConfig config = parse(MINIMAL.replace("[pools.app]\n", "[pools.app]\npool_mode = \"Session\"\n")
                .replace("\"primary\"", "\"Primary\""));
        assertThat(config.pools().get("app").poolMode()).isEqualTo(PoolMode.SESSION);
    }

    @Test
    void timeoutsOfZeroMeanNoLimit() throws ConfigException {
        PgRelayConfig config = parse("[general]\nidle_timeout = 0\nserver_lifetime = 0\n" + MINIMAL);
        assertThat(config.general().idleTimeout()).isEqualTo(Duration.ZERO);
        assertThat(config.general().serverLifetime()).isEqualTo(Duration.ZERO);
    }

    @Test
    void pgcatOnlyTopLevelAndNestedTablesAreIgnoredWithOneWarning() throws ConfigException {
        PgRelayConfig config = parse(MINIMAL + """
                [pools.app.plugins.intercept]
                enabled = true
                [plugins.prewarmer]
                enabled = true
                """);
        assertThat(config.warnings()).containsExactly(
                "pools.app.plugins: pgcat key not supported yet, ignored",
                "plugins: pgcat key not supported yet, ignored");
    }

    @Test
    void aByteOrderMarkIsAccepted() throws ConfigException {
        assertThat(parse("\uFEFF" + MINIMAL).pools()).containsKey("app");
    }

    @Test
    void loadReadsAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("pgrelay.toml");
        Files.writeString(file, MINIMAL.replace("5432", "5433"));
        PgRelayConfig config = ConfigLoader.load(file);
        assertThat(config.source()).isEqualTo(file.toString());
        assertThat(config.pools().get("app").shards().get(0).servers().get(0).port()).isEqualTo(5433);
    }

    @Test
    void loadReportsProblemsWithTheFilePath(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("pgcat.toml");
        Files.writeString(file, "[general]\nport = \"x\"\n" + MINIMAL);
        assertThatThrownBy(() -> ConfigLoader.load(file))
                .isInstanceOf(ConfigException.class)
                .hasMessage(file + ":2: general.port: expected an integer, got string \"x\"");
    }

    @Test
    void recordsAreImmutable() throws ConfigException {
        PgRelayConfig config = parse(MINIMAL);
        PoolConfig pool = config.pools().get("app");
        assertThatThrownBy(() -> config.pools().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> config.warnings().add("x")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> pool.users().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> pool.shards().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> pool.shards().get(0).servers().clear())
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void recordsCopyTheCollectionsTheyAreGiven() {
        var servers = new java.util.ArrayList<>(List.of(new ServerConfig("h", 1, Role.PRIMARY)));
        ShardConfig shard = new ShardConfig("db", servers);
        servers.clear();
        assertThat(shard.servers()).hasSize(1);
    }

    @Test
    void passwordsStayOutOfToString() throws ConfigException {
        PgRelayConfig config = parse("[general]\nadmin_username = \"adm\"\nadmin_password = \"adminpw\"\n"
                + MINIMAL.replace("secret", "userpw"));
        assertThat(config.toString()).doesNotContain("adminpw", "userpw").contains("adm");
    }

    @Test
    void serverAddress() {
        assertThat(new ServerConfig("db1", 5432, Role.PRIMARY).address()).isEqualTo("db1:5432");
        assertThat(new ServerConfig("::1", 5432, Role.PRIMARY).address()).isEqualTo("[::1]:5432");
    }

    @Test
    void enumConfigNames() {
        assertThat(PoolMode.SESSION.configName()).isEqualTo("session");
        assertThat(PoolMode.TRANSACTION.configName()).isEqualTo("transaction");
        assertThat(AuthType.SCRAM_SHA_256.configName()).isEqualTo("scram-sha-256");
        assertThat(AuthType.MD5.configName()).isEqualTo("md5");
        assertThat(AuthType.TRUST.configName()).isEqualTo("trust");
        assertThat(Role.PRIMARY.configName()).isEqualTo("primary");
        assertThat(Role.REPLICA.configName()).isEqualTo("replica");
    }

    @Test
    void problemFormatting() {
        assertThat(new ConfigProblem("f.toml", 12, "pools.app.users.0.pool_size", "must be at least 1"))
                .hasToString("f.toml:12: pools.app.users.0.pool_size: must be at least 1");
        assertThat(new ConfigProblem("f.toml", 0, "pools", "no pools")).hasToString("f.toml: pools: no pools");
        assertThat(new ConfigProblem("f.toml", 3, "", "TOML syntax error: x"))
                .hasToString("f.toml:3: TOML syntax error: x");
    }
}
