package io.pgrelay.proxy.pool;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.FastThreadLocal;
import io.pgrelay.proxy.server.ServerConnection;

/** How a pool's answer reaches a claimant: on the claimant's loop, directly when it can, never as a deep stack. */
final class Answers {
    private Answers() {
    }

    /** Answers on the claimant's loop; directly when already there, unless grants are nesting (see MAX_NESTED). */
    static void grant(Pool pool, Claimant claimant, ServerConnection conn) {
        EventLoop loop = claimant.loop();
        int[] depth = loop.inEventLoop() ? NESTED.get() : null;
        if (depth == null || depth[0] >= MAX_NESTED) {
            loop.execute(() -> claimant.granted(pool, conn));
            return;
        }
        depth[0]++;
        try {
            claimant.granted(pool, conn);
        } finally {
            depth[0]--;
        }
    }

    static void refuse(Pool pool, Claimant claimant, Throwable cause) {
        EventLoop loop = claimant.loop();
        if (loop.inEventLoop()) {
            claimant.refused(pool, cause);
        } else {
            loop.execute(() -> claimant.refused(pool, cause));
        }
    }

    /**
     * A grant may hand a connection straight back (a login needs the server only to learn its parameters), which
     * grants it to the next claimant in the same call: past this depth the next grant is a task, so a queue of
     * thousands of logins does not become a stack of thousands of frames.
     */
    private static final int MAX_NESTED = 8;
    private static final FastThreadLocal<int[]> NESTED = new FastThreadLocal<>() {
        @Override
        protected int[] initialValue() {
            return new int[1];
        }
    };
}
