package io.pgrelay.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/**
 * How a pool routes statements between the primary and the standbys (pgcat's key names where pgcat has them).
 *
 * @param queryParserEnabled   classify statements at all; off: everything goes by {@code defaultRole}
 * @param readWriteSplitting   send reads to standbys (pgcat's query_parser_read_write_splitting)
 * @param primaryReadsEnabled  the primary takes reads too
 * @param defaultRole          where statements go without a decision: any (classify), primary, replica
 * @param loadBalancingMode    how a standby is picked for a read
 * @param readYourWrites       off, or window: a client's reads go to the primary for a while after its write
 * @param readYourWritesWindow how long, in window mode
 */
public record Routing(boolean queryParserEnabled, boolean readWriteSplitting, boolean primaryReadsEnabled,
                      DefaultRole defaultRole, LoadBalancingMode loadBalancingMode, ReadYourWrites readYourWrites,
                      Duration readYourWritesWindow) {

    public Routing {
        Objects.requireNonNull(defaultRole, "defaultRole");
        Objects.requireNonNull(loadBalancingMode, "loadBalancingMode");
        Objects.requireNonNull(readYourWrites, "readYourWrites");
        Objects.requireNonNull(readYourWritesWindow, "readYourWritesWindow");
    }

    public static Routing defaults() {
        return new Routing(true, true, true, DefaultRole.ANY, LoadBalancingMode.RANDOM, ReadYourWrites.OFF,
                Duration.ofSeconds(1));
    }

    public enum DefaultRole {
        ANY, PRIMARY, REPLICA;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum LoadBalancingMode {
        RANDOM, ROUND_ROBIN, LOC;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum ReadYourWrites {
        OFF, WINDOW;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
