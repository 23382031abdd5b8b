# Sourced by scripts/up: the gateway, with the development login (tokens signed by a key made
# here, never used anywhere else) and plain-HTTP cookies.
QCASH_GATEWAY_PORT="${QCASH_GATEWAY_PORT:-8080}"
secrets="$QCASH_LOCAL/secrets"
mkdir -p "$secrets"
chmod 700 "$secrets"
if [ ! -f "$secrets/dev-token.key" ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$secrets/dev-token.key" 2>/dev/null
  openssl pkey -in "$secrets/dev-token.key" -pubout -out "$secrets/dev-token.pub" 2>/dev/null
  openssl rand -hex 32 >"$secrets/csrf.secret"
fi
gateway_env=(
  QCASH_INSECURE_DEV=1
  QCASH_GATEWAY_LISTEN="127.0.0.1:$QCASH_GATEWAY_PORT"
  QCASH_WALLET_TARGET="127.0.0.1:$QCASH_WALLET_PORT"
  QCASH_REDIS_PORT="$QCASH_REDIS_PORT"
  QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE="$secrets/dev-token.pub"
  QCASH_GATEWAY_CSRF_SECRET_FILE="$secrets/csrf.secret"
  QCASH_GATEWAY_DEV_LOGIN=1
  QCASH_GATEWAY_DEV_TOKEN_PRIVATE_KEY_FILE="$secrets/dev-token.key"
  QCASH_GATEWAY_SECURE_COOKIES=false
)
[ -n "${QCASH_PAYMENT_PORT:-}" ] && gateway_env+=(QCASH_PAYMENT_TARGET="127.0.0.1:$QCASH_PAYMENT_PORT")
[ -n "${QCASH_POINTS_PORT:-}" ] && gateway_env+=(QCASH_POINTS_TARGET="127.0.0.1:$QCASH_POINTS_PORT")
qcash_start_http_service gateway "$QCASH_BUILD/gateway/qcash-gateway" \
  "http://127.0.0.1:$QCASH_GATEWAY_PORT/readyz" "${gateway_env[@]}"
echo "  gateway     http://127.0.0.1:$QCASH_GATEWAY_PORT/  (seller pages; log in at /dev/login; API /api/v1, /openapi.json)" \
  >"$QCASH_LOCAL/run/gateway.info"
