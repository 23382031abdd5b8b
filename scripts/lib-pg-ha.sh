# Sourced by scripts/lib.sh: the local highly available PostgreSQL of `scripts/up --ha`, a
# pg_auto_failover formation (Debian's postgresql-15-auto-failover; docs/OPERATIONS.md says why
# this tool): a monitor and two nodes, a primary and a synchronous secondary, each a pg_autoctl
# keeper with its PostgreSQL, data under .local/pg-ha/ (or /var/tmp when the postgres user
# cannot reach the checkout), on loopback ports below the ephemeral range:
#   monitor 25440, node0 25441, node1 25442 (QCASH_PG_HA_PORT_BASE moves all three).
# The services get a multi-host URL with target_session_attrs=read-write (qcash_pg_url), so
# they follow a failover by themselves.

QCASH_PG_HA_PORT_BASE="${QCASH_PG_HA_PORT_BASE:-25440}"
QCASH_PG_HA_NODES=2

qcash_pg_ha_dir() {
  mkdir -p "$QCASH_LOCAL"
  if qcash_postgres_can_reach "$QCASH_LOCAL"; then
    echo "$QCASH_LOCAL/pg-ha"
  else
    echo "/var/tmp/qcash-pg-ha-$(echo "$QCASH_LOCAL" | md5sum | cut -c1-12)"
  fi
}

qcash_pg_ha_monitor_port() { echo "$QCASH_PG_HA_PORT_BASE"; }
qcash_pg_ha_node_port() { echo $((QCASH_PG_HA_PORT_BASE + 1 + $1)); }

# The services' URL of database $1 on the formation: every node, read-write only.
qcash_pg_ha_url() {
  local hosts="" i
  for ((i = 0; i < QCASH_PG_HA_NODES; i++)); do
    hosts="${hosts:+$hosts,}127.0.0.1:$(qcash_pg_ha_node_port "$i")"
  done
  echo "postgresql://qcash@$hosts/$1?target_session_attrs=read-write"
}

# pg_autoctl as the postgres user, with its configuration and state under the formation's dir.
_qcash_pg_autoctl() {
  local dir; dir="$(qcash_pg_ha_dir)"
  qcash_run_pg env PATH="$QCASH_PG_BIN:/usr/bin:/bin" XDG_CONFIG_HOME="$dir/xdg/config" \
    XDG_DATA_HOME="$dir/xdg/data" XDG_RUNTIME_DIR="$dir/xdg/run" pg_autoctl "$@"
}

# Starts `pg_autoctl run` for the data directory $1 unless its keeper already runs.
_qcash_pg_ha_keeper() {
  local dir pgdata="$1" name; dir="$(qcash_pg_ha_dir)"; name="$(basename "$1")"
  if _qcash_pg_autoctl status --pgdata "$pgdata" >/dev/null 2>&1; then return; fi
  qcash_log "starting the pg_auto_failover keeper of $name"
  qcash_run_pg env PATH="$QCASH_PG_BIN:/usr/bin:/bin" XDG_CONFIG_HOME="$dir/xdg/config" \
    XDG_DATA_HOME="$dir/xdg/data" XDG_RUNTIME_DIR="$dir/xdg/run" \
    setsid nohup pg_autoctl run --pgdata "$pgdata" >>"$dir/$name.log" 2>&1 </dev/null &
}

_qcash_pg_ha_monitor_sql() {
  "$QCASH_PG_BIN/psql" -qAt "postgresql://postgres@127.0.0.1:$(qcash_pg_ha_monitor_port)/pg_auto_failover" "$@"
}

# Waits until the monitor reports the node states $@ (in node order), settled.
_qcash_pg_ha_wait_states() {
  local want="$*" seen=""
  for _ in $(seq 1800); do
    seen="$(_qcash_pg_ha_monitor_sql -c "SELECT string_agg(reportedstate::text, ' ' ORDER BY nodeid)
      FROM pgautofailover.node WHERE reportedstate = goalstate" 2>/dev/null || true)"
    [ "$seen" = "$want" ] && return 0
    sleep 0.1
  done
  qcash_die "the formation did not reach '$want' (it is '$seen'); logs in $(qcash_pg_ha_dir)"
}

