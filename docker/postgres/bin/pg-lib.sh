# shellcheck shell=bash
# Shared by pg-entrypoint and the operator scripts (pg-promote, pg-rejoin, pg-retire-standby, pg-base-backup,
# pg-status, pg-healthcheck). Everything comes from environment variables and paths, so the same scripts run in the
# image and, in the tests, against local data directories with the local PostgreSQL binaries.
#
# Environment (defaults in brackets; .env.example at the repository root documents the compose side):
#   PGDATA [/var/lib/postgresql/data]     data directory
#   PG_ROLE                               primary | standby: what an empty PGDATA becomes (pg-entrypoint)
#   PG_NODE_NAME [hostname]               this server's name: its replication slot and application_name
#   PG_NODES [primary,standby1,standby2]  every server's name: a primary keeps a slot for each of the others
#   PG_PRIMARY_HOST, PG_PRIMARY_PORT [5432]  the primary a standby streams from (and rewinds against)
#   PG_PORT [5432], PG_LISTEN_ADDRESSES [*], PG_SOCKET_DIR [/var/run/postgresql]
#   POSTGRES_USER [postgres], POSTGRES_PASSWORD   superuser (also used across servers: slots, pg_rewind)
#   PG_REPLICATION_USER [replicator], PG_REPLICATION_PASSWORD
#   APP_DB [app], APP_USER [app], APP_PASSWORD    the application's database and its owner (primary init)
#   PG_SYNCHRONOUS_STANDBY_NAMES []       e.g. "ANY 1 (*)"; empty: asynchronous replication
#   PG_TLS_CERT_FILE [/certs/server.crt], PG_TLS_KEY_FILE [/certs/server.key], PG_TLS_CA_FILE [/certs/ca.crt]
#                                         TLS is on when the certificate and key exist
#   PG_TLS_DIR [/var/lib/postgresql/tls]  where private copies of them are kept (the key must be 0600, ours)
#   PG_TLS_REQUIRED [off]                 on: TCP clients and standbys must use TLS (hostssl rules)
#   PG_CRON [auto], PG_CRON_SCHEDULE [0 3 * * 0]  auto: pg_cron when installed; off: never
#   PG_WAL_KEEP_SIZE [512MB], PG_MAX_SLOT_WAL_KEEP_SIZE [10GB]
#   PG_INITDB_ARGS [--encoding=UTF8 --locale=C.UTF-8], PG_EXTRA_CONF [] (extra postgresql.conf lines)
#   PG_WAIT_TIMEOUT [300]                 seconds to wait for the primary
#   PG_BACKUP_DIR [/backups]              where pg-base-backup writes
#   PG_BIN []                             PostgreSQL's bin directory when it is not on PATH
#   PG_OS_USER [postgres]                 the user the scripts switch to when started as root

PGR_PROG=$(basename "$0")

pgr_say() { printf '%s: %s\n' "$PGR_PROG" "$*"; }
pgr_warn() { printf '%s: warning: %s\n' "$PGR_PROG" "$*" >&2; }
pgr_die() {
    printf '%s: %s\n' "$PGR_PROG" "$*" >&2
    exit 1
}

