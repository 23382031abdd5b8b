#!/bin/sh
# DEVELOPMENT/TEST ONLY (tests/images/Containerfile): makes a throwaway cluster in /data (a tmpfs)
# on first start, with one role and the databases named in QCASH_DATABASES, then runs PostgreSQL
# as PID 1 (it handles SIGTERM as a fast shutdown). The password of the role comes from
# /run/secrets/postgres-password; clients authenticate with scram-sha-256.
set -eu
data=/data/pg
if [ ! -s "$data/PG_VERSION" ]; then
  initdb -D "$data" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
    --pwfile=/run/secrets/postgres-password -E UTF8 --locale=C.UTF-8 >/dev/null
  echo "host all all 0.0.0.0/0 scram-sha-256" >>"$data/pg_hba.conf"
  pg_ctl -D "$data" -o "-c listen_addresses= -c unix_socket_directories=/data" -w start >/dev/null
  pw="$(cat /run/secrets/postgres-password)"
  psql -h /data -U postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE qcash LOGIN PASSWORD '$pw'" >/dev/null
  for db in ${QCASH_DATABASES:-}; do
    psql -h /data -U postgres -v ON_ERROR_STOP=1 -q -c "CREATE DATABASE $db OWNER qcash" >/dev/null
  done
  pg_ctl -D "$data" -m fast -w stop >/dev/null
fi
exec postgres -D "$data" -c listen_addresses='*' -c unix_socket_directories=/data
