package io.pgrelay.proxy.health;

import io.pgrelay.proxy.health.RoleDecider.Decision;
import io.pgrelay.proxy.health.RoleDecider.Observation;
import io.pgrelay.proxy.health.RoleDecider.Role;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RoleDeciderTest {
    private static Observation primary(String a, long timeline, long lsn) {
        return new Observation(a, true, true, false, false, timeline, lsn);
    }

    private static Observation standby(String a, long lsn) {
        return new Observation(a, true, true, false, true, 0, lsn);
    }

    private static Observation failing(String a) {
        return new Observation(a, true, false, false, false, 0, 0);
    }

    private static Observation banned(String a) {
        return new Observation(a, true, false, true, false, 0, 0);
    }

    private static Observation unprobed(String a) {
        return new Observation(a, false, false, false, false, 0, 0);
    }

    @Test
    void probesDecideRolesWhateverTheConfigSaid() {
        Decision d = RoleDecider.decide(List.of(standby("a", 10), primary("b", 1, 20), standby("c", 10)), null, 0);
        assertThat(d.primary()).isEqualTo("b");
        assertThat(d.roles()).containsExactly(java.util.Map.entry("a", Role.STANDBY),
                java.util.Map.entry("b", Role.PRIMARY), java.util.Map.entry("c", Role.STANDBY));
        assertThat(d.highestTimeline()).isEqualTo(1);
    }

    @Test
    void notProbedYetIsUnknown() {
        Decision d = RoleDecider.decide(List.of(unprobed("a"), standby("b", 1)), null, 0);
        assertThat(d.primary()).isNull();
        assertThat(d.roles().get("a")).isEqualTo(Role.UNKNOWN);
    }

    @Test
    void aPrimaryFailingOneProbeStaysPrimaryUntilBanned() {
        Decision d = RoleDecider.decide(List.of(failing("a"), standby("b", 5)), "a", 1);
        assertThat(d.primary()).isEqualTo("a");
        assertThat(d.roles().get("a")).isEqualTo(Role.PRIMARY);

        Decision after = RoleDecider.decide(List.of(banned("a"), standby("b", 5)), "a", 1);
        assertThat(after.primary()).isNull();
        assertThat(after.roles().get("a")).isEqualTo(Role.DOWN);
    }

    @Test
    void aPromotedStandbyTakesOverFromAFailingPrimaryAtOnce() {
        Decision d = RoleDecider.decide(List.of(failing("a"), primary("b", 2, 50), standby("c", 40)), "a", 1);
        assertThat(d.primary()).isEqualTo("b");
        assertThat(d.roles().get("a")).isEqualTo(Role.DOWN);
        assertThat(d.highestTimeline()).isEqualTo(2);
    }

    @Test
    void theOldPrimaryComingBackOnAnOlderTimelineIsFenced() {
        Decision d = RoleDecider.decide(List.of(primary("a", 1, 90), primary("b", 2, 50)), "b", 2);
        assertThat(d.primary()).isEqualTo("b");
        assertThat(d.roles().get("a")).isEqualTo(Role.FENCED);
    }

    @Test
    void aLoneFormerPrimaryOnAnOlderTimelineIsFencedToo() {
        // The new primary is down; the old one is back on timeline 1 after timeline 2 was seen: no writes to it.
        Decision d = RoleDecider.decide(List.of(primary("a", 1, 90), banned("b")), "b", 2);
        assertThat(d.primary()).isNull();
        assertThat(d.roles().get("a")).isEqualTo(Role.FENCED);
    }

    @Test
    void twoPrimariesOnOneTimelineKeepTheCurrentOne() {
        Decision d = RoleDecider.decide(List.of(primary("a", 3, 10), primary("b", 3, 99)), "a", 3);
        assertThat(d.primary()).isEqualTo("a");
        assertThat(d.roles().get("b")).isEqualTo(Role.FENCED);
    }

    @Test
    void twoNewPrimariesOnOneTimelineTheOneWithMoreWalWins() {
        Decision d = RoleDecider.decide(List.of(primary("a", 3, 10), primary("b", 3, 99)), "x", 2);
        assertThat(d.primary()).isEqualTo("b");
        assertThat(d.roles().get("a")).isEqualTo(Role.FENCED);
    }

    @Test
    void aFencedServerRejoiningAsStandbyIsAStandby() {
        Decision d = RoleDecider.decide(List.of(standby("a", 10), primary("b", 2, 50)), "b", 2);
        assertThat(d.roles().get("a")).isEqualTo(Role.STANDBY);
    }

    @Test
    void aBannedStandbyIsDown() {
        Decision d = RoleDecider.decide(List.of(primary("a", 1, 10), new Observation("b", true, true, true, true, 0, 0)),
                "a", 1);
        assertThat(d.roles().get("b")).isEqualTo(Role.DOWN);
    }
}
