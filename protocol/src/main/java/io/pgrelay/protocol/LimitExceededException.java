package io.pgrelay.protocol;

/**
 * A peer sent more than a size limit allows: a protocol error that also names the limit, so the proxy can count
 * refusals per limit without matching message texts.
 */
public final class LimitExceededException extends ProtocolException {
    private final String limit;

    /** {@code limit}: the config key (or, for fixed limits, a name in the same style) that was exceeded. */
    public LimitExceededException(String limit, String message) {
        super(message);
        this.limit = limit;
    }

    public String limit() {
        return limit;
    }
}
