package io.pgrelay.proxy.health;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides the role of every server of one cluster from what the probes last saw. Pure: the monitor feeds it the
 * observations and remembers the two things it carries from one decision to the next (the primary, the highest
 * timeline a primary has had), so every rule can be tested without a server.
 *
 * <ul>
 *   <li>Not probed yet: {@link Role#UNKNOWN} (routing then uses the config's role as a hint).</li>
 *   <li>Banned (failed probes, or BAN from the console): {@link Role#DOWN}.</li>
 *   <li>Answering {@code pg_is_in_recovery() = true}: {@link Role#STANDBY}.</li>
 *   <li>Answering {@code false}: a primary candidate. The candidate on the highest timeline wins (ties: the primary
 *       already chosen, then the most WAL, then config order); every other candidate is {@link Role#FENCED}, and so
 *       is a lone candidate on a timeline older than one a primary has already had: a former primary that came
 *       back after a standby was promoted must not take writes.</li>
 *   <li>The primary failing probes but not banned yet stays the primary while no other candidate exists, so a
 *       single lost probe does not stop writes; a failing standby is {@link Role#DOWN} at once (reads can go
 *       elsewhere without harm).</li>
 * </ul>
 */
public final class RoleDecider {
    public enum Role { UNKNOWN, PRIMARY, STANDBY, FENCED, DOWN }

    /**
     * What is known of one server.
     *
     * @param probed    at least one probe has answered since start (else UNKNOWN unless banned)
     * @param healthy   the last probe answered
     * @param banned    banned by health checks or by the console
     * @param inRecovery the last answer of pg_is_in_recovery()
     * @param timeline  the primary's current timeline (0 when unknown or a standby)
     * @param lsn       WAL position: current on a primary, received on a standby
     */
    public record Observation(String address, boolean probed, boolean healthy, boolean banned, boolean inRecovery,
                              long timeline, long lsn) {
    }

    /** Roles by address (in the order given) and the primary chosen, or null. */
    public record Decision(Map<String, Role> roles, String primary, long highestTimeline) {
    }

    private RoleDecider() {
    }

    /**
     * @param servers         the cluster's servers, in config order
     * @param currentPrimary  the primary of the previous decision, or null
     * @param highestTimeline the highest timeline a chosen primary has had so far (0: none yet)
     */
    public static Decision decide(List<Observation> servers, String currentPrimary, long highestTimeline) {
        Map<String, Role> roles = new LinkedHashMap<>();
        Observation winner = null;
        for (Observation o : servers) {
            if (o.banned()) {
                roles.put(o.address(), Role.DOWN);
            } else if (!o.probed()) {
                roles.put(o.address(), Role.UNKNOWN);
            } else if (!o.healthy()) {
                roles.put(o.address(), Role.DOWN); // may be kept as the primary below
            } else if (o.inRecovery()) {
                roles.put(o.address(), Role.STANDBY);
            } else {
                roles.put(o.address(), Role.FENCED); // a candidate: FENCED unless it wins
                if (winner == null || better(o, winner, currentPrimary)) {
                    winner = o;
                }
            }
        }
        String primary = null;
        long highest = highestTimeline;
        if (winner != null && winner.timeline() >= highestTimeline) {
            primary = winner.address();
            highest = Math.max(highest, winner.timeline());
            roles.put(primary, Role.PRIMARY);
        } else if (winner == null && currentPrimary != null) {
            for (Observation o : servers) {
                if (o.address().equals(currentPrimary) && !o.banned() && o.probed() && !o.healthy()) {
                    primary = currentPrimary; // one failed probe is not a failover
                    roles.put(primary, Role.PRIMARY);
                }
            }
        }
        return new Decision(roles, primary, highest);
    }

    private static boolean better(Observation a, Observation b, String currentPrimary) {
        if (a.timeline() != b.timeline()) {
            return a.timeline() > b.timeline();
        }
        if (a.address().equals(currentPrimary) != b.address().equals(currentPrimary)) {
            return a.address().equals(currentPrimary);
        }
        return a.lsn() > b.lsn(); // equal: the earlier in config order stays
    }
}
