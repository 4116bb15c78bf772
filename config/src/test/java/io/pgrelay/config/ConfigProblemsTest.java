package io.pgrelay.config;

import static io.pgrelay.config.TomlFixtures.MD5_HASH;
import static io.pgrelay.config.TomlFixtures.MINIMAL;
import static io.pgrelay.config.TomlFixtures.SCRAM_VERIFIER;
import static io.pgrelay.config.TomlFixtures.assertOneProblem;
import static io.pgrelay.config.TomlFixtures.problems;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One test per kind of mistake, each asserting the exact message and line. */
class ConfigProblemsTest {

    /** MINIMAL with one user table body replaced; the user header is on line 3, its keys from line 4. */
    private static String withUser(String userBody) {
        return """
                [pools.app]

                [pools.app.users.0]
                %s
                [pools.app.shards.0]
                database = "appdb"
                servers = [["127.0.0.1", 5432, "primary"]]
                """.formatted(userBody);
    }

    private static String withServers(String servers) {
        return MINIMAL.replace("servers = [[\"127.0.0.1\", 5432, \"primary\"]]", "servers = " + servers);
    }

    @Test
    void wrongType() {
        assertOneProblem("[general]\nport = \"abc\"\n" + MINIMAL,
                "pgrelay.toml:2: general.port: expected an integer, got string \"abc\"");
    }

    @Test
    void wrongTypeForTable() {
        assertOneProblem("general = 5\n" + MINIMAL, "pgrelay.toml:1: general: expected a table, got integer 5");
    }

    @Test
    void wrongTypeNeverEchoesPasswords() {
        assertOneProblem(withUser("username = \"app\"\npassword = 12345\n"),
                "pgrelay.toml:5: pools.app.users.0.password: expected a string, got integer");
    }

    @Test
    void missingRequiredKeyIsReportedAtItsTableHeader() {
        assertOneProblem(MINIMAL.replace("database = \"appdb\"\n", ""),
                "pgrelay.toml:7: pools.app.shards.0.database: required key is missing");
    }

    @Test
    void unknownKeySuggestsTheNearestKnownOne() {
        assertOneProblem("[general]\nprot = 6432\n" + MINIMAL,
                "pgrelay.toml:2: general.prot: unknown key (did you mean \"port\"?)");
    }

    @Test
    void unknownKeyWithoutPlausibleSuggestion() {
        assertOneProblem(MINIMAL.replace("[pools.app]\n", "[pools.app]\nfrobnicate = true\n"),
                "pgrelay.toml:2: pools.app.frobnicate: unknown key");
    }

    @Test
    void unknownTable() {
        assertOneProblem("[generl]\nport = 1\n" + MINIMAL,
                "pgrelay.toml:1: generl: unknown key (did you mean \"general\"?)");
    }

    @Test
    void generalPortOutOfRange() {
        assertOneProblem("[general]\nport = 70000\n" + MINIMAL,
                "pgrelay.toml:2: general.port: must be between 1 and 65535, got 70000");
    }

    @Test
    void serverPortOutOfRange() {
        assertOneProblem(withServers("[[\"127.0.0.1\", 0, \"primary\"]]"),
                "pgrelay.toml:9: pools.app.shards.0.servers.0: port: must be between 1 and 65535, got 0");
    }

    @Test
    void poolWithoutPrimary() {
        assertOneProblem(withServers("[[\"10.0.0.1\", 5432, \"replica\"], [\"10.0.0.2\", 5432, \"replica\"]]"),
                "pgrelay.toml:9: pools.app.shards.0.servers: no server has role \"primary\"");
    }

    @Test
    void moreThanOnePrimary() {
        assertOneProblem(withServers("[[\"10.0.0.1\", 5432, \"primary\"], [\"10.0.0.2\", 5432, \"primary\"]]"),
                "pgrelay.toml:9: pools.app.shards.0.servers: more than one server has role \"primary\" (entries 0, 1);"
                        + " list the primary once and the others as \"replica\"");
    }

