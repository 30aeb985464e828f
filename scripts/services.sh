#!/usr/bin/env bash
# Starts the servers the test suite talks to on 127.0.0.1 and prints the
# environment to use them (source it with `eval`):
#   eval "$(scripts/services.sh start DIR)"   Ceph RADOS Gateway (S3) and
#                                             Azurite (Azure Blob) under DIR
#   scripts/services.sh stop DIR              stops them and removes DIR
# The server scripts live in ../shared/services (LIFEBOAT_SERVICES overrides);
# Ceph comes from Debian's packages and is installed on first use. Azurite
# comes from npm, installed once per machine into a cache directory
# (LIFEBOAT_AZURITE_CACHE, default ~/.cache/lifeboat/azurite) and run from
# there with its data in memory, on port 10000 or the next free one
# (LIFEBOAT_AZURITE_PORT sets the first port tried).
set -euo pipefail
cd "$(dirname "$0")/.."
SERVICES="${LIFEBOAT_SERVICES:-$(cd .. && pwd)/shared/services}"
cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: scripts/services.sh start|stop DIR" >&2; exit 1; }
[ -x "$SERVICES/ceph-rgw.sh" ] || [ -f "$SERVICES/ceph-rgw.sh" ] || {
  echo "services: $SERVICES/ceph-rgw.sh not found (set LIFEBOAT_SERVICES to the shared/services directory)" >&2
  exit 1
}
# Azurite: installed once into the cache (under a lock, for parallel runs),
# started from DIR (pid, log and env file there) through a link to the
# cache's node_modules, with --inMemoryPersistence.
start_azurite() {
  local run="$1" cache="${LIFEBOAT_AZURITE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat/azurite}"
  local port="${LIFEBOAT_AZURITE_PORT:-10000}"
  command -v node >/dev/null && command -v npm >/dev/null || {
    echo "services: node and npm are needed for Azurite (scripts/setup.sh installs them)" >&2
    exit 1
  }
  mkdir -p "$cache" "$run"
  if [ ! -x "$cache/node_modules/.bin/azurite-blob" ]; then
    echo "services: installing Azurite into $cache (npm, once per machine)" >&2
    flock "$cache/.install.lock" bash "$SERVICES/azurite.sh" install "$cache" >&2
  fi
  ln -sfn "$cache/node_modules" "$run/node_modules"
  while ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; do port=$((port + 1)); done
  AZURITE_IN_MEMORY=1 PORT="$port" bash "$SERVICES/azurite.sh" start "$run"
}

case "$cmd" in
  start)
    if ! command -v radosgw >/dev/null; then
      echo "services: installing Ceph (radosgw) from Debian's packages" >&2
      bash "$SERVICES/ceph-rgw.sh" install >&2
    fi
    mkdir -p "$dir"
    bash "$SERVICES/ceph-rgw.sh" start "$dir/rgw" >/dev/null
    sed -e 's/^/export /' "$dir/rgw/s3.env"
    echo "export LIFEBOAT_TEST_S3=s3:\$S3_ENDPOINT/lifeboat-test"
    start_azurite "$dir/azurite" >/dev/null
    sed -e 's/^/export /' "$dir/azurite/azure.env"
    echo "export LIFEBOAT_TEST_AZURE=azure:lifeboat-test"
    ;;
  stop)
    if [ -d "$dir/azurite" ]; then bash "$SERVICES/azurite.sh" stop "$dir/azurite" >&2 || true; fi
    if [ -d "$dir/rgw" ]; then bash "$SERVICES/ceph-rgw.sh" destroy "$dir/rgw" >&2 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: scripts/services.sh start|stop DIR" >&2; exit 1 ;;
esac