# Defaults and checks shared by every script; names become SQL identifiers and pg_hba words, so keep them plain.
pgr_defaults() {
    export PGDATA=${PGDATA:-/var/lib/postgresql/data}
    if [ -n "${PG_BIN:-}" ]; then
        PATH=$PG_BIN:$PATH
    fi
    PG_ROLE=${PG_ROLE:-}
    PG_NODE_NAME=${PG_NODE_NAME:-$(hostname)}
    PG_NODE_NAME=$(printf '%s' "$PG_NODE_NAME" | tr '[:upper:].-' '[:lower:]__' | tr -cd 'a-z0-9_')
    PG_NODES=${PG_NODES:-primary,standby1,standby2}
    PG_PRIMARY_HOST=${PG_PRIMARY_HOST:-}
    PG_PRIMARY_PORT=${PG_PRIMARY_PORT:-5432}
    PG_PORT=${PG_PORT:-5432}
    PG_LISTEN_ADDRESSES=${PG_LISTEN_ADDRESSES:-*}
    PG_SOCKET_DIR=${PG_SOCKET_DIR:-/var/run/postgresql}
    POSTGRES_USER=${POSTGRES_USER:-postgres}
    POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-}
    PG_REPLICATION_USER=${PG_REPLICATION_USER:-replicator}
    PG_REPLICATION_PASSWORD=${PG_REPLICATION_PASSWORD:-}
    APP_DB=${APP_DB:-app}
    APP_USER=${APP_USER:-app}
    APP_PASSWORD=${APP_PASSWORD:-}
    PG_SYNCHRONOUS_STANDBY_NAMES=${PG_SYNCHRONOUS_STANDBY_NAMES:-}
    PG_TLS_CERT_FILE=${PG_TLS_CERT_FILE:-/certs/server.crt}
    PG_TLS_KEY_FILE=${PG_TLS_KEY_FILE:-/certs/server.key}
    PG_TLS_CA_FILE=${PG_TLS_CA_FILE:-/certs/ca.crt}
    PG_TLS_DIR=${PG_TLS_DIR:-/var/lib/postgresql/tls}
    PG_TLS_REQUIRED=${PG_TLS_REQUIRED:-off}
    PG_CRON=${PG_CRON:-auto}
    PG_CRON_SCHEDULE=${PG_CRON_SCHEDULE:-0 3 * * 0}
    PG_WAL_KEEP_SIZE=${PG_WAL_KEEP_SIZE:-512MB}
    PG_MAX_SLOT_WAL_KEEP_SIZE=${PG_MAX_SLOT_WAL_KEEP_SIZE:-10GB}
    PG_INITDB_ARGS=${PG_INITDB_ARGS:---encoding=UTF8 --locale=C.UTF-8}
    PG_EXTRA_CONF=${PG_EXTRA_CONF:-}
    PG_WAIT_TIMEOUT=${PG_WAIT_TIMEOUT:-300}
    PG_BACKUP_DIR=${PG_BACKUP_DIR:-/backups}
    PG_OS_USER=${PG_OS_USER:-postgres}

    [ -n "$PG_NODE_NAME" ] || pgr_die "PG_NODE_NAME is empty"
    local v
    for v in POSTGRES_USER PG_REPLICATION_USER APP_DB APP_USER; do
        [[ ${!v} =~ ^[a-z_][a-z0-9_]*$ ]] || pgr_die "$v=${!v}: use lower-case letters, digits and _ only"
    done
    case $PG_TLS_REQUIRED in on | off) ;; *) pgr_die "PG_TLS_REQUIRED=$PG_TLS_REQUIRED: on or off" ;; esac
    case $PG_CRON in auto | on | off) ;; *) pgr_die "PG_CRON=$PG_CRON: auto, on or off" ;; esac
}

# Fails unless each named variable is set and not empty.
pgr_need() {
    local v
    for v in "$@"; do
        [ -n "${!v:-}" ] || pgr_die "$v must be set"
    done
}

# Re-runs the calling script as the PostgreSQL OS user when started as root (docker exec defaults to root):
# PostgreSQL refuses to run as root, and the files it uses must belong to its user.
pgr_drop_root() {
    [ "$(id -u)" = 0 ] || return 0
    if command -v gosu >/dev/null 2>&1; then
        exec gosu "$PG_OS_USER" "$0" "$@"
    fi
    local runuser
    for runuser in runuser /usr/sbin/runuser /sbin/runuser; do
        if command -v "$runuser" >/dev/null 2>&1; then
            exec "$runuser" -u "$PG_OS_USER" -- "$0" "$@"
        fi
    done
    pgr_die "running as root, and neither gosu nor runuser is installed to switch to $PG_OS_USER"
}

# A value for postgresql.conf: single-quoted, quotes doubled.
pgr_conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }
# A SQL string literal (standard_conforming_strings is on).
pgr_sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }
# A libpq conninfo value: single-quoted, backslashes and quotes escaped.
pgr_conninfo_quote() {
    local v=${1//\\/\\\\}
    printf "'%s'" "${v//\'/\\\'}"
}

pgr_initialized() { [ -s "$PGDATA/PG_VERSION" ]; }
# A live postmaster owns PGDATA. Not pg_ctl status alone: a container restarted after a crash finds a stale
# postmaster.pid naming PID 1, which is then this script's own process.
pgr_running() {
    local pid
    pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] && [ "$pid" != $$ ] || return 1
    if [ -d /proc ]; then
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]
    else
        pg_ctl status -D "$PGDATA" >/dev/null 2>&1
    fi
}
pgr_is_standby_dir() { [ -f "$PGDATA/standby.signal" ]; }

pgr_require_initialized() {
    pgr_initialized || pgr_die "$PGDATA is not a PostgreSQL data directory (no PG_VERSION)"
}
pgr_require_running() {
    pgr_require_initialized
    pgr_running || pgr_die "PostgreSQL is not running on $PGDATA (node $PG_NODE_NAME): start it first"
}
pgr_require_stopped() {
    pgr_require_initialized
    if pgr_running; then
        pgr_die "PostgreSQL is running on $PGDATA (node $PG_NODE_NAME): stop it first (docker compose stop $PG_NODE_NAME)"
    fi
}

