#!/usr/bin/env bash
# Installs what lifeboat needs to build and test on Debian 12, from Debian's
# packages only. Idempotent: does nothing when everything is present.
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --bench  also the peers for bench/ (restic, borg, pgBackRest)
# The database servers are installed for the tests, which start their own
# instances on 127.0.0.1 / private sockets; the system services Debian starts
# on installation are stopped again.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config
  libssl-dev libzstd-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libcurl4-openssl-dev libexpat1-dev
  libpq-dev libhiredis-dev libarchive-dev
  postgresql-15 postgresql-client-15 redis-server redis-tools mariadb-server mariadb-client
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 acl attr
)
if [ "${1:-}" = "--bench" ]; then PKGS+=(restic borgbackup time pgbackrest); fi

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Azurite (the Azure Blob emulator the tests run against) needs Node.js and
# npm. A node already there (NodeSource's bundles npm) is kept.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all dependencies present" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged services; the tests run their own.
for svc in redis-server mariadb postgresql; do
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "setup: done" >&2
