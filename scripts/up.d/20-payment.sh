# Sourced by scripts/up: the payment service (charge vouchers, issue #4) and, for the local
# run only, the provider sandbox that plays the eleven methods' providers (a development tool:
# the payment service accepts it only with QCASH_PAYMENT_DEV_SANDBOX=1). The gateway
# (40-gateway.sh) reaches the payment service through QCASH_PAYMENT_PORT, and the sandbox
# sends provider notifications to the gateway's /webhooks/<provider>.
QCASH_PAYMENT_PORT="${QCASH_PAYMENT_PORT:-25052}"
QCASH_SANDBOX_PORT="${QCASH_SANDBOX_PORT:-18080}"
QCASH_PAYMENT_SECRETS_FILE="$QCASH_SECRETS/payment-providers.txt"
if [ ! -f "$QCASH_PAYMENT_SECRETS_FILE" ]; then
  # Development secrets, made here once and shared by the sandbox and the payment service.
  (
    umask 077
    for provider in atone card paypal bank_transfer konbini paidy linepay au paygent; do
      echo "$provider=dev-$(openssl rand -hex 24)"
    done >"$QCASH_PAYMENT_SECRETS_FILE"
  )
fi
qcash_create_database qcash_payment
qcash_start_http_service payment-sandbox \
  "$QCASH_BUILD/services/payment/sandbox/qcash-payment-sandbox" \
  "http://127.0.0.1:$QCASH_SANDBOX_PORT/healthz" \
  QCASH_SANDBOX_LISTEN="127.0.0.1:$QCASH_SANDBOX_PORT" \
  QCASH_SANDBOX_WEBHOOK_BASE="http://127.0.0.1:${QCASH_GATEWAY_PORT:-8080}" \
  QCASH_PAYMENT_SECRETS_FILE="$QCASH_PAYMENT_SECRETS_FILE"
# shellcheck disable=SC2046
qcash_start_service payment "$QCASH_BUILD/services/payment/qcash-payment" "127.0.0.1:$QCASH_PAYMENT_PORT" \
  $(qcash_tls_env payment) \
  QCASH_PAYMENT_LISTEN="127.0.0.1:$QCASH_PAYMENT_PORT" \
  QCASH_PAYMENT_DATABASE_URL="$(qcash_pg_url qcash_payment)" \
  QCASH_WALLET_TARGET="127.0.0.1:$QCASH_WALLET_PORT" \
  QCASH_PAYMENT_DEV_SANDBOX=1 \
  QCASH_PAYMENT_SANDBOX_URL="http://127.0.0.1:$QCASH_SANDBOX_PORT" \
  QCASH_PAYMENT_SECRETS_FILE="$QCASH_PAYMENT_SECRETS_FILE" \
  QCASH_PAYMENT_RETURN_URL="http://127.0.0.1:${QCASH_GATEWAY_PORT:-8080}/charge/done" \
  QCASH_PAYMENT_POLL_INTERVAL_S=10 \
  QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE="$QCASH_SECRETS/dev-token.pub" \
  QCASH_GRPC_REFLECTION=1 \
  QCASH_METRICS_LISTEN="127.0.0.1:${QCASH_PAYMENT_METRICS_PORT:-9102}"
echo "  payment     gRPC 127.0.0.1:$QCASH_PAYMENT_PORT mTLS (qcash.payment.v1.PaymentService; health, reflection; metrics :${QCASH_PAYMENT_METRICS_PORT:-9102}); provider sandbox (development) http://127.0.0.1:$QCASH_SANDBOX_PORT" \
  >"$QCASH_LOCAL/run/payment.info"
