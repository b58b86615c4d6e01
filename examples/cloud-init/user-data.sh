#!/bin/sh
# pulldeploy bootstrap as EC2 user data, the shell-script variant of user-data.yaml: fetch the binary,
# check its sha256, install it, write the configuration, and deploy this instance.
#
# Set the values below for your copy of pulldeploy: BINARY_URL is where its release's binaries were
# uploaded (s3://… is fetched with the instance profile by the AWS CLI, which Amazon Linux ships;
# https://… needs only curl), and the two sha256 values come from that release's SHA256SUMS. They
# are the trust anchor: a binary that does not match stops the bootstrap before anything is
# installed. The output lands in /var/log/cloud-init-output.log.
set -eu

# ---- settings -------------------------------------------------------------------------------
BINARY_URL=s3://my-releases/tools/pulldeploy/0.1.0
SHA256_LINUX_X64=put-the-pulldeploy-linux-x64-sha256-from-SHA256SUMS-here
SHA256_LINUX_ARM64=put-the-pulldeploy-linux-arm64-sha256-from-SHA256SUMS-here
BUCKET=my-releases
SERVICE=myapp
ENVIRONMENT=testing
# ---------------------------------------------------------------------------------------------

fail() {
  echo "pulldeploy bootstrap: $1" >&2
  exit 1
}

case $(uname -m) in
  x86_64) arch=x64 sha256=$SHA256_LINUX_X64 ;;
  aarch64) arch=arm64 sha256=$SHA256_LINUX_ARM64 ;;
  *) fail "no pulldeploy binary for this machine ($(uname -m)): there are linux-x64 and linux-arm64" ;;
esac
printf '%s' "$sha256" | grep -Eqx '[0-9a-f]{64}' ||
  fail "the sha256 for linux-$arch is not set: copy the pulldeploy-linux-$arch line's digest from SHA256SUMS"

# Fetch.
download=$(mktemp)
trap 'rm -f "$download"' EXIT
case $BINARY_URL in
  s3://*) aws s3 cp --only-show-errors "$BINARY_URL/pulldeploy-linux-$arch" "$download" ;;
  https://*) curl --fail --silent --show-error --location --proto '=https' --retry 5 \
    --output "$download" "$BINARY_URL/pulldeploy-linux-$arch" ;;
  *) fail "BINARY_URL must start with s3:// or https://, got $BINARY_URL" ;;
esac

# Verify, then install: nothing is installed unless the digest matches.
echo "$sha256  $download" | sha256sum --check --strict - ||
  fail "$BINARY_URL/pulldeploy-linux-$arch does not have the sha256 given in this user data; not installed"
install -m 0755 "$download" /usr/local/bin/pulldeploy

# Configure: root-owned and not world-writable, since it decides what runs as root.
install -d -m 0755 /etc/pulldeploy
umask 022
cat > /etc/pulldeploy/config.yaml <<CONFIG
bucket: $BUCKET
CONFIG

# Deploy this instance; then a timer or cron keeps it converged.
/usr/local/bin/pulldeploy --version
# Two malloc arenas, not eight per core, as the systemd units set: less resident memory during the deploy.
MALLOC_ARENA_MAX=2 exec /usr/local/bin/pulldeploy "$SERVICE" "$ENVIRONMENT" -v
