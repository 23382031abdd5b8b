# Sourced by scripts/up first: the development secrets of the local run, made once under
# .local/ and never used anywhere else.
#   .local/pki/      a development CA and one certificate per identity (mTLS between processes)
#   .local/secrets/  the key pair of the development login's seller tokens, the CSRF secret;
#                    scripts/lib.sh keeps the Redis users' passwords (redis-<user>.password)
#                    and the wallet's replay key (wallet-replay.key) there too
QCASH_PKI="$QCASH_LOCAL/pki"
QCASH_SECRETS="$QCASH_LOCAL/secrets"
"$QCASH_ROOT/scripts/dev-pki" "$QCASH_PKI" wallet payment points gateway adbooking settlement ops \
  marketplace sandbox
mkdir -p "$QCASH_SECRETS"
chmod 700 "$QCASH_SECRETS"
if [ ! -f "$QCASH_SECRETS/dev-token.key" ]; then
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$QCASH_SECRETS/dev-token.key" 2>/dev/null
  openssl pkey -in "$QCASH_SECRETS/dev-token.key" -pubout -out "$QCASH_SECRETS/dev-token.pub" 2>/dev/null
  openssl rand -hex 32 >"$QCASH_SECRETS/csrf.secret"
fi

# The environment that gives a process `identity`'s certificate: qcash_tls_env <identity>
qcash_tls_env() {
  echo "QCASH_TLS_CERT=$QCASH_PKI/$1.pem" "QCASH_TLS_KEY=$QCASH_PKI/$1.key" "QCASH_TLS_CA=$QCASH_PKI/ca.pem"
}
# Health checks by scripts/up run as the operator identity.
export QCASHCTL_TLS_CERT="$QCASH_PKI/ops.pem" QCASHCTL_TLS_KEY="$QCASH_PKI/ops.key" \
  QCASHCTL_TLS_CA="$QCASH_PKI/ca.pem"
