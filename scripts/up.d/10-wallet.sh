# Sourced by scripts/up: the wallet service, with mTLS.
qcash_create_database qcash_wallet
# shellcheck disable=SC2046
qcash_start_service wallet "$QCASH_BUILD/services/wallet/qcash-wallet" "127.0.0.1:$QCASH_WALLET_PORT" \
  $(qcash_tls_env wallet) \
  QCASH_WALLET_LISTEN="127.0.0.1:$QCASH_WALLET_PORT" \
  QCASH_WALLET_DATABASE_URL="$(qcash_pg_url qcash_wallet)" \
  $(qcash_redis_env main wallet) \
  QCASH_WALLET_REPLAY_KEY_FILE="$(qcash_secret_file wallet-replay.key)" \
  QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE="$QCASH_SECRETS/dev-token.pub" \
  QCASH_GRPC_REFLECTION=1 \
  QCASH_METRICS_LISTEN="127.0.0.1:${QCASH_WALLET_METRICS_PORT:-9101}"
echo "  wallet      gRPC 127.0.0.1:$QCASH_WALLET_PORT mTLS (qcash.wallet.v1.WalletService; health, reflection; metrics :${QCASH_WALLET_METRICS_PORT:-9101})" \
  >"$QCASH_LOCAL/run/wallet.info"
