package io.pgrelay.config;

import java.time.Duration;
import java.util.List;
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
 * @param readYourWrites       off; window: a client's reads go to the primary for a while after its write; lsn:
 *                             only to standbys that have replayed the client's last write (else the primary)
 * @param readYourWritesWindow how long, in window mode
 * @param maxReplicaLagBytes   a standby further behind gets no reads (0: no limit)
 * @param maxReplicaLag        likewise in time (zero: no limit)
 * @param writeFunctions       regexes of function names that write (Pgpool-II's write_function_list)
 * @param readOnlyFunctions    regexes of function names known read-only, whatever pg_proc says
 */
public record Routing(boolean queryParserEnabled, boolean readWriteSplitting, boolean primaryReadsEnabled,
                      DefaultRole defaultRole, LoadBalancingMode loadBalancingMode, ReadYourWrites readYourWrites,
                      Duration readYourWritesWindow, long maxReplicaLagBytes, Duration maxReplicaLag,
                      List<String> writeFunctions, List<String> readOnlyFunctions) {

    /** Routing without function lists. */
    public Routing(boolean queryParserEnabled, boolean readWriteSplitting, boolean primaryReadsEnabled,
                   DefaultRole defaultRole, LoadBalancingMode loadBalancingMode, ReadYourWrites readYourWrites,
                   Duration readYourWritesWindow, long maxReplicaLagBytes, Duration maxReplicaLag) {
        this(queryParserEnabled, readWriteSplitting, primaryReadsEnabled, defaultRole, loadBalancingMode,
                readYourWrites, readYourWritesWindow, maxReplicaLagBytes, maxReplicaLag, List.of(), List.of());
    }

    /** Routing without lag limits. */
    public Routing(boolean queryParserEnabled, boolean readWriteSplitting, boolean primaryReadsEnabled,
                   DefaultRole defaultRole, LoadBalancingMode loadBalancingMode, ReadYourWrites readYourWrites,
                   Duration readYourWritesWindow) {
        this(queryParserEnabled, readWriteSplitting, primaryReadsEnabled, defaultRole, loadBalancingMode,
                readYourWrites, readYourWritesWindow, 0, Duration.ZERO);
    }

    public Routing {
        Objects.requireNonNull(defaultRole, "defaultRole");
        Objects.requireNonNull(loadBalancingMode, "loadBalancingMode");
        Objects.requireNonNull(readYourWrites, "readYourWrites");
        Objects.requireNonNull(readYourWritesWindow, "readYourWritesWindow");
        Objects.requireNonNull(maxReplicaLag, "maxReplicaLag");
        writeFunctions = List.copyOf(writeFunctions);
        readOnlyFunctions = List.copyOf(readOnlyFunctions);
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
        OFF, WINDOW, LSN;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