# SQL on this server as the superuser over the local socket (pg_hba trusts local connections). $1 SQL, $2 database.
pgr_local_sql() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$POSTGRES_USER" -d "${2:-postgres}" \
        -c "$1"
}

# SQL on PG_PRIMARY_HOST:PG_PRIMARY_PORT as the superuser, with its password.
pgr_upstream_sql() {
    PGPASSWORD=$POSTGRES_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_PRIMARY_HOST" \
        -p "$PG_PRIMARY_PORT" -U "$POSTGRES_USER" -d postgres -c "$1"
}

# Waits until the upstream server answers SQL (PG_WAIT_TIMEOUT seconds at most).
pgr_wait_upstream() {
    pgr_need PG_PRIMARY_HOST POSTGRES_PASSWORD
    local deadline=$((SECONDS + PG_WAIT_TIMEOUT)) said=
    until pgr_upstream_sql "SELECT 1" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            pgr_die "$PG_PRIMARY_HOST:$PG_PRIMARY_PORT did not answer within $PG_WAIT_TIMEOUT s (PG_WAIT_TIMEOUT)"
        fi
        if [ -z "$said" ]; then
            pgr_say "waiting for $PG_PRIMARY_HOST:$PG_PRIMARY_PORT to accept connections"
            said=1
        fi
        sleep 0.5
    done
}

# A field of pg_controldata (labels are English only with LC_ALL=C).
pgr_controldata() {
    LC_ALL=C pg_controldata -D "$PGDATA" | sed -n "s/^$1:[[:space:]]*//p"
}

