#!/usr/bin/env bash
# Runs the whole system from its images on one podman network and checks it (docs/IMAGES.md):
#   - PostgreSQL 15, the wallet's Redis and the gateway's Redis (ACL users of
#     deploy/kustomize/components/in-cluster-data/redis-users.acl.rules, `default off`), the
#     provider sandbox and the four services, each in its own container: root filesystem
#     read-only (--read-only, a tmpfs only where a process writes), a non-root user, every
#     capability dropped, no new privileges; mTLS between the services with certificates from
#     scripts/dev-pki; secrets mounted read-only;
#   - the health probes: gRPC health on each service's plaintext probe port and on its mTLS
#     port (qcashctl from the wallet image), the gateway's /healthz and /readyz;
#   - the API journey (tests/images/journey.mjs) against the gateway published on 127.0.0.1;
#   - the wallet's ledger audit (qcashctl audit) afterwards;
#   - at run time: every process of every container runs as a non-root uid, and a write to /
#     fails in every container.
# Then it removes the containers and the network (QCASH_IMAGES_KEEP=1 leaves them running).
# Exits non-zero on any failure. Needs the images of scripts/images.
#
#   tests/images/run.sh [all|dev|release]   (scripts/images run [...]; default all: dev, then
#                                            release)
# dev: the *-dev images with the sandbox and the development login, the whole journey; release:
# the release images as a release builds them, the journey without the charge (below).
#
# Ports on 127.0.0.1 (below 32768, outside Linux's ephemeral range): the gateway
# QCASH_IMAGES_GATEWAY_PORT (18480), the wallet's and the points service's gRPC for the
# journey's other callers QCASH_IMAGES_WALLET_PORT (18451), QCASH_IMAGES_POINTS_PORT (18453).
# The network's subnet: QCASH_IMAGES_SUBNET (10.89.77.0/24): the network has no DNS (podman's
# CNI backend here has no dnsname plugin), so each container gets a fixed address and every
# name through --add-host; the certificates name the services by those names.
set -euo pipefail
QCASH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/images/common.sh
source "$QCASH_ROOT/tests/images/common.sh"

GATEWAY_PORT="${QCASH_IMAGES_GATEWAY_PORT:-18480}"
WALLET_PORT="${QCASH_IMAGES_WALLET_PORT:-18451}"
POINTS_PORT="${QCASH_IMAGES_POINTS_PORT:-18453}"
SUBNET="${QCASH_IMAGES_SUBNET:-10.89.77.0/24}"
NET=qcash-images
PREFIX=qcash-images-
STATE="$QCASH_IMAGES_DIR/run"
SERVICE_UID=10001  # the Dockerfile's runtime user

# Which images: `dev` (the *-dev images and the sandbox: the full journey), `release` (the
# release images as a release builds them: no development login, no sandbox, so the journey
# leaves out the charge), or `all` (default): both, one after the other.
FLAVOR="${1:-all}"
case "$FLAVOR" in
  all) "$0" dev && exec "$0" release ;;
  dev|release) ;;
  *) images_die "usage: tests/images/run.sh [dev|release|all]" ;;
esac
svc_image() { if [ "$FLAVOR" = release ]; then release_image "$1"; else dev_image "$1"; fi; }

for p in "$GATEWAY_PORT" "$WALLET_PORT" "$POINTS_PORT"; do
  [ "$p" -lt 32768 ] || images_die "port $p is in the ephemeral range; use one below 32768"
done
for image in $(for t in wallet payment points gateway; do svc_image "$t"; done) \
  "$QCASH_POSTGRES_IMAGE" "$QCASH_REDIS_IMAGE" $([ "$FLAVOR" = dev ] && echo "$QCASH_SANDBOX_IMAGE"); do
  podman image exists "$image" || images_die "no image $image: run scripts/images first"
done

# The containers, their addresses and their images (the service images are the development
# builds: the sandbox's acceptance and the development login exist only there).
NAMES=(postgres redis redis-gateway wallet points payment sandbox gateway)
[ "$FLAVOR" = dev ] || NAMES=(postgres redis redis-gateway wallet points payment gateway)
declare -A IP=(
  [postgres]=10 [redis]=11 [redis-gateway]=12
  [wallet]=21 [points]=22 [payment]=23 [gateway]=24
)
net_prefix="${SUBNET%.*}"
for n in "${!IP[@]}"; do IP[$n]="$net_prefix.${IP[$n]}"; done
ADD_HOSTS=()
for n in "${!IP[@]}"; do ADD_HOSTS+=(--add-host "$n:${IP[$n]}"); done

