package io.pgrelay.proxy.health;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.pgrelay.proxy.server.ServerConnection;
import io.pgrelay.proxy.server.ServerConnector;
import io.pgrelay.proxy.server.ServerTarget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.function.Consumer;

import static io.pgrelay.proxy.server.ServerConnection.literal;

/**
 * auto_promote's actions, each on a connection of its own: {@code pg_promote()} on the chosen standby, then for
 * every other standby a replication slot of the same name on the new primary (when it streams through one) and
 * {@code primary_conninfo} pointed at the new primary with {@code ALTER SYSTEM} and {@code pg_reload_conf()}
 * (PostgreSQL 13 and later restart the WAL receiver on reload; recovery_target_timeline 'latest' follows the new
 * timeline). Needs a superuser, or the grants the README lists, as the pool user of each server.
 */
final class Promoter {
    private static final Logger log = LoggerFactory.getLogger(Promoter.class);

    private final ServerConnector connector;
    private final EventLoop loop;

    Promoter(ServerConnector connector, EventLoop loop) {
        this.connector = connector;
        this.loop = loop;
    }

    /** Promotes {@code standby} and re-points {@code followers} at it; fails with the first step that fails. */
    Future<Void> promote(ServerTarget standby, List<ServerTarget> followers) {
        Promise<Void> done = loop.newPromise();
        on(standby, done, primary -> primary.queryInternal("SELECT pg_catalog.pg_promote(true, 60)")
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        primary.close();
                        done.tryFailure(f.cause());
                        return;
                    }
                    @SuppressWarnings("unchecked")
                    List<List<String>> rows = (List<List<String>>) f.getNow();
                    if (!"t".equals(rows.get(0).get(0))) {
                        primary.close();
                        done.tryFailure(new IllegalStateException("pg_promote() on " + standby.address()
                                + " returned false: not promoted within 60 s"));
                        return;
                    }
                    log.warn("auto_promote: {} promoted", standby.address());
                    follow(primary, standby, followers, 0, done);
                }));
        return done;
    }

    private void follow(ServerConnection primary, ServerTarget primaryTarget, List<ServerTarget> followers, int i,
                        Promise<Void> done) {
        if (i == followers.size()) {
            primary.close();
            done.trySuccess(null);
            return;
        }
        ServerTarget f = followers.get(i);
        Promise<Void> step = loop.newPromise();
        step.addListener(s -> {
            if (!s.isSuccess()) {
                // One follower failing does not undo the promotion: say so and go on with the others.
                log.error("auto_promote: could not re-point {} at {}: {}", f.address(), primaryTarget.address(),
                        s.cause().getMessage());
            }
            follow(primary, primaryTarget, followers, i + 1, done);
        });
        on(f, step, standby -> standby.queryInternal("SELECT name, setting FROM pg_catalog.pg_settings WHERE name IN "
                + "('primary_conninfo', 'primary_slot_name') ORDER BY name").addListener(r -> {
                    if (!r.isSuccess()) {
                        standby.close();
                        step.tryFailure(r.cause());
                        return;
                    }
                    @SuppressWarnings("unchecked")
                    List<List<String>> rows = (List<List<String>>) r.getNow();
                    String conninfo = value(rows, "primary_conninfo");
                    String slot = value(rows, "primary_slot_name");
                    if (conninfo == null || conninfo.isEmpty()) {
                        standby.close();
                        step.tryFailure(new IllegalStateException("cannot read primary_conninfo (the user needs "
                                + "superuser or pg_read_all_settings)"));
                        return;
                    }
                    String next = Conninfo.withHostPort(conninfo, primaryTarget.host(), primaryTarget.port());
                    Future<Void> slotMade = slot == null || slot.isEmpty() ? loop.newSucceededFuture(null)
                            : primary.runInternal("SELECT pg_catalog.pg_create_physical_replication_slot("
                            + literal(slot) + ", true) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots"
                            + " WHERE slot_name = " + literal(slot) + ")");
                    slotMade.addListener(m -> {
                        if (!m.isSuccess()) {
                            standby.close();
                            step.tryFailure(m.cause());
                            return;
                        }
                        standby.runInternal("ALTER SYSTEM SET primary_conninfo = " + literal(next),
                                "SELECT pg_catalog.pg_reload_conf()").addListener(a -> {
                                    standby.close();
                                    if (a.isSuccess()) {
                                        log.warn("auto_promote: {} follows {} now", f.address(),
                                                primaryTarget.address());
                                        step.trySuccess(null);
                                    } else {
                                        step.tryFailure(a.cause());
                                    }
                                });
                    });
                }));
    }

    private static String value(List<List<String>> rows, String name) {
        for (List<String> row : rows) {
            if (row.get(0).equals(name)) {
                return row.get(1);
            }
        }
        return null;
    }

    /** Connects to {@code target} and hands the connection on, or fails {@code failed}. */
    private void on(ServerTarget target, Promise<Void> failed, Consumer<ServerConnection> then) {
        connector.connect(loop, target).addListener(f -> {
            if (f.isSuccess()) {
                then.accept((ServerConnection) f.getNow());
            } else {
                failed.tryFailure(f.cause());
            }
        });
    }
}
