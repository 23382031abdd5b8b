#!/usr/bin/env bash
# tools/pre-commit as git runs it, in throwaway git repositories: a commit must be refused for a
# staged private key, a staged file over 1 MiB and a staged C++ file not formatted to
# .clang-format, and must go through for a clean formatted file. What counts is the index, so
# a file fixed only in the working tree is still refused.
set -euo pipefail
top="$(cd "$(dirname "$0")/../.." && pwd)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
passed=0
expect() {  # expect pass|fail description command...
  local want=$1 what=$2; shift 2
  if "$@" >"$work/out" 2>&1; then got=pass; else got=fail; fi
  if [ "$got" = "$want" ]; then echo "ok: $what"; passed=$((passed + 1)); else
    echo "FAILED: $what (expected $want, got $got)"; cat "$work/out"; failures=$((failures + 1)); fi
}
expect_output() {  # expect_output text description: the last run printed text
  if grep -qF -- "$1" "$work/out"; then echo "ok: $2"; passed=$((passed + 1)); else
    echo "FAILED: $2 (no \"$1\" in the output)"; cat "$work/out"; failures=$((failures + 1)); fi
}
repo() {  # a repository with the hook installed as the README says, and one commit
  rm -rf "$work/r"; mkdir -p "$work/r/tools" "$work/r/src"; git -C "$work/r" init -q
  ln -s "$top/tools/pre-commit" "$work/r/tools/pre-commit"
  ln -s ../../tools/pre-commit "$work/r/.git/hooks/pre-commit"
  cp "$top/.clang-format" "$work/r/"
  printf 'int main() { return 0; }\n' >"$work/r/src/main.cc"
  git -C "$work/r" add -A
  commit
}
commit() { git -C "$work/r" -c user.email=t@t -c user.name=t commit -qm t "$@"; }

repo
expect pass "the first commit: formatted sources" git -C "$work/r" log --oneline -1
printf 'int Twice(int x) { return 2 * x; }\n' >"$work/r/src/twice.cc"; git -C "$work/r" add -A
expect pass "a formatted C++ file" commit

repo; printf 'int  Twice( int x ){return 2*x;}\n' >"$work/r/src/twice.cc"; git -C "$work/r" add -A
expect fail "a C++ file not formatted" commit
expect_output "clang-format-16 -i src/twice.cc" "the refusal names the command that fixes it"
printf 'int Twice(int x) { return 2 * x; }\n' >"$work/r/src/twice.cc"
expect fail "formatted in the working tree only, not staged" commit
git -C "$work/r" add -A
expect pass "formatted and staged" commit

repo; openssl ecparam -name prime256v1 -genkey -noout -out "$work/r/server.pem" 2>/dev/null
git -C "$work/r" add -A
expect fail "a staged EC private key" commit
expect_output "server.pem: a private key" "the refusal names the key"

repo; openssl genpkey -algorithm ed25519 -out "$work/r/notes.txt" 2>/dev/null
git -C "$work/r" add -A
expect fail "a staged PKCS#8 private key in a .txt file" commit

repo; head -c 1100000 /dev/zero >"$work/r/pgdata.bin"; git -C "$work/r" add -A
expect fail "a staged file over 1 MiB" commit
expect_output "pgdata.bin: 1100000 bytes" "the refusal names the large file"

repo; head -c 1100000 /dev/zero >"$work/r/pgdata.bin"; git -C "$work/r" add -A
commit --no-verify; git -C "$work/r" rm -q pgdata.bin
expect pass "deleting a large file" commit

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
