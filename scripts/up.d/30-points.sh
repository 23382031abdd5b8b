# Sourced by scripts/up: the points service (service points and their conversion into Qcash),
# with mTLS; it credits conversions to the wallet as `points`. The gateway (40-gateway.sh)
# reaches it through QCASH_POINTS_PORT.
QCASH_POINTS_PORT="${QCASH_POINTS_PORT:-25053}"
qcash_create_database qcash_points
# shellcheck disable=SC2046
qcash_start_service points "$QCASH_BUILD/services/points/qcash-points" "127.0.0.1:$QCASH_POINTS_PORT" \
  $(qcash_tls_env points) \
  QCASH_POINTS_LISTEN="127.0.0.1:$QCASH_POINTS_PORT" \
  QCASH_POINTS_DATABASE_URL="$(qcash_pg_url qcash_points)" \
  QCASH_WALLET_TARGET="127.0.0.1:$QCASH_WALLET_PORT" \
  QCASH_SELLER_TOKEN_PUBLIC_KEY_FILE="$QCASH_SECRETS/dev-token.pub" \
  QCASH_GRPC_REFLECTION=1 \
  QCASH_METRICS_LISTEN="127.0.0.1:${QCASH_POINTS_METRICS_PORT:-9103}"
echo "  points      gRPC 127.0.0.1:$QCASH_POINTS_PORT mTLS (qcash.points.v1.PointsService; health, reflection; metrics :${QCASH_POINTS_METRICS_PORT:-9103})" \
  >"$QCASH_LOCAL/run/points.info"
