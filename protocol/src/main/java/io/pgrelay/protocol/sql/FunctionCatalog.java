package io.pgrelay.protocol.sql;

/** What the router learnt from pg_proc about user functions. */
@FunctionalInterface
public interface FunctionCatalog {
    /**
     * Null when unknown (the classifier then lists the name in unknownFunctions and says PRIMARY).
     *
     * @param functionName name as written, lower-cased unless quoted; schema-qualified if it was ("myschema.f")
     */
    Boolean isReadOnly(String functionName);

    FunctionCatalog NONE = name -> null;
}
