package io.pgrelay.config;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ConfigSummaryTest {

    @Test
    void describesListenAddressPoolsUsersAndServersWithoutPasswords() throws Exception {
        PgRelayConfig config = ConfigLoader.parse("""
                [general]
                port = 7432
                admin_username = "admin"
                admin_password = "adminpw"
                healthcheck_delay = 30000
                [pools.app]
                pool_mode = "session"
                [pools.app.users.0]
                username = "app"
                password = "userpw"
                server_username = "app_rw"
                server_password = "serverpw"
                pool_size = 20
                min_pool_size = 2
                auth_type = "md5"
                [pools.app.shards.0]
                database = "appdb"
                servers = [["10.0.0.1", 5432, "primary"], ["::1", 5433, "replica"]]
                """, "pgrelay.toml");
        String summary = ConfigSummary.describe(config);
        assertThat(summary).isEqualTo("""
                configuration pgrelay.toml
                listen 0.0.0.0:7432, max_client_conn 1000, default auth scram-sha-256
                timeouts: connect 5s, idle 10min, server_lifetime 1h, query_wait 2min
                admin console: user "admin"
                pool "app": session mode
                  user "app": pool_size 20, min_pool_size 2, auth md5, session mode, server user "app_rw"
                  database "appdb" on:
                    10.0.0.1:5432 primary
                    [::1]:5433 replica
                warnings:
                  general.healthcheck_delay: pgcat key not supported yet, ignored
                """);
        assertThat(summary).doesNotContain("adminpw", "userpw", "serverpw");
    }

    @Test
    void disabledAdminConsoleAndOddTimeouts() throws Exception {
        PgRelayConfig config = ConfigLoader.parse(TomlFixtures.MINIMAL.replace("[pools.app]",
                "[general]\nconnect_timeout = 250\nidle_timeout = 0\n[pools.app]"), "x.toml");
        assertThat(ConfigSummary.describe(config))
                .contains("timeouts: connect 250ms, idle none,")
                .contains("admin console: disabled\n");
    }
}
