package io.pgrelay.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns Netty's leak reports into test failures. The proxy's test JVMs name {@link Recording} in
 * {@code -Dio.netty.customResourceLeakDetector} (see proxy/pom.xml), so every ByteBuf is tracked by it whatever
 * class loads first; {@link #assertNoLeaks} forces collection so that buffers never released get reported.
 */
public final class LeakTracker {
    private static final List<String> LEAKS = new ArrayList<>();

    private LeakTracker() {
    }

    /** Netty instantiates this; it looks for the (Class, int, long) constructor first and logs an error without it. */
    public static final class Recording<T> extends ResourceLeakDetector<T> {
        public Recording(Class<?> resourceType, int samplingInterval) {
            super(resourceType, samplingInterval);
        }

        @SuppressWarnings("deprecation")
        public Recording(Class<?> resourceType, int samplingInterval, long maxActive) {
            super(resourceType, samplingInterval, maxActive);
        }

        @Override
        protected void reportTracedLeak(String resourceType, String records) {
            record("LEAK " + resourceType + records);
            super.reportTracedLeak(resourceType, records);
        }

        @Override
        protected void reportUntracedLeak(String resourceType) {
            record("LEAK " + resourceType + " (untraced)");
            super.reportUntracedLeak(resourceType);
        }
    }

    private static synchronized void record(String leak) {
        LEAKS.add(leak);
    }

    /** Collects garbage and allocates so pending reports surface; fails with the records of any leak. */
    public static void assertNoLeaks() {
        for (int i = 0; i < 5; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            for (int j = 0; j < 100; j++) {
                ByteBuf b = PooledByteBufAllocator.DEFAULT.buffer(16);
                b.release();
            }
        }
        List<String> leaks;
        synchronized (LeakTracker.class) {
            leaks = new ArrayList<>(LEAKS);
            LEAKS.clear();
        }
        if (!leaks.isEmpty()) {
            throw new AssertionError(leaks.size() + " ByteBuf leak(s):\n" + String.join("\n\n", leaks));
        }
    }
}
