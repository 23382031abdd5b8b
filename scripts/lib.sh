# Shared by scripts/up, scripts/down, scripts/test and bench/run. Source it; do not run it.
#
# Everything the local system keeps lives under .local/ in the checkout (ignored by git):
#   .local/pg      PostgreSQL 15 cluster (owned by the `postgres` user when we are root)
#   .local/redis   Redis working directory (no persistence: it is a cache); the gateway's
#                  own Redis in .local/redis-gateway
#   .local/secrets development secrets (Redis passwords, the wallet's replay key, ...)
#   .local/log     one log file per process
#   .local/run     pid files

QCASH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
QCASH_LOCAL="${QCASH_LOCAL:-$QCASH_ROOT/.local}"
QCASH_BUILD="${QCASH_BUILD:-$QCASH_ROOT/build}"
QCASH_PG_BIN="${QCASH_PG_BIN:-/usr/lib/postgresql/15/bin}"
QCASH_PG_PORT="${QCASH_PG_PORT:-25432}"
QCASH_REDIS_PORT="${QCASH_REDIS_PORT:-26379}"
QCASH_GATEWAY_REDIS_PORT="${QCASH_GATEWAY_REDIS_PORT:-26380}"
QCASH_WALLET_PORT="${QCASH_WALLET_PORT:-25051}"

# Debian packages the build, the tests and the local run need.
QCASH_PACKAGES=(
  g++ cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libhiredis-dev libpq-dev libssl-dev libgtest-dev libgmock-dev libsodium-dev
  libcpp-httplib-dev libjwt-dev libboost1.74-dev libcairo2-dev libpango1.0-dev liburiparser-dev
  postgresql-15 postgresql-15-auto-failover redis-server redis-sentinel tzdata openssl ca-certificates curl
  chromium fonts-ipafont-gothic fonts-ipafont-mincho poppler-utils
  clang-16 libclang-rt-16-dev libfuzzer-16-dev clang-format-16 clang-tidy-16 llvm-16
)

qcash_log() { printf '\033[1m[qcash]\033[0m %s\n' "$*" >&2; }
qcash_die() { qcash_log "error: $*"; exit 1; }

qcash_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@";
  else qcash_die "need root (or sudo) to run: $*"; fi
}

