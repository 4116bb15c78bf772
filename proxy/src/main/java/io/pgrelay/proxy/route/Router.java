package io.pgrelay.proxy.route;

import io.pgrelay.config.Routing;
import io.pgrelay.protocol.sql.Classification;
import io.pgrelay.protocol.sql.Command;
import io.pgrelay.protocol.sql.RoleHint;
import io.pgrelay.protocol.sql.Route;
import io.pgrelay.proxy.metrics.RouteStats;

/**
 * One client's routing state and decisions: where its next unit of work (a Query, or an extended-protocol batch up
 * to Sync) goes. Writes and anything not known to be read-only go to the primary; a unit goes to a standby only when
 * every statement in it is a read, nothing forces the primary (hint, read-your-writes window), and the pool splits
 * reads at all. A transaction stays on the server it started on; the relay sees to that.
 */
public final class Router {
    /** Where a unit of work runs. */
    public enum Target { PRIMARY, STANDBY }

    private final Routing routing;
    /** SET pgrelay.role / SET SERVER ROLE: NONE and AUTO both mean "classify". */
    private RoleHint sessionRole;
    /** SET default_transaction_read_only = on: a plain BEGIN then starts a read-only transaction. */
    private boolean defaultReadOnly;
    private long lastWriteNanos;
    private boolean wroteEver;
    /** LSN mode: the WAL position the client's last write reached, and whether it is still being asked for. */
    private long readLsn;
    private boolean lsnPending;
    /** Why the last {@link #decide} went where it went, for SHOW ROUTES and the metrics. */
    private RouteStats.Reason lastReason = RouteStats.Reason.DEFAULT;

    public RouteStats.Reason lastReason() {
        return lastReason;
    }

    public Router(Routing routing) {
        this.routing = routing;
        this.sessionRole = switch (routing.defaultRole()) {
            case PRIMARY -> RoleHint.PRIMARY;
            case REPLICA -> RoleHint.STANDBY;
            default -> RoleHint.AUTO;
        };
    }

    /** Whether a plain BEGIN starts a read-only transaction (SET default_transaction_read_only = on). */
    public boolean defaultReadOnly() {
        return defaultReadOnly;
    }

    public RoleHint sessionRole() {
        return sessionRole;
    }

    public void setSessionRole(RoleHint role) {
        this.sessionRole = role == RoleHint.NONE ? RoleHint.AUTO : role;
    }

    /** The decision for one statement; batches combine theirs with {@link #combine}. */
    public Target decide(Classification c) {
        if (c.command() == Command.SET_DEFAULT_READ_ONLY_ON) {
            defaultReadOnly = true;
        } else if (c.command() == Command.SET_DEFAULT_READ_ONLY_OFF) {
            defaultReadOnly = false;
        }
        // A hint in the statement's own leading comment beats the session's role.
        RoleHint hint = c.hint() != RoleHint.NONE && c.command() != Command.SET_ROLE_HINT ? c.hint() : sessionRole;
        if (hint == RoleHint.PRIMARY || hint == RoleHint.STANDBY) {
            lastReason = RouteStats.Reason.HINT;
            return hint == RoleHint.PRIMARY ? Target.PRIMARY : Target.STANDBY;
        }
        if (!routing.queryParserEnabled() || !routing.readWriteSplitting()) {
            lastReason = RouteStats.Reason.DEFAULT;
            return Target.PRIMARY;
        }
        if (inReadYourWritesWindow() || lsnPending) {
            lastReason = RouteStats.Reason.READ_YOUR_WRITES;
            return Target.PRIMARY;
        }
        lastReason = RouteStats.Reason.STATEMENT;
        switch (c.command()) {
            case BEGIN:
                return defaultReadOnly ? Target.STANDBY : Target.PRIMARY;
            case BEGIN_READ_ONLY:
            case SET_TRANSACTION_READ_ONLY: // first in a transaction whose BEGIN pgrelay deferred
                return Target.STANDBY;
            case QUERY:
                return c.route() == Route.STANDBY ? Target.STANDBY : Target.PRIMARY;
            default:
                return Target.PRIMARY;
        }
    }

    /** A batch may run on a standby only if every statement in it may. */
    public static Target combine(Target a, Target b) {
        return a == Target.PRIMARY || b == Target.PRIMARY ? Target.PRIMARY : Target.STANDBY;
    }

    /** A unit of work on the primary has finished; in window mode the client's reads follow it for a while. */
    public void wrote(long nowNanos) {
        lastWriteNanos = nowNanos;
        wroteEver = true;
    }

    /** LSN mode: a write just ended; its WAL position is being asked for, reads stay on the primary meanwhile. */
    public void lsnPending() {
        lsnPending = true;
    }

    /** LSN mode: the client's reads may go only to standbys that replayed up to here. */
    public void wroteAt(long lsn) {
        readLsn = Math.max(readLsn, lsn);
        lsnPending = false;
    }

    /** The replay position a standby needs for this client's reads; 0 when any will do. */
    public long minLsn() {
        return routing.readYourWrites() == Routing.ReadYourWrites.LSN ? readLsn : 0;
    }

    private boolean inReadYourWritesWindow() {
        return routing.readYourWrites() == Routing.ReadYourWrites.WINDOW && wroteEver
                && System.nanoTime() - lastWriteNanos < routing.readYourWritesWindow().toNanos();
    }
}
