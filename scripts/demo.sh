#!/usr/bin/env bash
# Quick start: set up, build, then the main job: back up a sample folder into
# a new local repository, list it, restore it, and show that it matches.
#   scripts/demo.sh [FOLDER]     (default: a generated sample folder)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
TARGETS=lifeboat scripts/build.sh
LB="$PWD/build/lifeboat"

WORK="$(mktemp -d /tmp/lifeboat-demo.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
SRC="${1:-}"
if [ -z "$SRC" ]; then
  SRC="$WORK/sample"
  mkdir -p "$SRC/docs/notes" "$SRC/photos" "$SRC/empty"
  for i in $(seq 1 200); do echo "note $i: $(date -d @$((1700000000 + i)) -u)" > "$SRC/docs/notes/note-$i.txt"; done
  head -c 20000000 /dev/urandom > "$SRC/photos/big.bin"
  cp "$SRC/photos/big.bin" "$SRC/photos/copy-of-big.bin"   # deduplicated
  ln -s docs/notes/note-1.txt "$SRC/link-to-note"
  chmod 0640 "$SRC/docs/notes/note-7.txt"
fi
SRC="$(cd "$SRC" && pwd)"
export LIFEBOAT_REPOSITORY="$WORK/repo"
export LIFEBOAT_PASSWORD="demo-password-change-me"
export LIFEBOAT_CACHE_DIR="$WORK/cache"

set -x
"$LB" init
"$LB" backup "$SRC"
"$LB" snapshots
"$LB" ls latest "$SRC" | head -n 12
"$LB" restore latest --target "$WORK/restored"
"$LB" check --read-data
{ set +x; } 2>/dev/null
if diff -r --no-dereference "$SRC" "$WORK/restored$SRC" >/dev/null; then
  echo "demo: restored copy of $SRC matches the original"
else
  echo "demo: restored copy differs from $SRC" >&2
  exit 1
fi
