# shellcheck shell=bash
# Sourced by scripts/lib.sh: the local run's Redis behind Sentinel, for `scripts/up --ha`
# (docs/REDIS-HA.md). Source lib.sh, not this file.
#
# Per instance ("main": the wallet's; "gateway": the gateway's rate limits) a master, one
# replica and three sentinels (quorum 2), all on 127.0.0.1, on ports below Linux's ephemeral
# range, from QCASH_REDIS_HA_PORT_BASE (default 26400):
#   main     nodes base+1, base+2      sentinels base+11, base+12, base+13
#   gateway  nodes base+21, base+22    sentinels base+31, base+32, base+33
# The sentinels know the master as "qcash-<instance>". State (configurations, which Redis and
# Sentinel rewrite as roles change; logs) in .local/redis-ha-<instance>/; nothing persisted.
#
# ACL users: on the nodes those of qcash_start_redis (the rules file's users of the instance,
# `default off`, the operator `ops`) plus `qcash-replication` (a replica's link to its master)
# and `qcash-sentinel` (what a sentinel sends to a node). On the sentinels: `qcash-sentinel`
# (sentinel to sentinel), `ops`, and each service user, which may only ask where the master is.
# One password per user everywhere, in .local/secrets/redis-<user>.password.
#
#   qcash_start_redis_ha <instance>      starts the group (idempotent)
#   qcash_stop_redis_ha [instance]       stops it (both when no instance is given)
#   qcash_redis_ha_env <instance> <user> [prefix, default QCASH_REDIS]
#                                        the environment of a service that uses it
#   qcash_redis_ha_cli <instance> <command...>
#                                        redis-cli as `ops` on the current master

QCASH_REDIS_HA_PORT_BASE="${QCASH_REDIS_HA_PORT_BASE:-26400}"

_qcash_redis_ha_base() {
  if [ "$1" = gateway ]; then echo $((QCASH_REDIS_HA_PORT_BASE + 20)); else echo "$QCASH_REDIS_HA_PORT_BASE"; fi
}
qcash_redis_ha_node_port() { echo $(($(_qcash_redis_ha_base "$1") + 1 + $2)); }       # <instance> <0|1>
qcash_redis_ha_sentinel_port() { echo $(($(_qcash_redis_ha_base "$1") + 11 + $2)); }  # <instance> <0..2>
qcash_redis_ha_dir() { echo "$QCASH_LOCAL/redis-ha-$1"; }

# As `ops` on the sentinel or node at <port>: _qcash_redis_ha_ops <port> <command...>
_qcash_redis_ha_ops() {
  local port="$1"; shift
  REDISCLI_AUTH="$(cat "$(qcash_secret_file redis-ops.password)")" \
    timeout 5 redis-cli --user ops -p "$port" "$@"
}

qcash_redis_ha_env() {
  local instance="$1" user="$2" prefix="${3:-QCASH_REDIS}" sentinels="" i
  for i in 0 1 2; do
    sentinels="$sentinels${sentinels:+,}127.0.0.1:$(qcash_redis_ha_sentinel_port "$instance" "$i")"
  done
  local password; password="$(qcash_secret_file "redis-$user.password")"
  echo "${prefix}_SENTINELS=$sentinels" "${prefix}_SENTINEL_MASTER=qcash-$instance" \
    "${prefix}_SENTINEL_USER=$user" "${prefix}_SENTINEL_PASSWORD_FILE=$password" \
    "${prefix}_USER=$user" "${prefix}_PASSWORD_FILE=$password"
}

# The port of the node the sentinels name as master now (empty when none answers).
qcash_redis_ha_master_port() {
  local i
  for i in 0 1 2; do
    local answer
    answer="$(_qcash_redis_ha_ops "$(qcash_redis_ha_sentinel_port "$1" "$i")" \
      sentinel get-master-addr-by-name "qcash-$1" 2>/dev/null | tail -n 1)"
    case "$answer" in ''|*[!0-9]*) continue ;; esac
    echo "$answer"
    return
  done
}

