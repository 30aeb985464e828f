#!/usr/bin/env bash
# Starts the servers the test suite talks to on 127.0.0.1 and prints the
# environment to use them (source it with `eval`):
#   eval "$(scripts/services.sh start DIR)"   Ceph RADOS Gateway (S3) under DIR
#   scripts/services.sh stop DIR              stops it and removes DIR
# The server scripts live in ../shared/services (LIFEBOAT_SERVICES overrides);
# Ceph comes from Debian's packages and is installed on first use.
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
    ;;
  stop)
    if [ -d "$dir/rgw" ]; then bash "$SERVICES/ceph-rgw.sh" destroy "$dir/rgw" >&2 || true; fi
    rm -rf "$dir"
    ;;
  *) echo "usage: scripts/services.sh start|stop DIR" >&2; exit 1 ;;
esac