cleanup() {
  local i
  # In reverse order of start: the sandbox shares the payment container's network namespace.
  for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do
    podman rm -f -t 5 "$PREFIX${NAMES[$i]}" >/dev/null 2>&1 || true
  done
  podman network rm -f "$NET" >/dev/null 2>&1 || true
}
failed() {
  images_log "FAILED: $*"
  local n
  for n in "${NAMES[@]}"; do
    podman container exists "$PREFIX$n" || continue
    echo "---- last lines of $n's log" >&2
    podman logs --tail 15 "$PREFIX$n" 2>&1 | sed 's/^/  /' >&2 || true
  done
  exit 1
}

# --- secrets, each owned by the user of the container that reads it ----------------------------

prepare_state() {
  rm -rf "$STATE"
  mkdir -p "$STATE"
  "$QCASH_ROOT/scripts/dev-pki" "$STATE/pki" wallet payment points gateway adbooking marketplace ops \
    settlement
  local secrets="$STATE/secrets"
  mkdir -p "$secrets"
  (
    umask 077
    openssl rand -hex 24 >"$secrets/postgres-password"
    for user in ops wallet gateway; do openssl rand -hex 32 >"$secrets/redis-$user.password"; done
    openssl rand -hex 32 >"$secrets/wallet-replay.key"
    openssl rand -hex 32 >"$secrets/csrf.secret"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$secrets/dev-token.key" 2>/dev/null
    openssl pkey -in "$secrets/dev-token.key" -pubout -out "$secrets/dev-token.pub" 2>/dev/null
    for provider in atone card paypal bank_transfer konbini paidy linepay au paygent; do
      echo "$provider=dev-$(openssl rand -hex 24)"
    done >"$secrets/payment-providers.txt"
  )
}

