package io.pgrelay.protocol.sql;

/** A client's routing wish: from a leading {@code /* pgrelay: ... *}{@code /} comment or SET pgrelay.role. */
public enum RoleHint { NONE, PRIMARY, STANDBY, AUTO }
