package io.pgrelay.proxy.it;

import io.pgrelay.cluster.LocalCluster;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * One real primary + two standbys for the whole test run: tests that only read and write share it (starting a
 * cluster costs seconds). Tests that stop or promote servers start their own. The harness stops it at JVM exit.
 */
public final class SharedCluster {
    private static LocalCluster cluster;

    private SharedCluster() {
    }

    public static synchronized LocalCluster get() {
        if (cluster == null) {
            try {
                cluster = LocalCluster.builder().start();
            } catch (IOException e) {
                throw new UncheckedIOException("could not start the test cluster", e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(cluster::close, "shared-cluster-stop"));
        }
        return cluster;
    }
}
