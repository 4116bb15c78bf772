package io.pgrelay.proxy;

/**
 * pgbench -M extended's batch for one SELECT, frame by frame (hex): Parse, Bind, Describe (portal), Execute, Sync.
 * Shared by the tests that count, join or keep a client's frames.
 */
public final class PgbenchBatch {
    public static final String P = "500000001b0053454c45435420312057484552452024313d31000000";
    public static final String B = "42000000110000000000010000000131" + "0000";
    public static final String D = "44000000065000";
    public static final String E = "45000000090000000000";
    public static final String S = "5300000004";

    private PgbenchBatch() {
    }
}
