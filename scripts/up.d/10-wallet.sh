# Sourced by scripts/up: the wallet service.
qcash_create_database qcash_wallet
qcash_start_service wallet "$QCASH_BUILD/services/wallet/qcash-wallet" "127.0.0.1:$QCASH_WALLET_PORT" \
  QCASH_INSECURE_DEV=1 \
  QCASH_WALLET_LISTEN="127.0.0.1:$QCASH_WALLET_PORT" \
  QCASH_WALLET_DATABASE_URL="$(qcash_pg_url qcash_wallet)" \
  QCASH_REDIS_PORT="$QCASH_REDIS_PORT" \
  QCASH_METRICS_LISTEN="127.0.0.1:${QCASH_WALLET_METRICS_PORT:-9101}"
echo "  wallet      gRPC 127.0.0.1:$QCASH_WALLET_PORT (qcash.wallet.v1.WalletService; health, reflection)" \
  >"$QCASH_LOCAL/run/wallet.info"
