package io.pgrelay.proxy.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Abuse limits at work: clients refused or closed by each limit ({@code pgrelay_limit_refusals_total{limit}}),
 * server reads paused because a client did not read fast enough ({@code pgrelay_client_backpressure_pauses_total})
 * and CancelRequests whose key matched no client ({@code pgrelay_cancel_requests_total{result}}). Thread-safe.
 */
public final class LimitStats {
    /** Each limit, named by its config key. */
    public enum Limit {
        MAX_CLIENT_CONN("max_client_conn"),
        MAX_USER_CLIENT_CONNECTIONS("max_user_client_connections"),
        MAX_DB_CLIENT_CONNECTIONS("max_db_client_connections"),
        MAX_CLIENT_PREPARED_STATEMENTS("max_client_prepared_statements"),
        MAX_PACKET_SIZE("max_packet_size"),
        STARTUP_PACKET_SIZE("startup_packet_size"),
        CLIENT_LOGIN_TIMEOUT("client_login_timeout");

        private final String key;

        Limit(String key) {
            this.key = key;
        }

        public String key() {
            return key;
        }

        /** The limit a config key or protocol limit name stands for; null when none. */
        public static Limit of(String key) {
            for (Limit l : values()) {
                if (l.key.equals(key)) {
                    return l;
                }
            }
            return null;
        }
    }

    /** Counts without meters (tests, sessions without an admin console). */
    public static final LimitStats NONE = new LimitStats(null);

    private final Map<Limit, LongAdder> refusals = new EnumMap<>(Limit.class);
    private final LongAdder pauses = new LongAdder();
    private final LongAdder cancelMatched = new LongAdder();
    private final LongAdder cancelUnmatched = new LongAdder();

    LimitStats(MeterRegistry registry) {
        for (Limit l : Limit.values()) {
            LongAdder a = new LongAdder();
            refusals.put(l, a);
            if (registry != null) {
                FunctionCounter.builder("pgrelay.limit.refusals", a, LongAdder::doubleValue)
                        .description("Clients refused, or closed, by a limit").tag("limit", l.key())
                        .register(registry);
            }
        }
        if (registry != null) {
            FunctionCounter.builder("pgrelay.client.backpressure.pauses", pauses, LongAdder::doubleValue)
                    .description("Times a server connection stopped being read because its client read too slowly")
                    .register(registry);
            FunctionCounter.builder("pgrelay.cancel.requests", cancelMatched, LongAdder::doubleValue)
                    .description("CancelRequests received, by whether their key matched a client")
                    .tag("result", "matched").register(registry);
            FunctionCounter.builder("pgrelay.cancel.requests", cancelUnmatched, LongAdder::doubleValue)
                    .description("CancelRequests received, by whether their key matched a client")
                    .tag("result", "unmatched").register(registry);
        }
    }

    public void refused(Limit limit) {
        refusals.get(limit).increment();
    }

    public long refusals(Limit limit) {
        return refusals.get(limit).sum();
    }

    public void paused() {
        pauses.increment();
    }

    public long pauses() {
        return pauses.sum();
    }

    public void cancel(boolean matched) {
        (matched ? cancelMatched : cancelUnmatched).increment();
    }

    public long cancels(boolean matched) {
        return (matched ? cancelMatched : cancelUnmatched).sum();
    }
}
