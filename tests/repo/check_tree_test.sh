#!/usr/bin/env bash
# scripts/check-tree against throwaway git repositories: it must refuse a tracked private key, a
# tracked file over 1 MiB and a test run that leaves files behind, and pass a clean tree.
set -euo pipefail
check="$(cd "$(dirname "$0")/../.." && pwd)/scripts/check-tree"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
expect() {  # expect pass|fail description command...
  local want=$1 what=$2; shift 2
  if "$@" >"$work/out" 2>&1; then got=pass; else got=fail; fi
  if [ "$got" = "$want" ]; then echo "ok: $what"; else
    echo "FAILED: $what (expected $want, got $got)"; cat "$work/out"; failures=$((failures + 1)); fi
}
repo() {
  rm -rf "$work/r"; mkdir -p "$work/r/.ci"; git -C "$work/r" init -q
  echo "int main() {}" > "$work/r/main.cc"
}
commit() { git -C "$work/r" add -A; git -C "$work/r" -c user.email=t@t -c user.name=t commit -qm t; }
run() { QCASH_CHECK_TREE_ROOT="$work/r" "$check" "$@"; }

repo; commit
expect pass "a clean tree of sources" run tracked

repo; openssl ecparam -name prime256v1 -genkey -noout -out "$work/r/server.pem" 2>/dev/null; commit
expect fail "a tracked EC private key" run tracked

repo; mkdir "$work/r/fixtures"; openssl ecparam -name prime256v1 -genkey -noout -out "$work/r/fixtures/test-key.pem" 2>/dev/null
echo "fixtures/test-key.pem" > "$work/r/.ci/key-fixtures"; commit
expect pass "a private key listed as a fixture" run tracked

repo; head -c 1100000 /dev/zero > "$work/r/pgdata.bin"; commit
expect fail "a tracked file over 1 MiB" run tracked

repo; commit; run snapshot "$work/snap"
expect pass "tests that leave the tree as it was" run unchanged "$work/snap"
mkdir -p "$work/r/test-state/x"; echo data > "$work/r/test-state/x/PG_VERSION"
expect fail "tests that leave state in the checkout" run unchanged "$work/snap"

repo; commit; run snapshot "$work/snap"; echo changed >> "$work/r/main.cc"
expect fail "tests that modify a tracked file" run unchanged "$work/snap"

echo "$((7 - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
