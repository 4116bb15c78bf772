package io.pgrelay.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Health checks, bans and failover (keys of {@code [general]}; pgcat's names where pgcat has the setting).
 *
 * @param healthcheckInterval how often every server is probed ({@code healthcheck_interval}, ms)
 * @param healthcheckTimeout  how long one probe (connecting included) may take before it counts as failed (ms)
 * @param banAfterFailures    failed probes in a row that ban a server
 * @param banTime             the shortest a ban lasts; it lifts at the first successful probe after that (pgcat's
 *                            {@code ban_time}, in seconds)
 * @param failoverTimeout     how long a write waits for a primary to appear before it fails (ms)
 * @param autoPromote         whether pgrelay promotes a standby itself when the primary stays down
 * @param promoteAfter        how long the primary must fail probes before an automatic promotion (ms)
 */
public record HealthConfig(Duration healthcheckInterval, Duration healthcheckTimeout, int banAfterFailures,
                           Duration banTime, Duration failoverTimeout, boolean autoPromote, Duration promoteAfter) {
    public static final HealthConfig DEFAULTS = new HealthConfig(Duration.ofSeconds(1), Duration.ofSeconds(1), 3,
            Duration.ofSeconds(60), Duration.ofSeconds(30), false, Duration.ofSeconds(10));

    public HealthConfig {
        Objects.requireNonNull(healthcheckInterval, "healthcheckInterval");
        Objects.requireNonNull(healthcheckTimeout, "healthcheckTimeout");
        Objects.requireNonNull(banTime, "banTime");
        Objects.requireNonNull(failoverTimeout, "failoverTimeout");
        Objects.requireNonNull(promoteAfter, "promoteAfter");
        if (banAfterFailures < 1) {
            throw new IllegalArgumentException("banAfterFailures must be at least 1");
        }
    }
}
