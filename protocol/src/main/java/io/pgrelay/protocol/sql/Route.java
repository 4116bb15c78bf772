package io.pgrelay.protocol.sql;

/** Where a statement may run. */
public enum Route {
    PRIMARY,
    /** Read-only: may run on a standby. */
    STANDBY
}