    @Test
    void duplicateServer() {
        assertOneProblem(withServers("[[\"db1\", 5432, \"primary\"], [\"DB1\", 5432, \"replica\"]]"),
                "pgrelay.toml:9: pools.app.shards.0.servers.1: duplicate server DB1:5432 (same as entry 0)");
    }

    @Test
    void badEnumValueListsTheAllowedValues() {
        assertOneProblem(MINIMAL.replace("[pools.app]\n", "[pools.app]\npool_mode = \"sesion\"\n"),
                "pgrelay.toml:2: pools.app.pool_mode: expected one of \"session\", \"transaction\", got \"sesion\"");
        assertOneProblem("[general]\nauth_type = \"password\"\n" + MINIMAL,
                "pgrelay.toml:2: general.auth_type: expected one of \"scram-sha-256\", \"md5\", \"trust\","
                        + " \"cert\", \"gss\", got \"password\"");
        assertOneProblem(withServers("[[\"127.0.0.1\", 5432, \"standby\"]]"),
                "pgrelay.toml:9: pools.app.shards.0.servers.0: role: expected one of \"primary\", \"replica\","
                        + " got \"standby\"");
    }

    @Test
    void poolSizeBelowOne() {
        assertOneProblem(withUser("username = \"app\"\npassword = \"x\"\npool_size = 0\n"),
                "pgrelay.toml:6: pools.app.users.0.pool_size: must be at least 1");
    }

    @Test
    void minPoolSizeAbovePoolSize() {
        assertOneProblem(withUser("username = \"app\"\npassword = \"x\"\npool_size = 5\nmin_pool_size = 6\n"),
                "pgrelay.toml:7: pools.app.users.0.min_pool_size: must not be greater than pool_size (5)");
    }

    @Test
    void serverEntryThatIsNotHostPortRole() {
        assertOneProblem(withServers("[[\"127.0.0.1\", 5432]]"),
                "pgrelay.toml:9: pools.app.shards.0.servers.0: expected [host, port, role] or [host, port, role, weight], got an array of 2 elements");
        assertOneProblem(withServers("[\"127.0.0.1:5432\"]"),
                "pgrelay.toml:9: pools.app.shards.0.servers.0: expected [host, port, role] or [host, port, role, weight], got string \"127.0.0.1:5432\"");
    }

    @Test
    void serverEntryWithTwoBadElementsReportsBoth() {
        assertThat(problems(withServers("[[5432, \"x\", \"primary\"]]"))).containsExactly(
                "pgrelay.toml:9: pools.app.shards.0.servers.0: host: expected a string, got integer 5432",
                "pgrelay.toml:9: pools.app.shards.0.servers.0: port: expected an integer, got string \"x\"");
    }

    @Test
    void noPoolsAtAll() {
        assertOneProblem("[general]\nport = 6432\n",
                "pgrelay.toml: pools: no pools configured (add a [pools.<database>] table)");
        assertOneProblem("[general]\nport = 6432\n[pools]\n",
                "pgrelay.toml:3: pools: no pools configured (add a [pools.<database>] table)");
    }

    @Test
    void userWithoutPasswordUnlessTrust() {
        assertOneProblem(withUser("username = \"app\"\n"),
                "pgrelay.toml:3: pools.app.users.0.password: required key is missing: user \"app\" has auth_type"
                        + " \"scram-sha-256\"; only \"trust\", \"cert\" and \"gss\" allow no password");
    }

    @Test
    void moreThanOneShard() {
        String toml = MINIMAL + """
                [pools.app.shards.1]
                database = "appdb"
                servers = [["127.0.0.2", 5432, "primary"]]
                """;
        assertOneProblem(toml, "pgrelay.toml:10: pools.app.shards.1: sharding is not supported; use a single shard \"0\"");
    }

