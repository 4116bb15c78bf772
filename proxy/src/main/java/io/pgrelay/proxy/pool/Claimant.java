package io.pgrelay.proxy.pool;

import io.netty.channel.EventLoop;
import io.pgrelay.proxy.server.ServerConnection;

import java.util.function.Consumer;

/**
 * Who asks a pool for a connection. The pool answers on {@link #loop()}, exactly once per
 * {@link Pool#acquire(Claimant)} unless {@link Pool#cancel} took the claimant out of the queue first; a read offered to
 * several pools ({@link Pool#offer}) gets one answer, from the pool named in it. A grant can still arrive after the
 * claimant gave up (it was on its way): the claimant then hands the connection back with that pool's
 * {@link Pool#release}. A callback rather than a Promise: a busy pool serves a claim per transaction, and a promise
 * costs an object, two monitors and a listener dispatch each time.
 */
public interface Claimant {
    EventLoop loop();

    /** {@code conn} is the claimant's, from {@code pool} (which takes it back). */
    void granted(Pool pool, ServerConnection conn);

    /** {@code pool} could not give a connection. */
    void refused(Pool pool, Throwable cause);

    /** A claimant made of two callbacks, for the pool's occasional internal users. */
    static Claimant of(EventLoop loop, Consumer<ServerConnection> granted, Consumer<Throwable> refused) {
        return new Claimant() {
            @Override
            public EventLoop loop() {
                return loop;
            }

            @Override
            public void granted(Pool pool, ServerConnection conn) {
                granted.accept(conn);
            }

            @Override
            public void refused(Pool pool, Throwable cause) {
                refused.accept(cause);
            }
        };
    }
}
