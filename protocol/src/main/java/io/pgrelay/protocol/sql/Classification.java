package io.pgrelay.protocol.sql;

import java.util.List;
import java.util.Objects;

/**
 * The classifier's verdict on one statement text.
 *
 * @param hint             from a leading {@code /* pgrelay: ... *}{@code /} comment, or the value of
 *                         {@link Command#SET_ROLE_HINT} (pgcat 'replica' is STANDBY; 'any', 'auto', 'default' AUTO;
 *                         NONE for a value pgrelay does not know)
 * @param unknownFunctions functions whose volatility is unknown; non-empty only when learning them could make the
 *                         route STANDBY (the route is PRIMARY meanwhile)
 */
public record Classification(Route route, Command command, RoleHint hint, List<String> unknownFunctions) {
    public Classification {
        Objects.requireNonNull(route, "route");
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(hint, "hint");
        unknownFunctions = List.copyOf(unknownFunctions);
    }

    public boolean readOnly() {
        return route == Route.STANDBY;
    }
}
