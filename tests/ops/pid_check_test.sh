#!/usr/bin/env bash
# scripts/lib.sh decides whether a service from a pid file still runs (scripts/up skips what
# runs). `kill -0` succeeds for an exited process its parent has not reaped yet, and for a pid
# reused by another program: once scripts/up said "wallet already running" and left the
# wallet down (issue 13). qcash_pid_runs must say no in both cases and yes for the live program.
set -euo pipefail
source "$(cd "$(dirname "$0")/../.." && pwd)/scripts/lib.sh"
failures=0
check() {  # check yes|no description pid binary
  local want=$1 what=$2 got=no
  if qcash_pid_runs "$3" "$4"; then got=yes; fi
  if [ "$got" = "$want" ]; then echo "ok: $what"; else
    echo "FAILED: $what (expected $want, got $got)"; failures=$((failures + 1)); fi
}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# A zombie: `sleep 0.1` exits while its parent (exec'd into `sleep 30`) never reaps it.
bash -c 'sleep 0.1 & echo $! >"$0"; exec sleep 30' "$work/zombie.pid" &
for _ in $(seq 100); do [ -s "$work/zombie.pid" ] && break; sleep 0.05; done
zombie=$(cat "$work/zombie.pid")
for _ in $(seq 100); do [ "$(awk '{print $3}' "/proc/$zombie/stat")" = Z ] && break; sleep 0.05; done
[ "$(awk '{print $3}' "/proc/$zombie/stat")" = Z ] || { echo "FAILED: no zombie to test with"; exit 1; }
kill -0 "$zombie" || { echo "FAILED: kill -0 should succeed for a zombie (the old check)"; exit 1; }
check no "an exited, unreaped process is not running" "$zombie" /usr/bin/sleep

sleep 30 &
live=$!
check yes "a live process of the expected program runs" "$live" "$(command -v sleep)"
check no "a live process of another program is not the service" "$live" /usr/bin/tail
check no "a pid that does not exist" 999999999 /usr/bin/sleep
check no "a pid file with garbage" "12ab" /usr/bin/sleep

# qcash_wait_gone returns once the process is gone.
sleep 0.3 &
short=$!
qcash_wait_gone "$short" "$(command -v sleep)"
check no "qcash_wait_gone waited for the exit" "$short" "$(command -v sleep)"

[ "$failures" -eq 0 ] || { echo "$failures failed"; exit 1; }
echo "all passed"