# mount_dir <container> <owner uid> <file-in-state:path-in-container>...: a folder with copies
# of those files (0400, owned by the container's user), for one read-only bind mount at
# /etc/qcash. Prints the folder.
mount_dir() {
  local name="$1" owner="$2"; shift 2
  local dir="$STATE/mounts/$name" spec
  mkdir -p "$dir"
  for spec in "$@"; do
    mkdir -p "$dir/$(dirname "${spec#*:}")"
    install -m 0400 "$STATE/${spec%%:*}" "$dir/${spec#*:}"
  done
  chown -R "$owner:$owner" "$dir"
  find "$dir" -type d -exec chmod 0500 {} +
  echo "$dir"
}

tls_files() {  # the files of identity $1 at tls/{ca.crt,tls.crt,tls.key}
  echo "pki/ca.pem:tls/ca.crt" "pki/$1.pem:tls/tls.crt" "pki/$1.key:tls/tls.key"
}
TLS_ENV=(-e QCASH_TLS_CA=/etc/qcash/tls/ca.crt -e QCASH_TLS_CERT=/etc/qcash/tls/tls.crt
  -e QCASH_TLS_KEY=/etc/qcash/tls/tls.key)

# The settings every container runs with (Kubernetes' securityContext of deploy/kustomize):
# a read-only root (podman's default tmpfs on /run, /tmp and /var/tmp turned off: each
# container names the one it needs), no capabilities, no privilege escalation, and limits.
COMMON=(--network "$NET" "${ADD_HOSTS[@]}" --read-only --read-only-tmpfs=false --cap-drop=ALL
  --security-opt=no-new-privileges --pids-limit=512 --memory=512m --restart=no)

start() {  # start <name> <podman run arguments...>
  local name="$1"; shift
  podman run -d --name "$PREFIX$name" --hostname "$name" --ip "${IP[$name]}" "${COMMON[@]}" "$@" \
    >/dev/null || failed "could not start $name"
}

# wait_until <what> <command...>: polls the command (at most 150 times, 0.2 s apart).
wait_until() {
  local what="$1"; shift
  for _ in $(seq 150); do
    if "$@" >/dev/null 2>&1; then return; fi
    sleep 0.2
  done
  failed "$what did not come up"
}

image_uid() {  # the uid an image runs as
  podman run --rm --read-only --network none --entrypoint /usr/bin/id "$1" -u
}

# qcashctl [podman run arguments...] -- <qcashctl arguments...>: qcashctl from the wallet image
# on the network, as the operator (the ops certificate).
QCASHCTL_MOUNT=""
qcashctl() {
  local run_args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do run_args+=("$1"); shift; done
  shift
  podman run --rm --network "$NET" "${ADD_HOSTS[@]}" --read-only \
    --read-only-tmpfs=false --cap-drop=ALL --security-opt=no-new-privileges \
    -v "$QCASHCTL_MOUNT:/etc/qcash:ro" \
    -e QCASHCTL_TLS_CERT=/etc/qcash/tls/tls.crt -e QCASHCTL_TLS_KEY=/etc/qcash/tls/tls.key \
    -e QCASHCTL_TLS_CA=/etc/qcash/tls/ca.crt "${run_args[@]}" \
    --entrypoint /usr/local/bin/qcashctl "$(svc_image wallet)" "$@"
}
probe_plain() {  # gRPC health on a plaintext probe port: qcashctl without a certificate
  podman run --rm --network "$NET" "${ADD_HOSTS[@]}" --read-only \
    --read-only-tmpfs=false --cap-drop=ALL --security-opt=no-new-privileges \
    --entrypoint /usr/local/bin/qcashctl "$(svc_image wallet)" health "$@"
}
probe_tls() {  # gRPC health on an mTLS port, as ops
  qcashctl -- health "$@"
}

# --- the run -----------------------------------------------------------------------------------

trap cleanup EXIT
cleanup
prepare_state
podman network create --subnet "$SUBNET" "$NET" >/dev/null

pg_uid="$(image_uid "$QCASH_POSTGRES_IMAGE")"
redis_uid="$(image_uid "$QCASH_REDIS_IMAGE")"
images_log "PostgreSQL 15 (uid $pg_uid), Redis x2 (uid $redis_uid)"
# tmpfs mounts owned by the container's user (U=true): podman 4.3 ignores a tmpfs mode and
# refuses uid=, so a tmpfs would otherwise be root's 0755.
start postgres --mount type=tmpfs,destination=/data,tmpfs-size=512m,U=true \
  --shm-size=64m -e QCASH_DATABASES="qcash_wallet qcash_payment qcash_points" \
  -v "$(mount_dir postgres "$pg_uid" secrets/postgres-password:postgres-password):/run/secrets:ro" \
  "$QCASH_POSTGRES_IMAGE"

# The Redis servers: ACL users as scripts/lib.sh qcash_start_redis writes them.
rules="$QCASH_ROOT/deploy/kustomize/components/in-cluster-data/redis-users.acl.rules"
sha_of() { printf '%s' "$(cat "$1")" | sha256sum | cut -d' ' -f1; }
for instance in main gateway; do
  (
    umask 077
    echo "user default reset off"
    echo "user ops reset on #$(sha_of "$STATE/secrets/redis-ops.password") ~* &* +@all"
    while read -r on user acl; do
      case "$on" in ''|\#*) continue ;; esac
      [ "$on" = "$instance" ] || continue
      echo "user $user reset on #$(sha_of "$STATE/secrets/redis-$user.password") $acl"
    done <"$rules"
  ) >"$STATE/secrets/users-$instance.acl"
  name=redis; [ "$instance" = gateway ] && name=redis-gateway
  start "$name" \
    -v "$(mount_dir "$name" "$redis_uid" "secrets/users-$instance.acl:users.acl"):/etc/redis-acl:ro" \
    "$QCASH_REDIS_IMAGE" --port 6379 --bind 0.0.0.0 --save "" --appendonly no --dir /tmp \
    --aclfile /etc/redis-acl/users.acl
done
wait_until "PostgreSQL" podman exec "${PREFIX}postgres" pg_isready -h /data -U postgres -d qcash_points
# As the operator user; the password passes through the environment, not the command line.
redis_ping() {
  [ "$(REDISCLI_AUTH="$(cat "$STATE/secrets/redis-ops.password")" \
    podman exec -e REDISCLI_AUTH "$PREFIX$1" redis-cli --no-auth-warning --user ops ping)" = PONG ]
}
for name in redis redis-gateway; do wait_until "$name" redis_ping "$name"; done

pg_password="$(cat "$STATE/secrets/postgres-password")"
db_url() { echo "postgresql://qcash:$pg_password@postgres:5432/$1?connect_timeout=5"; }
# Database URLs carry a password: they go in through env files (0600), not the command line.
envfile() {  # envfile <name> <VAR=value>...
  (umask 077 && printf '%s\n' "${@:2}" >"$STATE/$1.env")
  echo "$STATE/$1.env"
}
# The services' settings: those of deploy/kustomize/base/*/configmap.yaml, with the
# development run's extras (the dev overlay's login, the sandbox) and short delays.
SERVICE_ENV=(-e QCASH_HEALTH_LISTEN=0.0.0.0:8081 -e QCASH_METRICS_LISTEN=0.0.0.0:9090
  -e QCASH_GRPC_REFLECTION=false -e QCASH_DRAIN_TIMEOUT_MS=5000 -e QCASH_UNREADY_DELAY_MS=0
  -e QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE=/etc/qcash/seller-token/public.pem "${TLS_ENV[@]}")
# /tmp: the one writable place a service gets, as in Kubernetes (emptyDir, 16 MiB).
SERVICE_TMP=(--mount "type=tmpfs,destination=/tmp,tmpfs-size=16m,U=true")

images_log "$FLAVOR images: wallet, points, payment$([ "$FLAVOR" = dev ] && echo " with the provider sandbox"), gateway (uid $SERVICE_UID)"
# shellcheck disable=SC2046
start wallet "${SERVICE_TMP[@]}" -p "127.0.0.1:$WALLET_PORT:50051" \
  -v "$(mount_dir wallet "$SERVICE_UID" $(tls_files wallet) \
    secrets/dev-token.pub:seller-token/public.pem secrets/redis-wallet.password:redis/password \
    secrets/wallet-replay.key:replay-key/key):/etc/qcash:ro" \
  "${SERVICE_ENV[@]}" --env-file "$(envfile wallet "QCASH_WALLET_DATABASE_URL=$(db_url qcash_wallet)")" \
  -e QCASH_WALLET_LISTEN=0.0.0.0:50051 -e QCASH_REDIS_HOST=redis -e QCASH_REDIS_PORT=6379 \
  -e QCASH_REDIS_USER=wallet -e QCASH_REDIS_PASSWORD_FILE=/etc/qcash/redis/password \
  -e QCASH_WALLET_REPLAY_KEY_FILE=/etc/qcash/replay-key/key \
  "$(svc_image wallet)"

# shellcheck disable=SC2046
start points "${SERVICE_TMP[@]}" -p "127.0.0.1:$POINTS_PORT:50053" \
  -v "$(mount_dir points "$SERVICE_UID" $(tls_files points) \
    secrets/dev-token.pub:seller-token/public.pem):/etc/qcash:ro" \
  "${SERVICE_ENV[@]}" --env-file "$(envfile points "QCASH_POINTS_DATABASE_URL=$(db_url qcash_points)")" \
  -e QCASH_POINTS_LISTEN=0.0.0.0:50053 -e QCASH_WALLET_TARGET=wallet:50051 \
  "$(svc_image points)"

# The development run's payment service takes the sandbox's answers; a release one refuses the
# sandbox, and without provider URLs offers no method (a deployment configures them).
PAYMENT_DEV_ENV=()
[ "$FLAVOR" = dev ] && PAYMENT_DEV_ENV=(-e QCASH_PAYMENT_DEV_SANDBOX=1
  -e QCASH_PAYMENT_SANDBOX_URL=http://127.0.0.1:18080
  -e QCASH_PAYMENT_SECRETS_FILE=/etc/qcash/payment/providers.txt)
# shellcheck disable=SC2046
start payment "${SERVICE_TMP[@]}" \
  -v "$(mount_dir payment "$SERVICE_UID" $(tls_files payment) \
    secrets/dev-token.pub:seller-token/public.pem \
    secrets/payment-providers.txt:payment/providers.txt):/etc/qcash:ro" \
  "${SERVICE_ENV[@]}" --env-file "$(envfile payment "QCASH_PAYMENT_DATABASE_URL=$(db_url qcash_payment)")" \
  -e QCASH_PAYMENT_LISTEN=0.0.0.0:50052 -e QCASH_WALLET_TARGET=wallet:50051 \
  "${PAYMENT_DEV_ENV[@]}" \
  -e QCASH_PAYMENT_RETURN_URL="http://127.0.0.1:$GATEWAY_PORT/charge/done" \
  -e QCASH_PAYMENT_RECONCILE_INTERVAL_MS=1000 \
  "$(svc_image payment)"

# The provider sandbox listens on loopback only (it refuses anything else): it runs beside the
# payment service in that container's network namespace, as a sidecar in a pod would, and
# reaches the gateway's webhooks through the names that namespace has.
start_sidecar() {  # start_sidecar <name> <of container> <podman run arguments...>
  local name="$1" of="$2"; shift 2
  podman run -d --name "$PREFIX$name" --network "container:$PREFIX$of" --read-only \
    --read-only-tmpfs=false --cap-drop=ALL --security-opt=no-new-privileges --pids-limit=512 \
    --memory=512m --restart=no "$@" >/dev/null || failed "could not start $name"
}
[ "$FLAVOR" = dev ] && start_sidecar sandbox payment "${SERVICE_TMP[@]}" \
  -v "$(mount_dir sandbox "$SERVICE_UID" secrets/payment-providers.txt:payment/providers.txt):/etc/qcash:ro" \
  -e QCASH_SANDBOX_LISTEN=127.0.0.1:18080 -e QCASH_SANDBOX_WEBHOOK_BASE=http://gateway:8080 \
  -e QCASH_PAYMENT_SECRETS_FILE=/etc/qcash/payment/providers.txt \
  "$QCASH_SANDBOX_IMAGE"

# The dev overlay's development login (deploy/kustomize/overlays/dev/gateway-dev-login.yaml).
GATEWAY_DEV_ENV=()
[ "$FLAVOR" = dev ] && GATEWAY_DEV_ENV=(-e QCASH_GATEWAY_DEV_LOGIN=1
  -e QCASH_GATEWAY_DEV_TOKEN_PRIVATE_KEY_FILE=/etc/qcash/dev-token/private.pem
  -e QCASH_GATEWAY_SECURE_COOKIES=false)
# shellcheck disable=SC2046
start gateway "${SERVICE_TMP[@]}" -p "127.0.0.1:$GATEWAY_PORT:8080" \
  -v "$(mount_dir gateway "$SERVICE_UID" $(tls_files gateway) \
    secrets/dev-token.pub:seller-token/public.pem secrets/dev-token.key:dev-token/private.pem \
    secrets/csrf.secret:csrf/secret secrets/redis-gateway.password:redis/password):/etc/qcash:ro" \
  -e QCASH_METRICS_LISTEN=0.0.0.0:9090 -e QCASH_DRAIN_TIMEOUT_MS=5000 -e QCASH_UNREADY_DELAY_MS=0 \
  "${TLS_ENV[@]}" -e QCASH_GATEWAY_LISTEN=0.0.0.0:8080 \
  -e QCASH_WALLET_TARGET=wallet:50051 -e QCASH_PAYMENT_TARGET=payment:50052 \
  -e QCASH_POINTS_TARGET=points:50053 \
  -e "QCASH_GATEWAY_ISSUER_NAME=Qキャッシュ発行者（開発環境）" \
  -e "QCASH_GATEWAY_ISSUER_ADDRESS=東京都千代田区（開発環境の架空の住所）" \
  -e QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER=T7123456789012 \
  -e QCASH_GATEWAY_REDIS_HOST=redis-gateway -e QCASH_GATEWAY_REDIS_PORT=6379 \
  -e QCASH_GATEWAY_REDIS_USER=gateway -e QCASH_GATEWAY_REDIS_PASSWORD_FILE=/etc/qcash/redis/password \
  -e QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE=/etc/qcash/seller-token/public.pem \
  -e QCASH_GATEWAY_CSRF_SECRET_FILE=/etc/qcash/csrf/secret \
  "${GATEWAY_DEV_ENV[@]}" \
  "$(svc_image gateway)"

# shellcheck disable=SC2046
QCASHCTL_MOUNT="$(mount_dir qcashctl "$SERVICE_UID" $(tls_files ops))"

images_log "health probes"
for svc in wallet points payment; do
  wait_until "$svc (probe port)" probe_plain "$svc:8081"
done
wait_until "gateway /readyz" curl -fsS -o /dev/null "http://127.0.0.1:$GATEWAY_PORT/readyz"
declare -A GRPC_PORT=([wallet]=50051 [points]=50053 [payment]=50052)
for svc in wallet points payment; do
  probe_plain "$svc:8081" >/dev/null || failed "$svc: probe port not SERVING"
  probe_plain "$svc:8081" liveness >/dev/null || failed "$svc: liveness not SERVING"
  probe_tls "$svc:${GRPC_PORT[$svc]}" >/dev/null || failed "$svc: health over mTLS not SERVING"
  echo "  $svc: gRPC health SERVING on the probe port (overall, liveness) and over mTLS as ops"
done
for path in /healthz /readyz; do
  code="$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$GATEWAY_PORT$path")"
  [ "$code" = 200 ] || failed "gateway $path answered $code"
  echo "  gateway: $path 200"
