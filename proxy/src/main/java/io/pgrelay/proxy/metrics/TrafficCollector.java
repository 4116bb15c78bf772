package io.pgrelay.proxy.metrics;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.ClassicHistogramBuckets;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.HistogramSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;

import java.util.Collection;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The latency histograms of every pool ({@code pgrelay_transactions_seconds}, {@code pgrelay_queries_seconds},
 * {@code pgrelay_client_wait_seconds}, each with a {@code _max} gauge), read from the pools' {@link TrafficShard}s at
 * scrape time. Same names, help, labels and buckets as when they were Micrometer timers.
 */
final class TrafficCollector implements MultiCollector {
    private static final double[] UPPER_BOUNDS_SECONDS = upperBounds();

    private record Family(String name, String help, Function<TrafficShard, TrafficShard.Latency> latency) {
    }

    private static final List<Family> FAMILIES = List.of(
            new Family("pgrelay_transactions_seconds", "Transactions ended (client-visible duration)", s -> s.xact),
            new Family("pgrelay_queries_seconds", "Queries answered (to ReadyForQuery)", s -> s.query),
            new Family("pgrelay_client_wait_seconds", "Time clients waited for a server connection, per assignment",
                    s -> s.wait));

    private final Supplier<Collection<TrafficStats>> pools;

    TrafficCollector(Supplier<Collection<TrafficStats>> pools) {
        this.pools = pools;
    }

    private static double[] upperBounds() {
        double[] b = new double[TrafficShard.BOUNDS.length + 1];
        for (int i = 0; i < TrafficShard.BOUNDS.length; i++) {
            b[i] = TrafficShard.BOUNDS[i] / 1e9;
        }
        b[b.length - 1] = Double.POSITIVE_INFINITY;
        return b;
    }

    @Override
    public MetricSnapshots collect() {
        long now = System.nanoTime();
        MetricSnapshots.Builder out = MetricSnapshots.builder();
        for (Family f : FAMILIES) {
            HistogramSnapshot.Builder histogram = HistogramSnapshot.builder().name(f.name).help(f.help)
                    .unit(Unit.SECONDS);
            GaugeSnapshot.Builder max = GaugeSnapshot.builder().name(f.name + "_max").help(f.help);
            for (TrafficStats pool : pools.get()) {
                long[] counts = new long[UPPER_BOUNDS_SECONDS.length];
                long sumNanos = 0;
                long maxNanos = 0;
                for (TrafficShard shard : pool.shards()) {
                    TrafficShard.Latency l = f.latency.apply(shard);
                    l.addCounts(counts);
                    sumNanos += l.sumNanos();
                    maxNanos = Math.max(maxNanos, l.maxNanos(now));
                }
                Labels labels = Labels.of("database", pool.database(), "user", pool.user());
                histogram.dataPoint(HistogramSnapshot.HistogramDataPointSnapshot.builder()
                        .classicHistogramBuckets(ClassicHistogramBuckets.of(UPPER_BOUNDS_SECONDS, counts))
                        .sum(sumNanos / 1e9).labels(labels).build());
                max.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(maxNanos / 1e9).labels(labels)
                        .build());
            }
            out.metricSnapshot(histogram.build()).metricSnapshot(max.build());
        }
        return out.build();
    }

    @Override
    public List<String> getPrometheusNames() {
        return FAMILIES.stream().flatMap(f -> java.util.stream.Stream.of(f.name, f.name + "_max")).toList();
    }
}