qcash_start_postgres_ha() {
  local dir; dir="$(qcash_pg_ha_dir)"
  mkdir -p "$dir/xdg/config" "$dir/xdg/data" "$dir/xdg/run"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"
  local monitor="$dir/monitor"
  if [ ! -f "$monitor/PG_VERSION" ]; then
    qcash_log "creating the pg_auto_failover monitor ($dir)"
    _qcash_pg_autoctl create monitor --pgdata "$monitor" --pgport "$(qcash_pg_ha_monitor_port)" \
      --hostname 127.0.0.1 --auth trust --no-ssl >>"$dir/create.log" 2>&1 \
      || qcash_die "pg_autoctl create monitor failed: $dir/create.log"
  fi
  _qcash_pg_ha_keeper "$monitor"
  for _ in $(seq 600); do _qcash_pg_ha_monitor_sql -c "SELECT 1" >/dev/null 2>&1 && break; sleep 0.1; done
  # Failure detection in seconds, not the defaults' half minute (tests/harness/pg_ha.cc and
  # docs/OPERATIONS.md use the same values).
  _qcash_pg_ha_monitor_sql \
    -c "ALTER SYSTEM SET pgautofailover.health_check_period = 1000" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1" \
    -c "ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500" \
    -c "ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 2000" \
    -c "ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 3000" \
    -c "ALTER SYSTEM SET pgautofailover.startup_grace_period = 3000" \
    -c "SELECT pg_reload_conf()" >/dev/null
  local i pgdata
  for ((i = 0; i < QCASH_PG_HA_NODES; i++)); do
    pgdata="$dir/node$i"
    if [ ! -f "$pgdata/PG_VERSION" ]; then
      qcash_log "creating pg_auto_failover node$i on 127.0.0.1:$(qcash_pg_ha_node_port "$i")"
      _qcash_pg_autoctl create postgres --pgdata "$pgdata" --pgport "$(qcash_pg_ha_node_port "$i")" \
        --hostname 127.0.0.1 --listen 127.0.0.1 --name "node$i" --auth trust --no-ssl \
        --dbname postgres \
        --monitor "postgres://autoctl_node@127.0.0.1:$(qcash_pg_ha_monitor_port)/pg_auto_failover?sslmode=disable" \
        >>"$dir/create.log" 2>&1 || qcash_die "pg_autoctl create postgres failed: $dir/create.log"
      if [ "$i" -eq 0 ]; then
        printf '\n# qcash (scripts/lib-pg-ha.sh)\nmax_connections = 300\nshared_buffers = 256MB\n' \
          >>"$pgdata/postgresql.conf"
      fi
    fi
    _qcash_pg_ha_keeper "$pgdata"
    # The secondary takes its base backup from a primary that runs.
    if [ "$i" -eq 0 ]; then
      for _ in $(seq 900); do
        _qcash_pg_ha_monitor_sql -c "SELECT 1 FROM pgautofailover.node WHERE reportedstate IN
          ('single', 'primary', 'wait_primary') AND reportedstate = goalstate" 2>/dev/null | grep -q 1 && break
        sleep 0.1
      done
    fi
  done
  qcash_log "waiting for a primary and a synchronous secondary"
  for _ in $(seq 1800); do
    [ "$(_qcash_pg_ha_monitor_sql -c "SELECT count(*) FROM pgautofailover.node
      WHERE reportedstate = goalstate AND reportedstate IN ('primary', 'secondary')" 2>/dev/null)" = 2 ] && break
    sleep 0.1
  done
  # The monitor may still show the states from before a restart: wait for a writable primary.
  local superuser_url; superuser_url="$(qcash_pg_ha_url postgres | sed 's|qcash@|postgres@|')"
  for _ in $(seq 1200); do
    [ "$(qcash_run_pg "$QCASH_PG_BIN/psql" -qAt "$superuser_url" -c "SELECT 1" 2>/dev/null)" = 1 ] && break
    sleep 0.1
  done
  "$QCASH_PG_BIN/psql" -qAt "$(qcash_pg_ha_url postgres)" -c "SELECT 1 FROM pg_roles WHERE rolname = 'qcash'" \
    2>/dev/null | grep -q 1 \
    || qcash_run_pg "$QCASH_PG_BIN/psql" -q "$superuser_url" \
      -c "CREATE ROLE qcash SUPERUSER LOGIN" >/dev/null \
    || qcash_die "could not create the qcash role on the formation"
  qcash_log "postgresql (HA): $(qcash_pg_ha_describe)"
}

# What the monitor says: "node0 primary, node1 secondary".
qcash_pg_ha_describe() {
  _qcash_pg_ha_monitor_sql -c "SELECT string_agg(nodename || ' ' || reportedstate, ', ' ORDER BY nodeid)
    FROM pgautofailover.node" 2>/dev/null || echo "monitor unreachable"
}

qcash_stop_postgres_ha() {
  local dir; dir="$(qcash_pg_ha_dir)"
  [ -d "$dir" ] || return 0
  local pgdata
  for pgdata in "$dir"/node* "$dir/monitor"; do
    [ -f "$pgdata/PG_VERSION" ] || continue
    _qcash_pg_autoctl stop --pgdata "$pgdata" >/dev/null 2>&1 || true
  done
}
