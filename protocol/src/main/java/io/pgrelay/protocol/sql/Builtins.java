package io.pgrelay.protocol.sql;

import java.util.Set;

/** Names the classifier knows without asking pg_proc. */
final class Builtins {
    private Builtins() {
    }

    private static Set<String> names(String... names) {
        return Set.copyOf(java.util.Arrays.asList(names)); // tolerates a name listed twice
    }

    /** Functions that write, take locks, assign an xid, or change session or server state: always PRIMARY. */
    static final Set<String> WRITERS = names(
            "nextval", "setval", "currval", "lastval", // currval/lastval: session state left by nextval
            "pg_notify", "txid_current", "pg_current_xact_id", "loread", "lowrite",
            "pg_switch_wal", "pg_create_restore_point", "pg_reload_conf", "pg_rotate_logfile",
            "pg_terminate_backend", "pg_cancel_backend", "pg_promote", "pg_backup_start", "pg_backup_stop",
            "pg_start_backup", "pg_stop_backup", "pg_import_system_collations", "pg_log_backend_memory_contexts",
            "brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range", "gin_clean_pending_list",
            "pg_export_snapshot", "pg_wal_replay_pause", "pg_wal_replay_resume", "pg_replication_slot_advance",
            "pg_logical_slot_get_changes", "pg_logical_slot_get_binary_changes", "pg_logical_emit_message",
            "pg_file_write", "pg_file_unlink", "pg_file_rename", "pg_file_sync", "pg_truncate_visibility_map",
            "pg_prewarm", "pg_stat_statements_reset", "pg_sequence_parameters");

    /** Prefixes of writer families (a user function that happens to match is only sent to the primary). */
    static final String[] WRITER_PREFIXES = {
        "pg_advisory_", "pg_try_advisory_", "lo_", "dblink", "pg_stat_reset", "pg_replication_origin_",
        "pg_create_", "pg_drop_", "pg_copy_"
    };

