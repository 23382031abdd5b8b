# shellcheck shell=bash disable=SC2034
# Shared by scripts/images and tests/images/run.sh. Source it; do not run it.
QCASH_ROOT="${QCASH_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
QCASH_IMAGES_DIR="${QCASH_IMAGES_DIR:-$QCASH_ROOT/build/images}"
QCASH_IMAGE_TAG="${QCASH_IMAGE_TAG:-local}"

QCASH_BASE_IMAGE=docker.io/library/debian:12-slim
release_image() { echo "localhost/qcash/$1:$QCASH_IMAGE_TAG"; }
dev_image() { echo "localhost/qcash/$1:$QCASH_IMAGE_TAG-dev"; }
QCASH_RELEASE_IMAGES=()
QCASH_DEV_IMAGES=()
for _s in wallet payment points gateway; do
  QCASH_RELEASE_IMAGES+=("$(release_image "$_s")")
  QCASH_DEV_IMAGES+=("$(dev_image "$_s")")
done
unset _s
QCASH_SANDBOX_IMAGE="$(dev_image sandbox)"
QCASH_POSTGRES_IMAGE="localhost/qcash/postgres:15-$QCASH_IMAGE_TAG"
QCASH_REDIS_IMAGE="localhost/qcash/redis:$QCASH_IMAGE_TAG"

images_log() { printf '\033[1m[images]\033[0m %s\n' "$*" >&2; }
images_die() { images_log "error: $*"; exit 1; }

# podman's settings for this machine: crun fails on its cgroups, so runc; root may not raise
# the open-files and processes limits above the host's, so the containers' defaults are set
# at what it allows (podman would otherwise ask for 1048576 and fail to start a container).
mkdir -p "$QCASH_IMAGES_DIR"
cat >"$QCASH_IMAGES_DIR/containers.conf" <<'CONF'
# Written by tests/images/common.sh (docs/IMAGES.md): used through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$QCASH_IMAGES_DIR/containers.conf"
