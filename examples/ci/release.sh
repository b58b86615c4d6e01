#!/bin/sh
# Pack, publish and promote one release: a plain script any CI pipeline can call after its build.
#
# Usage: release.sh SERVICE RELEASE_DIR ENVIRONMENT [VERSION]
#
#   SERVICE      the service name (the first part of its Auto Scaling group names), e.g. myapp
#   RELEASE_DIR  the built release tree: hooks/, salt/config/states/, salt/config/pillar/, your files
#   ENVIRONMENT  the environment to promote to, e.g. testing
#   VERSION      default: <UTC date>.<time>-<short commit>, e.g. 20261122.101500-3f2a9c1d0
#
# Environment:
#   PULLDEPLOY_BUCKET         the releases bucket (required); PULLDEPLOY_PREFIX, AWS_REGION as usual
#   PULLDEPLOY                the pulldeploy command (default: pulldeploy)
#   PULLDEPLOY_SIGN_KEY_FILE  sign the release with this ed25519 private key (from "pulldeploy keygen")
#   CANARY_PERCENT            promote as a canary for this share of the environment's instances
#   PROMOTED_BY               recorded as promoted_by (default: the caller's ARN from STS)
#
# Exit codes are pulldeploy's: 2 usage, 4 release missing or corrupted, 6 AWS, 7 the version exists with
# other bytes or another promotion changed the pointer first (read it with "pulldeploy releases SERVICE").
# Running it again for the same build is safe: publishing the same bytes again is a no-op.
set -eu

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
  echo "usage: $0 SERVICE RELEASE_DIR ENVIRONMENT [VERSION]" >&2
  exit 2
fi
service=$1
release_dir=$2
environment=$3
version=${4:-$(date -u +%Y%m%d.%H%M%S)-$(git rev-parse --short=9 HEAD 2>/dev/null || echo local)}
pulldeploy=${PULLDEPLOY:-pulldeploy}
: "${PULLDEPLOY_BUCKET:?set PULLDEPLOY_BUCKET to the bucket of releases and pointers}"
export PULLDEPLOY_BUCKET

# The same tree packs to the same bytes; the last commit's time makes the mtimes meaningful.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball="$work/$service-$version.tar.gz"

sha256=$($pulldeploy pack "$release_dir" -o "$tarball")
$pulldeploy publish "$service" "$tarball" --version "$version"

set -- --sha256 "$sha256"
if [ -n "${PULLDEPLOY_SIGN_KEY_FILE:-}" ]; then set -- "$@" --sign-key "$PULLDEPLOY_SIGN_KEY_FILE"; fi
if [ -n "${CANARY_PERCENT:-}" ]; then set -- "$@" --canary "$CANARY_PERCENT"; fi
if [ -n "${PROMOTED_BY:-}" ]; then set -- "$@" --by "$PROMOTED_BY"; fi
$pulldeploy promote "$service" "$environment" "$version" "$@"