    @Test
    void duplicateUsernamesInOnePool() {
        String toml = MINIMAL.replace("[pools.app.shards.0]", """
                [pools.app.users.1]
                username = "app"
                password = "other"

                [pools.app.shards.0]""");
        assertOneProblem(toml,
                "pgrelay.toml:8: pools.app.users.1.username: duplicate user \"app\" (already defined in pools.app.users.0)");
    }

    @Test
    void negativeDurations() {
        assertThat(problems("[general]\nconnect_timeout = -1\nquery_wait_timeout = -5000\n" + MINIMAL)).containsExactly(
                "pgrelay.toml:2: general.connect_timeout: must not be negative",
                "pgrelay.toml:3: general.query_wait_timeout: must not be negative");
    }

    @Test
    void md5HashWithScramAuth() {
        assertOneProblem(withUser("username = \"app\"\npassword = \"" + MD5_HASH + "\"\nserver_password = \"x\"\n"),
                "pgrelay.toml:5: pools.app.users.0.password: user \"app\" has an MD5-hashed password, which cannot be"
                        + " used with auth_type \"scram-sha-256\" (a SCRAM exchange needs the plaintext or a SCRAM"
                        + " verifier); use auth_type \"md5\" or the plaintext password");
    }

    @Test
    void scramVerifierWithMd5Auth() {
        assertOneProblem(withUser("username = \"app\"\nauth_type = \"md5\"\npassword = \"" + SCRAM_VERIFIER
                        + "\"\nserver_password = \"x\"\n"),
                "pgrelay.toml:6: pools.app.users.0.password: user \"app\" has a SCRAM verifier as password, which"
                        + " cannot be used with auth_type \"md5\" (MD5 needs the plaintext or an MD5 hash); use"
                        + " auth_type \"scram-sha-256\" or the plaintext password");
    }

    @Test
    void hashedPasswordWithoutPlaintextServerPassword() {
        assertOneProblem(withUser("username = \"app\"\npassword = \"" + SCRAM_VERIFIER + "\"\n"),
                "pgrelay.toml:3: pools.app.users.0.server_password: required key is missing: user \"app\" has a SCRAM"
                        + " verifier as password, and pgrelay logs in to PostgreSQL with a plaintext password");
        assertOneProblem(withUser("username = \"app\"\nauth_type = \"md5\"\npassword = \"" + MD5_HASH + "\"\n"),
                "pgrelay.toml:3: pools.app.users.0.server_password: required key is missing: user \"app\" has an"
                        + " MD5-hashed password, and pgrelay logs in to PostgreSQL with a plaintext password");
    }

    @Test
    void hashedServerPassword() {
        assertOneProblem(withUser("username = \"app\"\npassword = \"x\"\nserver_password = \"" + MD5_HASH + "\"\n"),
                "pgrelay.toml:6: pools.app.users.0.server_password: user \"app\": must be the plaintext password,"
                        + " not a hash (pgrelay logs in to PostgreSQL with it)");
    }

    @Test
    void malformedScramVerifier() {
        assertOneProblem(withUser("username = \"app\"\npassword = \"SCRAM-SHA-256$4096:abc\"\nserver_password = \"x\"\n"),
                "pgrelay.toml:5: pools.app.users.0.password: user \"app\" has a malformed SCRAM verifier (expected"
                        + " SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)");
    }

    @Test
    void emptyStrings() {
        assertOneProblem(withUser("username = \"\"\npassword = \"x\"\n"),
                "pgrelay.toml:4: pools.app.users.0.username: must not be empty");
    }

    @Test
    void adminCredentialsComeAsAPair() {
        assertOneProblem("[general]\nadmin_username = \"admin\"\n" + MINIMAL,
                "pgrelay.toml:1: general.admin_password: required when admin_username is set");
    }

