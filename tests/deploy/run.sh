#!/usr/bin/env bash
# The deployment checks (ctest: deploy_test): renders every kustomize overlay with kubectl and
# validates each object against the Kubernetes schemas (the CloudNativePG and
# prometheus-operator ones for their resources) and Qcash's rules (validate.mjs), checks the
# Dockerfile (check_dockerfiles.mjs), and proves both checkers fail on broken samples.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
command -v kubectl >/dev/null || { echo "kubectl (with kustomize) is required"; exit 1; }
command -v node >/dev/null || { echo "node is required"; exit 1; }
if [ ! -d node_modules/kubernetes-models ] || [ ! -d node_modules/@kubernetes-models/cloudnative-pg ] ||
   [ ! -d node_modules/@kubernetes-models/prometheus-operator ] || [ package-lock.json -nt node_modules ]; then
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
expect_failure "the broken operator objects" node validate.mjs fixture fixtures/operators-broken.yaml <<'NEEDLES'
Cluster/typed-wrong: invalid against the postgresql.cnpg.io/v1 schema: data/spec/instances must be integer
synchronous/method must be equal to one of the allowed values
Cluster/typed-wrong: spec: unknown field "instance"
Cluster/careless: 1 instance(s); at least 3
Cluster/careless: no synchronous replicas
Cluster/typed-wrong: no backup
backup s3Credentials.secretAccessKey is not a reference to a Secret
Cluster/careless: the backup has no retentionPolicy
Cluster/careless: no ScheduledBackup
Cluster/careless: instances may share a node
Cluster/careless: not scraped
ScheduledBackup/orphan: backs up nowhere, which is not rendered
PrometheusRule/careless: invalid against the monitoring.coreos.com/v1 schema: data/spec/groups/0/rules/0 must have required property expr
rules/0/for must match pattern
PrometheusRule/careless: rule Typo: unknown field "labls"
ServiceMonitor/careless: invalid against the monitoring.coreos.com/v1 schema: data/spec must have required property selector
NEEDLES
# Production drifting from docs/OPERATIONS.md or losing a piece: an alert renamed, a threshold
# changed, a duration dropped; a service's database elsewhere than a Cluster's read-write
# service, a Cluster without its nightly backup, a service unscraped, a service not let out to
# its database.
sed -e 's/alert: CacheCold$/alert: CacheCool/' \
    -e 's/uncredited_age_seconds > 600$/uncredited_age_seconds > 6000/' \
    -e '/^      for: 15m$/d' "$out/prod.yaml" >"$out/prod-alerts-drifted.yaml"
expect_failure "production whose alerts differ from docs/OPERATIONS.md" \
  node validate.mjs prod "$out/prod-alerts-drifted.yaml" <<'NEEDLES'
alert CacheCold of docs/OPERATIONS.md has no PrometheusRule rule(s)
alert CacheCool is not in docs/OPERATIONS.md
alert PaidNotCredited: the rule's expression differs from docs/OPERATIONS.md
alert ReconcilerBacklog: for "" vs "15m" in docs/OPERATIONS.md
NEEDLES
node -e 'const t = require("fs").readFileSync(0, "utf8");
         process.stdout.write(t.split(/^---$/m).filter((d) =>
           !/^kind: ScheduledBackup$[^]*^  name: qcash-payment-db-nightly$/m.test(d) &&
           !/^kind: ServiceMonitor$[^]*^  name: points$/m.test(d) &&
           !/^  name: payment-to-database$/m.test(d)).join("---")
           .replace(/postgresql:\/\/qcash_wallet@qcash-wallet-db-rw:/, "postgresql://qcash_wallet@db.example.internal:"));' \
  <"$out/prod.yaml" >"$out/prod-pieces-missing.yaml"
expect_failure "production with a database off CloudNativePG, an unbacked cluster, an unscraped service, a blocked one" \
  node validate.mjs prod "$out/prod-pieces-missing.yaml" <<'NEEDLES'
Deployment/wallet: QCASH_WALLET_DATABASE_URL points at db.example.internal, not the read-write service of a rendered CloudNativePG Cluster
Cluster/qcash-payment-db: no ScheduledBackup
Deployment/points: no ServiceMonitor scrapes its Service's metrics port
Deployment/payment: no NetworkPolicy lets it out to qcash-payment-db's pods on 5432
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
Cluster/qcash-wallet-db: image ghcr.io/cloudnative-pg/postgresql:15.13 is not pinned by digest
NEEDLES
mkdir "$out/release"
# The overlay's image transformer reaches the Clusters' imageName (kustomizeconfig.yaml); the
# release kustomization needs the same configuration for its own `images:`.
cp "$root/deploy/kustomize/overlays/prod/kustomizeconfig.yaml" "$out/release/"
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  echo "  - $(realpath --relative-to="$out/release" "$root/deploy/kustomize/overlays/prod")"
  echo "configurations:"
  echo "  - kustomizeconfig.yaml"
  echo "images:"
  for image in qcash/wallet qcash/payment qcash/points qcash/gateway; do
    echo "  - name: registry.example.com/$image"
    echo "    digest: sha256:$(printf '%s' "${image#qcash/}" | sha256sum | cut -d' ' -f1)"
  done
  echo "  - name: ghcr.io/cloudnative-pg/postgresql"
  echo "    digest: sha256:$(printf '%s' postgresql | sha256sum | cut -d' ' -f1)"
} >"$out/release/kustomization.yaml"
kubectl kustomize "$out/release" >"$out/release.yaml"
node validate.mjs release "$out/release.yaml"
