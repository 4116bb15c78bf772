package io.pgrelay.protocol.sql;

/** What the router must know about a statement besides its route. */
public enum Command {
    /** An ordinary statement (see the route). */
    QUERY,
    /** BEGIN / START TRANSACTION that is not read-only (or SERIALIZABLE, which a standby refuses). */
    BEGIN,
    /** BEGIN / START TRANSACTION READ ONLY: the whole block may run on a standby. */
    BEGIN_READ_ONLY,
    /** SET TRANSACTION READ ONLY (inside a block). */
    SET_TRANSACTION_READ_ONLY,
    /** COMMIT / END / ROLLBACK / ABORT (not PREPARE TRANSACTION, not AND CHAIN, not ROLLBACK TO). */
    END,
    /** SET [SESSION] default_transaction_read_only = on, SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY. */
    SET_DEFAULT_READ_ONLY_ON,
    /** The same with off / READ WRITE. */
    SET_DEFAULT_READ_ONLY_OFF,
    /** SET pgrelay.role / SET SERVER ROLE / RESET pgrelay.role: answered by pgrelay; value in the hint (NONE = invalid). */
    SET_ROLE_HINT,
    /** SHOW pgrelay.role / SHOW SERVER ROLE: answered by pgrelay. */
    SHOW_ROLE_HINT
}