    static boolean isWriter(String bareName) {
        if (WRITERS.contains(bareName)) {
            return true;
        }
        for (String prefix : WRITER_PREFIXES) {
            if (bareName.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    /** Built-in functions that never write (immutable, stable, or volatile without side effects). */
    static final Set<String> READERS = names(
            // aggregates and window functions
            "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or", "every",
            "bit_and", "bit_or", "bit_xor", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
            "corr", "covar_pop", "covar_samp", "regr_slope", "regr_intercept", "regr_count", "regr_r2",
            "percentile_cont", "percentile_disc", "mode", "any_value", "xmlagg", "range_agg", "range_intersect_agg",
            "rank", "dense_rank", "row_number", "ntile", "lag", "lead", "first_value", "last_value", "nth_value",
            "cume_dist", "percent_rank", "grouping",
            // time
            "now", "current_timestamp", "current_time", "current_date", "localtime", "localtimestamp",
            "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday", "date_trunc",
            "date_part", "date_bin", "extract", "age", "make_date", "make_time", "make_timestamp", "make_timestamptz",
            "make_interval", "justify_days", "justify_hours", "justify_interval", "isfinite", "to_char", "to_date",
            "to_timestamp", "to_number", "date", "timezone", "pg_sleep", "pg_sleep_for", "pg_sleep_until",
            // conditionals, strings
            "coalesce", "nullif", "greatest", "least", "lower", "upper", "initcap", "length", "char_length",
            "character_length", "octet_length", "bit_length", "substring", "substr", "position", "strpos", "trim",
            "btrim", "ltrim", "rtrim", "lpad", "rpad", "replace", "split_part", "concat", "concat_ws", "left",
            "right", "reverse", "repeat", "translate", "overlay", "normalize", "unistr", "ascii", "chr", "to_hex",
            "to_ascii", "starts_with", "regexp_replace", "regexp_match", "regexp_matches", "regexp_split_to_array",
            "regexp_split_to_table", "regexp_like", "regexp_count", "regexp_instr", "regexp_substr", "md5", "sha224",
            "sha256", "sha384", "sha512", "encode", "decode", "format", "quote_ident", "quote_literal",
            "quote_nullable", "string_to_array", "string_to_table", "array_to_string", "convert_from", "convert_to",
            "get_byte", "set_byte", "get_bit", "set_bit", "bit_count", "hashtext", "text", "similar_to_escape",
            // numbers
            "abs", "ceil", "ceiling", "floor", "round", "trunc", "sign", "sqrt", "cbrt", "power", "pow", "exp", "ln",
            "log", "log10", "mod", "div", "pi", "degrees", "radians", "sin", "cos", "tan", "asin", "acos", "atan",
            "atan2", "width_bucket", "random", "random_normal", "setseed", "gcd", "lcm", "factorial", "scale",
            "trim_scale", "min_scale", "gen_random_uuid", "uuidv4", "uuidv7", "uuid_extract_timestamp",
            // arrays, ranges, sets
            "array_length", "array_upper", "array_lower", "array_ndims", "array_dims", "array_position",
            "array_positions", "array_remove", "array_replace", "array_append", "array_prepend", "array_cat",
            "array_fill", "array_sample", "array_shuffle", "trim_array", "cardinality", "unnest", "generate_series",
            "generate_subscripts", "isempty", "lower_inc", "upper_inc", "lower_inf", "upper_inf", "range_merge",
            "int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange",
            // json and jsonb
            "to_json", "to_jsonb", "row_to_json", "array_to_json", "json_agg", "jsonb_agg", "json_object_agg",
            "jsonb_object_agg", "json_build_object", "jsonb_build_object", "json_build_array", "jsonb_build_array",
            "json_object", "jsonb_object", "json_array", "json_array_length", "jsonb_array_length", "json_each",
            "jsonb_each", "json_each_text", "jsonb_each_text", "json_extract_path", "jsonb_extract_path",
            "json_extract_path_text", "jsonb_extract_path_text", "json_object_keys", "jsonb_object_keys",
            "json_populate_record", "jsonb_populate_record", "json_populate_recordset", "jsonb_populate_recordset",
            "json_array_elements", "jsonb_array_elements", "json_array_elements_text", "jsonb_array_elements_text",
            "json_typeof", "jsonb_typeof", "json_strip_nulls", "jsonb_strip_nulls", "jsonb_set", "jsonb_set_lax",
            "jsonb_insert", "jsonb_pretty", "jsonb_path_query", "jsonb_path_exists", "jsonb_path_match",
            "jsonb_path_query_array", "jsonb_path_query_first", "json_to_record", "jsonb_to_record",
            "json_to_recordset", "jsonb_to_recordset", "json_scalar", "json_serialize", "json_exists", "json_query",
            "json_value", "json_table", "json", "json_objectagg", "json_arrayagg",
            // text search, xml
            "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery", "ts_rank",
            "ts_rank_cd", "ts_headline", "setweight", "xmlelement", "xmlforest", "xmlconcat", "xmlparse", "xmlpi",
            "xmlroot", "xmlserialize", "xmlexists", "xpath", "xpath_exists", "xmltable",
            // session and catalog information
            "version", "current_setting", "current_user", "session_user", "current_schema", "current_schemas",
            "current_database", "current_catalog", "inet_client_addr", "inet_client_port", "inet_server_addr",
            "inet_server_port", "pg_backend_pid", "pg_postmaster_start_time", "pg_conf_load_time",
            "pg_is_in_recovery", "pg_is_wal_replay_paused", "pg_last_wal_receive_lsn", "pg_last_wal_replay_lsn",
            "pg_last_xact_replay_timestamp", "pg_wal_lsn_diff", "pg_current_snapshot", "txid_current_snapshot",
            "pg_snapshot_xmin", "pg_snapshot_xmax", "pg_typeof", "pg_column_size", "pg_size_pretty",
            "pg_size_bytes", "pg_total_relation_size", "pg_relation_size", "pg_table_size", "pg_indexes_size",
            "pg_database_size", "pg_tablespace_size", "pg_get_userbyid", "format_type", "pg_get_expr",
            "pg_get_indexdef", "pg_get_constraintdef", "pg_get_viewdef", "pg_get_functiondef",
            "pg_get_function_arguments", "pg_get_function_result", "pg_get_function_identity_arguments",
            "pg_get_triggerdef", "pg_get_ruledef", "pg_get_statisticsobjdef", "pg_get_serial_sequence",
            "pg_get_keywords", "pg_get_partkeydef", "pg_get_partition_constraintdef", "pg_table_is_visible",
            "pg_type_is_visible", "pg_function_is_visible", "pg_operator_is_visible", "pg_collation_is_visible",
            "pg_opclass_is_visible", "pg_conversion_is_visible", "pg_ts_config_is_visible",
            "pg_statistics_obj_is_visible", "pg_encoding_to_char", "pg_char_to_encoding", "pg_tablespace_location",
            "pg_relation_filenode", "pg_relation_filepath", "pg_filenode_relation", "pg_partition_root",
            "pg_partition_tree", "pg_partition_ancestors", "pg_index_column_has_property", "pg_index_has_property",
            "pg_indexam_has_property", "pg_options_to_table", "pg_get_publication_tables", "pg_describe_object",
            "pg_identify_object", "pg_identify_object_as_address", "obj_description", "col_description",
            "shobj_description", "has_table_privilege", "has_schema_privilege", "has_database_privilege",
            "has_column_privilege", "has_any_column_privilege", "has_function_privilege", "has_sequence_privilege",
            "has_type_privilege", "has_tablespace_privilege", "has_foreign_data_wrapper_privilege",
            "has_server_privilege", "has_language_privilege", "has_parameter_privilege", "pg_has_role",
            "to_regclass", "to_regtype", "to_regproc", "to_regprocedure", "to_regnamespace", "to_regrole",
            "to_regoper", "to_regtypemod", "pg_input_is_valid", "pg_input_error_info", "pg_stat_get_activity",
            "pg_blocking_pids", "pg_safe_snapshot_blocking_pids", "pg_jit_available", "pg_listening_channels",
            "pg_notification_queue_usage", "pg_trigger_depth", "pg_current_logfile", "row_security_active",
            "system_user", "merge_action", "num_nulls", "num_nonnulls", "pg_client_encoding",
            "set_config", // only reached when is_local is a literal true
            // function-style casts
            "int2", "int4", "int8", "float4", "float8", "bool", "bpchar", "inet", "cidr", "macaddr", "name", "oid");

    /**
     * Keywords that may stand before "(" without being a function call (IN (...), OVER (...), type modifiers such as
     * varchar(10), ...). Names PostgreSQL parses as functions (coalesce, extract, ...) are readers instead.
     */
    static final Set<String> NOT_FUNCTIONS = names(
            "in", "exists", "any", "all", "some", "values", "as", "from", "join", "on", "using", "where", "and", "or",
            "not", "select", "over", "filter", "group", "row", "array", "case", "when", "then", "else", "end",
            "between", "like", "ilike", "similar", "escape", "is", "distinct", "union", "intersect", "except",
            "lateral", "by", "limit", "offset", "having", "to", "returning", "with", "table", "into", "sets",
            "rollup", "cube", "columns", "ordinality", "repeatable", "tablesample", "window", "range", "rows",
            "groups", "fetch", "first", "next", "only", "materialized", "recursive", "operator", "symmetric",
            "asymmetric", "overlaps", "zone", "default", "of", "for", "set", "passing", "path", "nested", "format",
            "keys", "unique", "cast", "preceding", "following", "exclude", "partition", "order", "within",
            "variadic", "collate", "at", "isnull", "notnull", "cycle", "search", "plan", "wrapper", "empty", "error",
            "varying", "character", "char", "varchar", "nchar", "national", "numeric", "decimal", "dec", "float",
            "time", "timestamp", "interval", "bit", "varbit", "timetz", "timestamptz", "second", "minute", "hour",
            "day", "month", "year", "precision", "double", "setof", "only", "local", "leading", "trailing", "both");
}