done

images_log "the API journey (tests/images/journey.mjs)"
if [ ! -d "$QCASH_ROOT/tests/images/node_modules" ]; then
  (cd "$QCASH_ROOT/tests/images" && npm ci --no-audit --no-fund --loglevel=error)
fi
QCASH_GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT" QCASH_WALLET_ADDR="127.0.0.1:$WALLET_PORT" \
  QCASH_POINTS_ADDR="127.0.0.1:$POINTS_PORT" QCASH_PKI="$STATE/pki" QCASH_PROTO="$QCASH_ROOT/proto" \
  QCASH_JOURNEY_RELEASE="$([ "$FLAVOR" = release ] && echo 1 || echo 0)" \
  QCASH_TOKEN_KEY="$STATE/secrets/dev-token.key" \
  node "$QCASH_ROOT/tests/images/journey.mjs" || failed "the API journey"

images_log "the wallet's ledger audit"
qcashctl --env-file "$STATE/wallet.env" -- audit >"$STATE/audit.txt" 2>&1 \
  || { cat "$STATE/audit.txt" >&2; failed "the ledger audit"; }
sed 's/^/  /' "$STATE/audit.txt"

images_log "non-root processes and read-only root filesystems"
for n in "${NAMES[@]}"; do
  c="$PREFIX$n"
  [ "$(podman inspect --format '{{.State.Running}}' "$c")" = true ] || failed "$n is not running"
  [ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$c")" = true ] \
    || failed "$n: root filesystem not read-only"
  # Every process of the container, by its pid on the host: the real, effective, saved and
  # filesystem uids of /proc/<pid>/status must all be non-zero (podman top's `user` is the
  # container's view, shown alongside).
  hpids="$(podman top "$c" hpid | awk 'NR > 1 { print $1 }')"
  [ -n "$hpids" ] || failed "$n: no processes listed"
  uids=""
  for hpid in $hpids; do
    # A process that ended since podman top listed it (a PostgreSQL backend) has nothing left
    # to check.
    status="$(grep '^Uid:' "/proc/$hpid/status" 2>/dev/null)" || continue
    read -r _ ruid euid suid fsuid <<<"$status"
    for u in "$ruid" "$euid" "$suid" "$fsuid"; do
      [ "$u" != 0 ] || failed "$n: process $hpid runs as root (Uid: $ruid $euid $suid $fsuid)"
    done
    uids="$uids $ruid"
  done
  uids="$(echo "$uids" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')"
  users="$(podman top "$c" user | awk 'NR > 1' | sort -u | tr '\n' ' ')"
  exec_uid="$(podman exec "$c" /usr/bin/id -u)"
  [ "$exec_uid" != 0 ] || failed "$n: podman exec runs as root"
  # A write to / fails because the file system is read-only (EROFS), not merely because the
  # user may not write there (EACCES would say nothing about the root filesystem).
  for target in /write-probe /usr/local/bin/write-probe /var/tmp/write-probe; do
    if err="$(podman exec "$c" /bin/sh -c "true >$target" 2>&1)"; then
      failed "$n: a write to $target succeeded"
    fi
    [[ "$err" == *"Read-only file system"* ]] || failed "$n: a write to $target failed, but not as read-only: $err"
  done
  printf '  %-14s %2s process(es), uid %-6s (%s) exec as uid %s; writes to / refused\n' "$n" \
    "$(echo "$hpids" | wc -w)" "$uids" "${users% }" "$exec_uid"
done

images_log "passed ($FLAVOR images): the system from its images served the journey and the probes"
if [ "${QCASH_IMAGES_KEEP:-0}" = 1 ]; then
  trap - EXIT
  images_log "left running (QCASH_IMAGES_KEEP=1); remove with: podman rm -f ${NAMES[*]/#/$PREFIX}; podman network rm $NET"
fi