qcash_redis_ha_cli() {
  local instance="$1"; shift
  local port; port="$(qcash_redis_ha_master_port "$instance")"
  [ -n "$port" ] || qcash_die "no sentinel of redis ($instance) names a master"
  _qcash_redis_ha_ops "$port" "$@"
}

# True when every node and sentinel of <instance> answers.
_qcash_redis_ha_running() {
  local i
  for i in 0 1; do
    [ "$(_qcash_redis_ha_ops "$(qcash_redis_ha_node_port "$1" "$i")" ping 2>/dev/null)" = PONG ] || return 1
  done
  for i in 0 1 2; do
    [ "$(_qcash_redis_ha_ops "$(qcash_redis_ha_sentinel_port "$1" "$i")" ping 2>/dev/null)" = PONG ] || return 1
  done
}

_qcash_redis_ha_rule() {  # the sentinel's rule line of a user: _qcash_redis_ha_rule <user> <rules...>
  local user="$1"; shift
  echo "user $user reset on #$(_qcash_sha256_of "$(qcash_secret_file "redis-$user.password")") $*"
}

qcash_start_redis_ha() {
  local instance="${1:-main}"
  local dir; dir="$(qcash_redis_ha_dir "$instance")"
  if _qcash_redis_ha_running "$instance"; then
    qcash_log "redis ($instance) with sentinels already running (master on 127.0.0.1:$(qcash_redis_ha_master_port "$instance"))"
    return
  fi
  # A part of the group is down: start the whole group afresh (it is a cache).
  _qcash_redis_ha_stop_one "$instance"
  mkdir -p "$dir" "$QCASH_LOCAL/log" "$QCASH_LOCAL/run"
  local rules="$QCASH_ROOT/deploy/kustomize/components/in-cluster-data/redis-users.acl.rules"
  local on user acl service_users=()
  while read -r on user acl; do
    case "$on" in ''|\#*) continue ;; esac
    [ "$on" = "$instance" ] && service_users+=("$user")
  done <"$rules"
  (
    umask 077
    echo "user default reset off"
    _qcash_redis_ha_rule ops '~* &* +@all'
    _qcash_redis_ha_rule qcash-replication '-@all +psync +replconf +ping'
    _qcash_redis_ha_rule qcash-sentinel 'allchannels -@all +multi +slaveof +ping +exec +subscribe' \
      '+config|rewrite +role +publish +info +client|setname +client|kill +script|kill'
    while read -r on user acl; do
      case "$on" in ''|\#*) continue ;; esac
      [ "$on" = "$instance" ] || continue
      _qcash_redis_ha_rule "$user" "$acl"
    done <"$rules"
  ) >"$dir/users.acl"

  local i port master_port
  master_port="$(qcash_redis_ha_node_port "$instance" 0)"
  for i in 0 1; do
    port="$(qcash_redis_ha_node_port "$instance" "$i")"
    mkdir -p "$dir/node$i"
    (
      umask 077
      echo "port $port"
      echo "bind 127.0.0.1"
      echo 'save ""'
      echo "appendonly no"
      echo "dir $dir/node$i"
      echo "daemonize yes"
      echo "pidfile $QCASH_LOCAL/run/redis-ha-$instance-node$i.pid"
      echo "logfile $QCASH_LOCAL/log/redis-ha-$instance-node$i.log"
      echo "aclfile $dir/users.acl"
      # Every node, the master too: after a failover any of them may be a replica.
      echo "masteruser qcash-replication"
      echo "masterauth $(cat "$(qcash_secret_file redis-qcash-replication.password)")"
      echo "replica-announce-ip 127.0.0.1"
      echo "repl-diskless-sync-delay 0"
      [ "$i" -eq 0 ] || echo "replicaof 127.0.0.1 $master_port"
    ) >"$dir/node$i/redis.conf"
    qcash_log "starting redis ($instance) node $i on 127.0.0.1:$port"
    redis-server "$dir/node$i/redis.conf"
  done
  for _ in $(seq 100); do
    _qcash_redis_ha_ops "$(qcash_redis_ha_node_port "$instance" 1)" role 2>/dev/null | grep -qx connected && break
    sleep 0.1
  done
  _qcash_redis_ha_ops "$(qcash_redis_ha_node_port "$instance" 1)" role 2>/dev/null | grep -qx connected ||
    qcash_die "redis ($instance) replica did not link: $QCASH_LOCAL/log/redis-ha-$instance-node1.log"

  for i in 0 1 2; do
    port="$(qcash_redis_ha_sentinel_port "$instance" "$i")"
    mkdir -p "$dir/sentinel$i"
    (
      umask 077
      echo "port $port"
      echo "bind 127.0.0.1"
      echo "dir $dir/sentinel$i"
      echo "daemonize yes"
      echo "pidfile $QCASH_LOCAL/run/redis-ha-$instance-sentinel$i.pid"
      echo "logfile $QCASH_LOCAL/log/redis-ha-$instance-sentinel$i.log"
      echo "sentinel announce-ip 127.0.0.1"
      echo "sentinel announce-port $port"
      echo "user default reset off"
      _qcash_redis_ha_rule qcash-sentinel '~* &* +@all'
      _qcash_redis_ha_rule ops '~* &* +@all'
      for user in "${service_users[@]}"; do
        _qcash_redis_ha_rule "$user" '-@all +sentinel|get-master-addr-by-name +ping'
      done
      echo "sentinel sentinel-user qcash-sentinel"
      echo "sentinel sentinel-pass $(cat "$(qcash_secret_file redis-qcash-sentinel.password)")"
      echo "sentinel monitor qcash-$instance 127.0.0.1 $master_port 2"
      echo "sentinel auth-user qcash-$instance qcash-sentinel"
      echo "sentinel auth-pass qcash-$instance $(cat "$(qcash_secret_file redis-qcash-sentinel.password)")"
      echo "sentinel down-after-milliseconds qcash-$instance 1000"
      echo "sentinel failover-timeout qcash-$instance 3000"
      echo "sentinel parallel-syncs qcash-$instance 1"
    ) >"$dir/sentinel$i/sentinel.conf"
    qcash_log "starting redis ($instance) sentinel $i on 127.0.0.1:$port"
    redis-sentinel "$dir/sentinel$i/sentinel.conf"
  done
  # Ready when each sentinel knows the replica and the two others (they find each other within
  # a few seconds); a failover before that could not reach its quorum.
  local known
  for _ in $(seq 150); do
    known=0
    for i in 0 1 2; do
      _qcash_redis_ha_ops "$(qcash_redis_ha_sentinel_port "$instance" "$i")" sentinel master "qcash-$instance" 2>/dev/null |
        paste -sd' ' | grep -q "num-slaves 1 .*num-other-sentinels 2 " && known=$((known + 1))
    done
    [ "$known" -eq 3 ] && return
    sleep 0.2
  done
  qcash_die "redis ($instance) sentinels did not find each other: $QCASH_LOCAL/log/redis-ha-$instance-sentinel*.log"
}

_qcash_redis_ha_stop_one() {
  local instance="$1" i
  for i in 0 1 2; do
    _qcash_redis_ha_ops "$(qcash_redis_ha_sentinel_port "$instance" "$i")" shutdown >/dev/null 2>&1 || true
  done
  for i in 0 1; do
    _qcash_redis_ha_ops "$(qcash_redis_ha_node_port "$instance" "$i")" shutdown nosave >/dev/null 2>&1 || true
  done
}

qcash_stop_redis_ha() {
  if [ $# -eq 0 ]; then
    _qcash_redis_ha_stop_one main
    _qcash_redis_ha_stop_one gateway
  else
    _qcash_redis_ha_stop_one "$1"
  fi
}
