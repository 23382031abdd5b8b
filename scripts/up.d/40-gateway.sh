# Sourced by scripts/up: the gateway, with the development login (tokens signed by the key of
# 00-secrets.sh) and plain-HTTP cookies; mTLS to the services.
QCASH_GATEWAY_PORT="${QCASH_GATEWAY_PORT:-8080}"
gateway_env=(
  $(qcash_tls_env gateway)
  QCASH_GATEWAY_LISTEN="127.0.0.1:$QCASH_GATEWAY_PORT"
  QCASH_WALLET_TARGET="127.0.0.1:$QCASH_WALLET_PORT"
  $(qcash_redis_env gateway gateway QCASH_GATEWAY_REDIS)
  QCASH_GATEWAY_TOKEN_PUBLIC_KEY_FILE="$QCASH_SECRETS/dev-token.pub"
  QCASH_GATEWAY_CSRF_SECRET_FILE="$QCASH_SECRETS/csrf.secret"
  QCASH_GATEWAY_DEV_LOGIN=1
  QCASH_GATEWAY_DEV_TOKEN_PRIVATE_KEY_FILE="$QCASH_SECRETS/dev-token.key"
  QCASH_GATEWAY_SECURE_COOKIES=false
  "QCASH_GATEWAY_ISSUER_NAME=Qキャッシュ発行者（開発環境）"
  "QCASH_GATEWAY_ISSUER_ADDRESS=東京都千代田区（開発環境の架空の住所）"
  QCASH_GATEWAY_INVOICE_REGISTRATION_NUMBER=T7123456789012
  QCASH_METRICS_LISTEN="127.0.0.1:${QCASH_GATEWAY_METRICS_PORT:-9104}"
)
[ -n "${QCASH_PAYMENT_PORT:-}" ] && gateway_env+=(QCASH_PAYMENT_TARGET="127.0.0.1:$QCASH_PAYMENT_PORT")
[ -n "${QCASH_POINTS_PORT:-}" ] && gateway_env+=(QCASH_POINTS_TARGET="127.0.0.1:$QCASH_POINTS_PORT")
qcash_start_http_service gateway "$QCASH_BUILD/gateway/qcash-gateway" \
  "http://127.0.0.1:$QCASH_GATEWAY_PORT/readyz" "${gateway_env[@]}"
echo "  gateway     http://127.0.0.1:$QCASH_GATEWAY_PORT/  (seller pages; log in at /dev/login; API /api/v1, /openapi.json)" \
  >"$QCASH_LOCAL/run/gateway.info"
