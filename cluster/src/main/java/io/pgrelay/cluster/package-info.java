/**
 * A real local PostgreSQL cluster for integration tests and {@code pgrelay demo}.
 *
 * <pre>{@code
 * try (LocalCluster c = LocalCluster.builder().standbys(2).start()) {   // about a second
 *     c.execute(c.primary(), c.appDatabase(), "CREATE TABLE t (id int)");
 *     c.awaitReplay(Duration.ofSeconds(10));
 *     c.query(c.standbys().get(0), c.appDatabase(), "SELECT count(*) FROM t");
 *     c.kill(c.primary());
 *     c.promote(c.standbys().get(0));
 * }
 * }</pre>
 *
 * Binaries: see {@link io.pgrelay.cluster.PgBinaries#locate()}. As root, the servers run as OS user {@code postgres}
 * (else {@code nobody}). Clusters live under /tmp/pgrelay-clusters-UID (system property
 * {@code pgrelay.cluster.root}); a shutdown hook stops them, and the next start() in any JVM stops and removes those
 * whose JVM was killed.
 */
package io.pgrelay.cluster;