# Installs whatever of QCASH_PACKAGES is missing.
qcash_install_packages() {
  local missing=()
  for p in "${QCASH_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node.js runs the deployment checks and the browser test; any installed one will do (a
  # machine may have it from elsewhere than Debian, with npm inside).
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
  if [ ${#missing[@]} -gt 0 ]; then
    qcash_log "installing ${missing[*]}"
    qcash_as_root apt-get update -qq
    qcash_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
  # Debian's postgresql package may start a system cluster; ours is separate and on its own port.
}

# ccache for the compiler when the machine has it.
qcash_compiler_launcher() {
  if command -v ccache >/dev/null; then echo "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; fi
}

# Configures (once) and builds everything, as a development build: the local run and the tests
# use the development conveniences (-DQCASH_DEVELOPMENT=ON; DESIGN.md section 7). Extra
# arguments go to cmake at configure time.
qcash_build() {
  if [ ! -f "$QCASH_BUILD/build.ninja" ]; then
    # shellcheck disable=SC2046
    cmake -S "$QCASH_ROOT" -B "$QCASH_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DQCASH_DEVELOPMENT=ON $(qcash_compiler_launcher) "$@" >/dev/null
  elif [ $# -gt 0 ] || ! grep -q '^QCASH_DEVELOPMENT:BOOL=ON$' "$QCASH_BUILD/CMakeCache.txt"; then
    cmake -S "$QCASH_ROOT" -B "$QCASH_BUILD" -DQCASH_DEVELOPMENT=ON "$@" >/dev/null
  fi
  qcash_log "building (build/)"
  cmake --build "$QCASH_BUILD" -j "$(nproc)"
}

# The four service executables once more as the images build them (Release, without the
# development conveniences) in build/release/, for tests/security/release_binaries_test.
# Extra arguments go to cmake at configure time.
qcash_build_release() {
  local release="$QCASH_BUILD/release"
  if [ ! -f "$release/build.ninja" ] || [ $# -gt 0 ]; then
    # shellcheck disable=SC2046
    cmake -S "$QCASH_ROOT" -B "$release" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DQCASH_DEVELOPMENT=OFF $(qcash_compiler_launcher) "$@" >/dev/null
  fi
  qcash_log "building the release binaries (build/release/)"
  cmake --build "$release" -j "$(nproc)" \
    --target qcash-wallet qcash-payment qcash-points qcash-gateway
}

# True when the postgres user can reach $1 (every parent searchable by others, or owned by it).
qcash_postgres_can_reach() {
  [ "$(id -u)" -ne 0 ] && return 0
  runuser -u postgres -- test -x "$1" 2>/dev/null
}

qcash_run_pg() {  # runs a PostgreSQL binary as the cluster's owner
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The services' URL of database $1: the single PostgreSQL, or with QCASH_HA=1 (scripts/up
# --ha) every node of the formation, read-write only (scripts/lib-pg-ha.sh).
qcash_pg_url() {
  if [ "${QCASH_HA:-0}" = 1 ]; then qcash_pg_ha_url "$1"; return; fi
  echo "postgresql://qcash@127.0.0.1:$QCASH_PG_PORT/$1"
}

# The cluster's data directory: under the checkout, unless the postgres user cannot reach the
# checkout (e.g. a clone under /root), then under /var/tmp, named after the checkout.
qcash_pg_data() {
  mkdir -p "$QCASH_LOCAL"
  if qcash_postgres_can_reach "$QCASH_LOCAL"; then
    echo "$QCASH_LOCAL/pg"
  else
    echo "/var/tmp/qcash-pg-$(echo "$QCASH_LOCAL" | md5sum | cut -c1-12)"
  fi
}

qcash_start_postgres() {
  local data; data="$(qcash_pg_data)"
  mkdir -p "$QCASH_LOCAL/log" "$QCASH_LOCAL/run"
  [ "$data" = "$QCASH_LOCAL/pg" ] || qcash_log "the postgres user cannot reach $QCASH_LOCAL; cluster data in $data"
  if [ ! -f "$data/PG_VERSION" ]; then
    qcash_log "initdb $data"
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
    chmod 700 "$data"
    qcash_run_pg "$QCASH_PG_BIN/initdb" -D "$data" -U qcash --auth=trust -E UTF8 \
      --locale=C.UTF-8 >"$QCASH_LOCAL/log/initdb.log" 2>&1 || qcash_die "initdb failed: $QCASH_LOCAL/log/initdb.log"
  fi
  if qcash_run_pg "$QCASH_PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    qcash_log "postgresql already running on 127.0.0.1:$QCASH_PG_PORT"
    return
  fi
  local log="$data/postgres.log"  # written by the postgres user, beside its data
  qcash_log "starting postgresql on 127.0.0.1:$QCASH_PG_PORT (log: $log)"
  qcash_run_pg "$QCASH_PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-p $QCASH_PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=300 -c shared_buffers=256MB" \
    start >/dev/null || qcash_die "postgresql did not start: $log"
}

qcash_create_database() {
  local db="$1"
  if ! "$QCASH_PG_BIN/psql" -qAt "$(qcash_pg_url postgres)" -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    "$QCASH_PG_BIN/psql" -q "$(qcash_pg_url postgres)" -c "CREATE DATABASE \"$db\"" >/dev/null
  fi
}

qcash_stop_postgres() {
  local data; data="$(qcash_pg_data)"
  [ -f "$data/PG_VERSION" ] || return 0
  qcash_run_pg "$QCASH_PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}

# qcash_secret_file <name>: the path of a development secret under .local/secrets/ (32 random
# bytes as hex), made on first use. Never used anywhere but this machine's local run.
qcash_secret_file() {
  local file="$QCASH_LOCAL/secrets/$1"
  if [ ! -s "$file" ]; then
    mkdir -p "$QCASH_LOCAL/secrets"
    chmod 700 "$QCASH_LOCAL/secrets"
    (umask 077 && openssl rand -hex 32 >"$file")
  fi
  echo "$file"
}

# The local Redis servers: "main" (the wallet's; payment uses no Redis) and "gateway" (its rate
# limits only).
qcash_redis_port() { if [ "$1" = gateway ]; then echo "$QCASH_GATEWAY_REDIS_PORT"; else echo "$QCASH_REDIS_PORT"; fi; }
qcash_redis_dir() { if [ "$1" = gateway ]; then echo "$QCASH_LOCAL/redis-gateway"; else echo "$QCASH_LOCAL/redis"; fi; }
qcash_redis_pidfile() { if [ "$1" = gateway ]; then echo "$QCASH_LOCAL/run/redis-gateway.pid"; else echo "$QCASH_LOCAL/run/redis.pid"; fi; }

# redis-cli on <instance> as the local operator user `ops` (the password stays off the
# command line): qcash_redis_cli <instance> <command...>
qcash_redis_cli() {
  local instance="$1"; shift
  REDISCLI_AUTH="$(cat "$(qcash_secret_file redis-ops.password)")" \
    redis-cli --user ops -p "$(qcash_redis_port "$instance")" "$@"
}

# The environment that makes a service use <instance> as ACL user <user>, with variables named
# <prefix>_HOST, _PORT, _USER, _PASSWORD_FILE (common/redis.h):
#   qcash_redis_env <instance> <user> [prefix, default QCASH_REDIS]
qcash_redis_env() {
  # With QCASH_HA=1 (scripts/up --ha) the service finds the master through Sentinel.
  if [ "${QCASH_HA:-0}" = 1 ]; then qcash_redis_ha_env "$@"; return; fi
  local prefix="${3:-QCASH_REDIS}"
  echo "${prefix}_HOST=127.0.0.1" "${prefix}_PORT=$(qcash_redis_port "$1")" "${prefix}_USER=$2" \
    "${prefix}_PASSWORD_FILE=$(qcash_secret_file "redis-$2.password")"
}

_qcash_sha256_of() { printf '%s' "$(cat "$1")" | sha256sum | cut -d' ' -f1; }  # a file's text

# qcash_start_redis [instance]: starts that Redis (default "main") with the ACL users of
# deploy/kustomize/components/in-cluster-data/redis-users.acl.rules, `default off`, and the
# local operator user `ops`; each password in .local/secrets/redis-<user>.password.
qcash_start_redis() {
  local instance="${1:-main}"
  local port dir pidfile
  port="$(qcash_redis_port "$instance")"; dir="$(qcash_redis_dir "$instance")"
  pidfile="$(qcash_redis_pidfile "$instance")"
  mkdir -p "$dir" "$QCASH_LOCAL/log" "$QCASH_LOCAL/run"
  if [ "$(qcash_redis_cli "$instance" ping 2>/dev/null)" = PONG ]; then
    qcash_log "redis ($instance) already running on 127.0.0.1:$port"
    return
  fi
  # A Redis from before the ACL users, still open to anyone: replace it.
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  local rules="$QCASH_ROOT/deploy/kustomize/components/in-cluster-data/redis-users.acl.rules"
  local on user acl
  (
    umask 077
    echo "user default reset off"
    echo "user ops reset on #$(_qcash_sha256_of "$(qcash_secret_file redis-ops.password)") ~* &* +@all"
    while read -r on user acl; do
      case "$on" in ''|\#*) continue ;; esac
      [ "$on" = "$instance" ] || continue
      echo "user $user reset on #$(_qcash_sha256_of "$(qcash_secret_file "redis-$user.password")") $acl"
    done <"$rules"
  ) >"$dir/users.acl"
  qcash_log "starting redis ($instance) on 127.0.0.1:$port"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$dir" --daemonize yes --pidfile "$pidfile" \
    --aclfile "$dir/users.acl" --logfile "$QCASH_LOCAL/log/redis-$instance.log"
  for _ in $(seq 100); do
    [ "$(qcash_redis_cli "$instance" ping 2>/dev/null)" = PONG ] && return
    sleep 0.1
  done
  qcash_die "redis ($instance) did not start: $QCASH_LOCAL/log/redis-$instance.log"
}

qcash_stop_redis() {
  local instance="${1:-main}"
  qcash_redis_cli "$instance" shutdown nosave >/dev/null 2>&1 || true
}

# qcash_start_service <name> <binary> <host:port> [VAR=value ...]
# Starts a service in the background with its environment, and waits until it is SERVING.
qcash_start_service() {
  local name="$1" binary="$2" address="$3"; shift 3
  _qcash_start "$name" "$binary" "on $address" _qcash_grpc_serving "$address" "$@"
}

# qcash_start_http_service <name> <binary> <readiness url> [VAR=value ...]
# As qcash_start_service, for a process whose readiness is an HTTP 200.
qcash_start_http_service() {
  local name="$1" binary="$2" url="$3"; shift 3
  _qcash_start "$name" "$binary" "($url)" _qcash_http_ready "$url" "$@"
}

_qcash_grpc_serving() { "$QCASH_BUILD/tools/qcashctl" health "$1" >/dev/null 2>&1; }  # as ops
_qcash_http_ready() { curl -fsS -o /dev/null "$1" 2>/dev/null; }

# _qcash_start <name> <binary> <where, for the log> <probe> <probe argument> [VAR=value ...]
# Starts <binary> unless it already runs, then waits until `<probe> <argument>` succeeds.
_qcash_start() {
  local name="$1" binary="$2" where="$3" probe="$4" target="$5"; shift 5
  local pidfile="$QCASH_LOCAL/run/$name.pid"
  if [ -f "$pidfile" ] && qcash_pid_runs "$(cat "$pidfile")" "$binary"; then
    if "$probe" "$target"; then
      qcash_log "$name already running (pid $(cat "$pidfile"))"
      return
    fi
    # Alive but not ready: shutting down (draining after SIGTERM) or stuck. It still holds
    # its port; wait for it to be gone, then start a new one.
    qcash_log "$name (pid $(cat "$pidfile")) runs but is not ready; waiting for it to exit"
    qcash_wait_gone "$(cat "$pidfile")" "$binary"
  fi
  qcash_log "starting $name $where"
  env "$@" nohup "$binary" >>"$QCASH_LOCAL/log/$name.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 150); do
    if "$probe" "$target"; then return; fi
    qcash_pid_runs "$(cat "$pidfile")" "$binary" || qcash_die "$name exited: $QCASH_LOCAL/log/$name.log"
    sleep 0.2
  done
  qcash_die "$name did not become ready: $QCASH_LOCAL/log/$name.log"
}

# qcash_pid_runs <pid> <binary>: true when <pid> is a live process (not a zombie: `kill -0`
# succeeds for an exited process its parent has not reaped yet) running <binary> (the file
# may have been rebuilt since: /proc then says "<path> (deleted)"). A pid file can outlive its
# process, and the pid can be reused by another program.
qcash_pid_runs() {
  local pid="$1" binary="$2" state exe
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" || return 1
  case "$state" in ''|Z|X|x) return 1 ;; esac
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  [ "${exe% (deleted)}" = "$(readlink -f "$binary")" ]
}

# qcash_wait_gone <pid> <binary>: waits until <pid> no longer runs <binary> (SIGKILL after 30 s),
# so that its listening port is free again. A zombie has closed its sockets already.
qcash_wait_gone() {
  local pid="$1" binary="$2"
  for _ in $(seq 300); do qcash_pid_runs "$pid" "$binary" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 50); do qcash_pid_runs "$pid" "$binary" || return 0; sleep 0.1; done
  qcash_die "pid $pid ($binary) is still there after SIGKILL"
}

qcash_stop_service() {
  local pidfile="$QCASH_LOCAL/run/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid binary; pid="$(cat "$pidfile")"
  binary="$(readlink "/proc/$pid/exe" 2>/dev/null | sed 's/ (deleted)$//')"
  if [ -n "$binary" ] && qcash_pid_runs "$pid" "$binary"; then
    kill -TERM "$pid"
    for _ in $(seq 150); do qcash_pid_runs "$pid" "$binary" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# The highly available topology of scripts/up --ha.
source "$QCASH_ROOT/scripts/lib-pg-ha.sh"
source "$QCASH_ROOT/scripts/lib-redis-ha.sh"