    @Test
    void poolWithoutUsersOrShards() {
        assertThat(problems("[pools.app]\npool_mode = \"session\"\n")).containsExactly(
                "pgrelay.toml:1: pools.app.users: required key is missing",
                "pgrelay.toml:1: pools.app.shards: required key is missing");
    }

    @Test
    void arrayOfTablesGetsAHint() {
        assertOneProblem(MINIMAL.replace("[pools.app.users.0]", "[[pools.app.users]]"),
                "pgrelay.toml:3: pools.app.users: expected a table, got an array of 1 element (write numbered tables"
                        + " [pools.app.users.0], [pools.app.users.1] instead of [[pools.app.users]])");
    }

    @Test
    void keyUsedAsValueAndTable() {
        assertOneProblem("[general]\nport = 1\nport.x = 2\n",
                "pgrelay.toml:3: TOML syntax error: a key is used both as a value and as a table");
    }

    @Test
    void tomlSyntaxErrorCarriesItsLine() {
        assertOneProblem("[general]\nport = 6432\nhost = 0.0.0.0\n",
                "pgrelay.toml:3: TOML syntax error: unexpected text after a value (one key = value per line;"
                        + " strings must be quoted)");
        assertOneProblem("[general]\nhost = localhost\n",
                "pgrelay.toml:2: TOML syntax error: invalid value (strings must be quoted, e.g. host = \"db1\")");
        assertOneProblem("[general]\nhost = \"localhost\n",
                "pgrelay.toml:2: TOML syntax error: unexpected end of line (an unclosed string or table header,"
                        + " or a key without a value?)");
    }

    @Test
    void duplicateKeyIsReportedAtTheSecondDefinition() {
        // Jackson itself places this error at the token after the duplicate (line 5).
        assertOneProblem("[general]\nport = 1\n\nport = 2\n\nhost = \"x\"\n",
                "pgrelay.toml:4: general.port: defined twice (first on line 2)");
        assertOneProblem("[general]\nport = 1\n[general]\nhost = \"x\"\n",
                "pgrelay.toml:3: general: defined twice (first on line 1)");
    }

    @Test
    void fileNotFound(@TempDir Path dir) {
        Path missing = dir.resolve("nope.toml");
        assertThatThrownBy(() -> ConfigLoader.load(missing))
                .isInstanceOf(ConfigException.class)
                .hasMessage(missing + ": file not found");
    }

    @Test
    void allProblemsAreReportedInLineOrder() {
        String toml = """
                [general]
                port = 0
                prot = 1
                connect_timeout = -1

                [pools.app.shards.0]
                servers = [
                    ["10.0.0.1", 5432, "replica"],
                    ["10.0.0.2", 99999, "replica"],
                ]

                [pools.app]
                pool_mode = "statement"

                [pools.app.users.0]
                username = "app"
                pool_size = 0
                """;
        assertThatThrownBy(() -> TomlFixtures.parse(toml))
                .isInstanceOf(ConfigException.class)
                .hasMessage(String.join("\n",
                        "pgrelay.toml:2: general.port: must be between 1 and 65535, got 0",
                        "pgrelay.toml:3: general.prot: unknown key (did you mean \"port\"?)",
                        "pgrelay.toml:4: general.connect_timeout: must not be negative",
                        "pgrelay.toml:6: pools.app.shards.0.database: required key is missing",
                        "pgrelay.toml:7: pools.app.shards.0.servers: no server has role \"primary\"",
                        "pgrelay.toml:9: pools.app.shards.0.servers.1: port: must be between 1 and 65535, got 99999",
                        "pgrelay.toml:13: pools.app.pool_mode: expected one of \"session\", \"transaction\","
                                + " got \"statement\"",
                        "pgrelay.toml:15: pools.app.users.0.password: required key is missing: user \"app\" has"
                                + " auth_type \"scram-sha-256\"; only \"trust\", \"cert\" and \"gss\" allow no password",
                        "pgrelay.toml:17: pools.app.users.0.pool_size: must be at least 1"));
    }
}