# Creates the physical slot $1 on the upstream unless it exists; prints whether it did.
pgr_ensure_upstream_slot() {
    local slot=$1 n
    n=$(pgr_upstream_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $(pgr_sql_literal "$slot")")
    if [ "$n" = 0 ]; then
        # reserve WAL at once: the standby needs it from the moment it exists
        pgr_upstream_sql "SELECT pg_create_physical_replication_slot($(pgr_sql_literal "$slot"), true)" >/dev/null
        pgr_say "created replication slot $slot on $PG_PRIMARY_HOST:$PG_PRIMARY_PORT"
    fi
}

# Creates on this (primary) server a slot for every node in PG_NODES but itself; prints the ones it created.
pgr_create_peer_slots() {
    local node n created=()
    local -a nodes
    IFS=', ' read -r -a nodes <<<"$PG_NODES"
    for node in "${nodes[@]}"; do
        if [ -z "$node" ] || [ "$node" = "$PG_NODE_NAME" ]; then
            continue
        fi
        n=$(pgr_local_sql "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $(pgr_sql_literal "$node")")
        if [ "$n" = 0 ]; then
            pgr_local_sql "SELECT pg_create_physical_replication_slot($(pgr_sql_literal "$node"), true)" >/dev/null
            created+=("$node")
        fi
    done
    if [ ${#created[@]} -gt 0 ]; then
        local joined
        printf -v joined '%s, ' "${created[@]}"
        echo "${joined%, }"
    fi
}

# Is pg_cron installed for these binaries? PG_CRON=off says no; on makes its absence an error.
pgr_cron_available() {
    [ "$PG_CRON" != off ] || return 1
    local lib share
    lib=$(pg_config --pkglibdir 2>/dev/null) || lib=
    share=$(pg_config --sharedir 2>/dev/null) || share=
    if [ -n "$lib" ] && [ -f "$lib/pg_cron.so" ] && [ -f "$share/extension/pg_cron.control" ]; then
        return 0
    fi
    [ "$PG_CRON" != on ] || pgr_die "PG_CRON=on but pg_cron is not installed for $(postgres --version)"
    return 1
}

# Copies the mounted certificate and key to PG_TLS_DIR (PostgreSQL wants a 0600 key of its own user) and sets
# PGR_TLS=on, or sets PGR_TLS=off when none is mounted. Run as root it copies what the server user cannot read.
pgr_prepare_tls() {
    PGR_TLS=off
    if [ ! -f "$PG_TLS_CERT_FILE" ] || [ ! -f "$PG_TLS_KEY_FILE" ]; then
        [ "$PG_TLS_REQUIRED" = off ] || pgr_die "PG_TLS_REQUIRED=on but there is no $PG_TLS_CERT_FILE and $PG_TLS_KEY_FILE"
        return 0
    fi
    local owner=()
    if [ "$(id -u)" = 0 ]; then
        owner=(-o "$PG_OS_USER")
    fi
    if [ -r "$PG_TLS_CERT_FILE" ] && [ -r "$PG_TLS_KEY_FILE" ]; then
        install -d -m 700 "${owner[@]}" "$PG_TLS_DIR"
        install -m 600 "${owner[@]}" "$PG_TLS_CERT_FILE" "$PG_TLS_DIR/server.crt"
        install -m 600 "${owner[@]}" "$PG_TLS_KEY_FILE" "$PG_TLS_DIR/server.key"
        if [ -r "$PG_TLS_CA_FILE" ]; then
            install -m 600 "${owner[@]}" "$PG_TLS_CA_FILE" "$PG_TLS_DIR/ca.crt"
        else
            rm -f "$PG_TLS_DIR/ca.crt"
        fi
    elif [ ! -r "$PG_TLS_DIR/server.key" ]; then
        pgr_die "cannot read $PG_TLS_CERT_FILE or $PG_TLS_KEY_FILE as $(id -un)"
    fi
    PGR_TLS=on
}

# Writes $PGDATA/pgrelay.conf, included from postgresql.conf: the settings this project recommends, from the
# environment, rewritten at every start (and after pg_basebackup or pg_rewind, which copy the upstream's).
pgr_write_conf() {
    local f=$PGDATA/pgrelay.conf
    {
        echo "# Written by pg-entrypoint from the environment at every start: change the environment, not this file."
        echo "listen_addresses = $(pgr_conf_quote "$PG_LISTEN_ADDRESSES")"
        echo "port = $PG_PORT"
        echo "unix_socket_directories = $(pgr_conf_quote "$PG_SOCKET_DIR")"
        echo "password_encryption = 'scram-sha-256'"
        echo "wal_level = replica"
        echo "# pg_rewind needs hint bits in the WAL (or data checksums) and full page writes"
        echo "wal_log_hints = on"
        echo "full_page_writes = on"
        echo "max_wal_senders = 10"
        echo "max_replication_slots = 10"
        echo "# a standby re-pointed after a failover may need WAL from before its slot existed on the new primary"
        echo "wal_keep_size = $(pgr_conf_quote "$PG_WAL_KEEP_SIZE")"
        echo "# a slot whose standby is gone for good is invalidated rather than filling the disk"
        echo "max_slot_wal_keep_size = $(pgr_conf_quote "$PG_MAX_SLOT_WAL_KEEP_SIZE")"
        echo "hot_standby = on"
        echo "hot_standby_feedback = on"
        echo "synchronous_standby_names = $(pgr_conf_quote "$PG_SYNCHRONOUS_STANDBY_NAMES")"
        if pgr_is_standby_dir; then
            local conninfo
            conninfo="host=$(pgr_conninfo_quote "$PG_PRIMARY_HOST") port=$PG_PRIMARY_PORT"
            conninfo+=" user=$(pgr_conninfo_quote "$PG_REPLICATION_USER")"
            conninfo+=" password=$(pgr_conninfo_quote "$PG_REPLICATION_PASSWORD")"
            conninfo+=" application_name=$PG_NODE_NAME connect_timeout=5"
            echo "primary_conninfo = $(pgr_conf_quote "$conninfo")"
            echo "primary_slot_name = $(pgr_conf_quote "$PG_NODE_NAME")"
        fi
        if [ "$PGR_TLS" = on ]; then
            echo "ssl = on"
            echo "ssl_cert_file = $(pgr_conf_quote "$PG_TLS_DIR/server.crt")"
            echo "ssl_key_file = $(pgr_conf_quote "$PG_TLS_DIR/server.key")"
            if [ -f "$PG_TLS_DIR/ca.crt" ]; then
                echo "ssl_ca_file = $(pgr_conf_quote "$PG_TLS_DIR/ca.crt")"
            fi
        else
            echo "ssl = off"
        fi
        if [ "$PGR_CRON" = on ]; then
            echo "shared_preload_libraries = 'pg_cron'"
            echo "cron.database_name = $(pgr_conf_quote "$APP_DB")"
            echo "# jobs connect over the local socket, which pg_hba trusts, so they need no password"
            echo "cron.host = $(pgr_conf_quote "$PG_SOCKET_DIR")"
        fi
        if [ -n "$PG_EXTRA_CONF" ]; then
            echo "# PG_EXTRA_CONF"
            printf '%s\n' "$PG_EXTRA_CONF"
        fi
    } >"$f.tmp"
    chmod 600 "$f.tmp"
    mv "$f.tmp" "$f"
    if ! grep -qx "include_if_exists = 'pgrelay.conf'" "$PGDATA/postgresql.conf"; then
        echo "include_if_exists = 'pgrelay.conf'" >>"$PGDATA/postgresql.conf"
    fi
    # postgresql.auto.conf is read last: upstream settings left there by pg_basebackup -R would win over ours
    if [ -f "$PGDATA/postgresql.auto.conf" ]; then
        sed -i -E '/^[[:space:]]*(primary_conninfo|primary_slot_name)[[:space:]]*=/d' "$PGDATA/postgresql.auto.conf"
    fi
}

# Writes pg_hba.conf: trust on the local socket (only processes inside the container reach it), SCRAM over TCP
# for clients and for the replication user; hostssl instead of host when TLS is required.
pgr_write_hba() {
    local h=host
    if [ "$PG_TLS_REQUIRED" = on ]; then
        h=hostssl
    fi
    cat >"$PGDATA/pg_hba.conf" <<EOF
# Written by pg-entrypoint from the environment at every start: change the environment, not this file.
# TYPE   DATABASE     USER                    ADDRESS  METHOD
local    all          all                              trust
local    replication  all                              trust
$h  replication  $PG_REPLICATION_USER  all      scram-sha-256
$h  all          all                     all      scram-sha-256
EOF
}

# Rewinds this stopped data directory (a former primary, or a standby that went past the fork) against the primary
# at PG_PRIMARY_HOST and configures it as that primary's standby. Refuses when that would be wrong.
pgr_rejoin() {
    pgr_need PG_PRIMARY_HOST POSTGRES_PASSWORD PG_REPLICATION_PASSWORD
    pgr_require_stopped
    local up=$PG_PRIMARY_HOST:$PG_PRIMARY_PORT in_recovery
    in_recovery=$(pgr_upstream_sql "SELECT pg_is_in_recovery()") || pgr_die "cannot reach $up as $POSTGRES_USER"
    if [ "$in_recovery" != f ]; then
        pgr_die "$up is a standby (in recovery): rejoin against the current primary (set PG_PRIMARY_HOST to it)"
    fi
    # a just-promoted primary shows its new timeline in pg_control only after a checkpoint
    pgr_upstream_sql "CHECKPOINT" >/dev/null
    local up_sys up_tli my_sys my_tli
    up_sys=$(pgr_upstream_sql "SELECT system_identifier FROM pg_control_system()")
    up_tli=$(pgr_upstream_sql "SELECT timeline_id FROM pg_control_checkpoint()")
    my_sys=$(pgr_controldata "Database system identifier")
    my_tli=$(pgr_controldata "Latest checkpoint's TimeLineID")
    if [ "$my_sys" != "$up_sys" ]; then
        pgr_die "$PGDATA belongs to another cluster (system $my_sys) than $up (system $up_sys): remove it and let a new standby be cloned instead"
    fi
    if ((my_tli > up_tli)); then
        pgr_die "$PGDATA is on timeline $my_tli, newer than $up (timeline $up_tli): it looks like the latest primary, refusing to rewind it; if its changes must really be discarded, remove the data directory and clone a new standby"
    fi
    if ((my_tli == up_tli)); then
        pgr_is_standby_dir || pgr_die "$PGDATA is a primary on timeline $my_tli, the same as $up: two primaries of one cluster, refusing to pick one"
        pgr_say "$PGDATA is a standby on timeline $my_tli like $up: nothing to rewind"
    else
        pgr_ensure_upstream_slot "$PG_NODE_NAME"
        pgr_say "rewinding $PGDATA (timeline $my_tli) against $up (timeline $up_tli) with pg_rewind"
        local src
        src="host=$(pgr_conninfo_quote "$PG_PRIMARY_HOST") port=$PG_PRIMARY_PORT dbname=postgres connect_timeout=10"
        src+=" user=$(pgr_conninfo_quote "$POSTGRES_USER") password=$(pgr_conninfo_quote "$POSTGRES_PASSWORD")"
        pg_rewind -D "$PGDATA" --source-server="$src" || pgr_die "pg_rewind against $up failed (see above)"
    fi
    pgr_ensure_upstream_slot "$PG_NODE_NAME"
    touch "$PGDATA/standby.signal"
    # pg_rewind copied the upstream's configuration files: write ours again
    pgr_write_settings
}

# Everything pg-entrypoint derives from the environment before a start: TLS copies, pg_cron, the config files.
pgr_write_settings() {
    pgr_prepare_tls
    PGR_CRON=off
    if pgr_cron_available; then
        PGR_CRON=on
    fi
    pgr_write_conf
    pgr_write_hba
}
