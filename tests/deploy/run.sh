#!/usr/bin/env bash
# The deployment checks (ctest: deploy_test): renders every kustomize overlay with kubectl and
# validates each object against the Kubernetes schemas and Qcash's rules (validate.mjs), checks
# the Dockerfile (check_dockerfiles.mjs), and proves both checkers fail on broken samples.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
command -v kubectl >/dev/null || { echo "kubectl (with kustomize) is required"; exit 1; }
command -v node >/dev/null || { echo "node is required"; exit 1; }
if [ ! -d node_modules/kubernetes-models ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

for overlay in dev prod; do
  kubectl kustomize "$root/deploy/kustomize/overlays/$overlay" >"$out/$overlay.yaml"
  node validate.mjs "$overlay" "$out/$overlay.yaml"
done
# One Dockerfile, one image target a service (docker build --target <service>).
images=--images=wallet,payment,points,gateway
node check_dockerfiles.mjs "$root" "$images" "$root/Dockerfile"

# The checkers must be able to fail: every planted problem is reported.
expect_failure() {  # <what> <command...>; stdin: lines that must appear in its output
  local what="$1"; shift
  local report
  if report="$("$@")"; then echo "FAIL: $what passed"; exit 1; fi
  while IFS= read -r needle; do
    [ -z "$needle" ] && continue
    grep -qF -- "$needle" <<<"$report" || { echo "FAIL: $what did not report: $needle"; echo "$report"; exit 1; }
  done
  echo "ok: $what is refused"
}
expect_failure "the broken manifest" node validate.mjs fixture fixtures/broken.yaml <<'NEEDLES'
uses latest
no limits.cpu
no liveness probe
unknown field "readinesProbe"
may run as root
runs as uid 0
root filesystem writable
capabilities not all dropped
QCASH_DATABASE_PASSWORD is a literal value
a Secret object is rendered
spec/replicas must be integer
NEEDLES
expect_failure "the dev overlay judged as production" node validate.mjs prod "$out/dev.yaml" <<'NEEDLES'
fewer than 2 replicas
no pod anti-affinity
development-only workload in production
NEEDLES
# 20 s is shorter only if the check reads the ConfigMaps (10 s + 15 s); the default drain alone is 10 s.
sed 's/terminationGracePeriodSeconds: [0-9]*/terminationGracePeriodSeconds: 20/' "$out/prod.yaml" \
  >"$out/prod-short-grace.yaml"
expect_failure "production with a grace period shorter than the shutdown" \
  node validate.mjs prod "$out/prod-short-grace.yaml" <<'NEEDLES'
terminationGracePeriodSeconds 20 is shorter than the not-ready delay plus the drain timeout (25000 ms)
NEEDLES
expect_failure "the broken Dockerfile" node check_dockerfiles.mjs "$root" fixtures/Dockerfile.broken <<'NEEDLES'
not a multi-stage build
uses latest
installs build tools
runs as root
no exec-form ENTRYPOINT
copies something secret
builds the development conveniences in unasked
NEEDLES
expect_failure "the broken stages" \
  node check_dockerfiles.mjs "$root" "$images" fixtures/Dockerfile.broken-stages <<'NEEDLES'
ARG DEBIAN_RELEASE has no default
QCASH_DEVELOPMENT=ON: images are release builds
no image stage points
no image stage gateway
image wallet: the final image installs build tools: cmake, libpq-dev
NEEDLES
expect_failure "the egress mistakes" node validate.mjs fixture fixtures/networkpolicy-broken.yaml <<'NEEDLES'
no default-deny egress NetworkPolicy
an egress rule lets out to anywhere
an egress rule allows every port
egress to 0.0.0.0/0 does not exclude the private ranges
payment may reach Redis (it uses none)
lets payment into Redis (it uses none)
NEEDLES
node -e 'const t = require("fs").readFileSync(0, "utf8");
         process.stdout.write(t.split(/^---$/m).filter((d) => !/name: default-deny-egress/.test(d)).join("---"));' \
  <"$out/prod.yaml" >"$out/prod-open-egress.yaml"
expect_failure "production without its default-deny egress policy" \
  node validate.mjs prod "$out/prod-open-egress.yaml" <<'NEEDLES'
no default-deny egress NetworkPolicy
NEEDLES

# A release pins every image by digest at deploy time (docs/OPERATIONS.md): the prod overlay
# with tags only is refused, the same overlay with `images: digest:` set passes.
expect_failure "a release with images by tag" node validate.mjs release "$out/prod.yaml" <<'NEEDLES'
image registry.example.com/qcash/wallet:1.0.0 is not pinned by digest
NEEDLES
mkdir "$out/release"
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - $(realpath --relative-to="$out/release" "$root/deploy/kustomize/overlays/prod")"
  echo "images:"
  for svc in wallet payment points gateway; do
    echo "  - name: registry.example.com/qcash/$svc"
    echo "    digest: sha256:$(printf '%s' "$svc" | sha256sum | cut -d' ' -f1)"
  done
} >"$out/release/kustomization.yaml"
kubectl kustomize "$out/release" >"$out/release.yaml"
node validate.mjs release "$out/release.yaml"
