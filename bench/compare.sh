#!/usr/bin/env bash
# lifeboat side by side with restic and borg, on the shared bench dataset, in one run.
#
# Usage: bench/compare.sh [TOOL...]        (default: lifeboat restic borg_repokey cp_a)
#   TOOL: lifeboat, any tool of run_peers.sh (restic borg_repokey borg_auth zbackup_lzo), or cp_a:
#   a plain copy timed by the same harness (backup = cp -a of the tree, restore = cp -a of the
#   mutated copy back, verify = tar|cat of it), i.e. the floors under the same conditions.
# Env:   SCALE=full|small   full: the 1.7 GB dataset of ../shared/bench/gen_dataset.sh
#                           small: a ~190 MB subset of it, for a quick check (about 2 minutes)
#        REPS=3             repetitions per tool (medians are reported)
#        LIFEBOAT_BIN       the binary to measure (default: <checkout>/build/lifeboat)
#        WORK               scratch dir (default /tmp/bench-compare/$SCALE); the pristine
#                           dataset stays there between runs, everything else is rebuilt
#        FULL_SRC           an existing full dataset to copy from (default /tmp/bench/pristine,
#                           used only if it is complete); otherwise gen_dataset.sh makes one
#        PHYS_FULL=0|1      also run ../shared/bench/phys_limits.sh (default 1 for full, 0 for small)
#        SHARED_BENCH       the shared bench dir (default <checkout>/../shared/bench)
#
# What it does (all timed steps come from the shared run_peers.sh, unchanged):
#   1. makes $WORK/pristine (the full dataset, or the small subset of it)
#   2. measures the machine's ceilings on that data: page-cache read of the tree (tar|cat),
#      openssl speed SHA-256 and AES-256-GCM (16 KiB blocks), zstd -b2, and cp -a of the
#      mutated dataset (the restore floor)  -> $RESULTS/phys.csv
#   3. runs run_peers.sh with tool_lifeboat and tool_cp_a exported into its shell
#      -> $RESULTS/results.csv (+ raw /usr/bin/time logs), the shared summary in summary_shared.md
#   4. prints bench/report.py's Markdown (also saved as $RESULTS/report.md)
# Results go to a fresh $WORK/results/<timestamp>; $WORK/results/latest points at it.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
CHECKOUT="$(cd "$BENCH_DIR/.." && pwd)"
SHARED_BENCH="$(cd "${SHARED_BENCH:-$CHECKOUT/../shared/bench}" && pwd)"
SCALE="${SCALE:-full}"
case "$SCALE" in full|small) ;; *) echo "error: SCALE must be full or small, not '$SCALE'" >&2; exit 2;; esac
export REPS="${REPS:-3}"
export WORK="${WORK:-/tmp/bench-compare/$SCALE}"
export LIFEBOAT_BIN="${LIFEBOAT_BIN:-$CHECKOUT/build/lifeboat}"
FULL_SRC="${FULL_SRC:-/tmp/bench/pristine}"
PHYS_FULL="${PHYS_FULL:-$([ "$SCALE" = full ] && echo 1 || echo 0)}"
TOOLS=("$@"); [ ${#TOOLS[@]} -gt 0 ] || TOOLS=(lifeboat restic borg_repokey cp_a)
FIXED_MTIME=1700000000
FULL_FILE_BYTES=1654090771   # gen_dataset.sh output (BASELINE.md)

log() { echo "[$(date +%T)] $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }
file_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%d\n", s}'; }

for t in "${TOOLS[@]}"; do
  if [ "$t" = lifeboat ]; then
    [ -x "$LIFEBOAT_BIN" ] || die "no lifeboat binary at $LIFEBOAT_BIN (build it, or set LIFEBOAT_BIN)"
  fi
done
mkdir -p "$WORK"
export RESULTS="$WORK/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"
ln -sfn "$RESULTS" "$WORK/results/latest"

# ------------------------------------------------------------------ dataset
# A full dataset to build from: $FULL_SRC if complete, else one generated under /tmp/bench-compare/full.
full_source() {
  if [ -d "$FULL_SRC/src" ] && [ "$(file_bytes "$FULL_SRC")" = "$FULL_FILE_BYTES" ] && [ ! -e "$FULL_SRC/src/newpkg" ]; then
    echo "$FULL_SRC"; return
  fi
  local own=/tmp/bench-compare/full/pristine
  if [ ! -d "$own" ]; then
    log "generating the full dataset in $own (about 20 s, 1.7 GB)"
    rm -rf "$own.tmp"; "$SHARED_BENCH/gen_dataset.sh" "$own.tmp" >&2; mv "$own.tmp" "$own"
  fi
  echo "$own"
}

# The small subset keeps every kind of content and everything mutate_dataset.sh touches:
# src/pkg00-09 (~9,700 small files), the vendored duplicate subtree, the 300 duplicate
# files, the first 4 MiB of 10 logs (it appends to 8 of them), the first 40 MiB of
# large_1.bin (it overwrites 2 MiB at 37 MiB) and 32 MiB of large_3.bin (it inserts mid-file).
make_small() {
  local src=$1 dst=$2 f
  rm -rf "$dst.tmp"; mkdir -p "$dst.tmp/src" "$dst.tmp/logs" "$dst.tmp/blobs"
  cp -a "$src"/src/pkg0? "$dst.tmp/src/"
  cp -a "$src/third_party" "$dst.tmp/"
  mkdir -p "$dst.tmp/dups"; cp -a "$src"/dups/copy_* "$dst.tmp/dups/"
  for f in app_00.log orders_01.csv app_02.log orders_03.csv app_04.log orders_05.csv \
           app_06.log orders_07.csv app_08.log orders_09.csv; do
    head -c $((4 << 20)) "$src/logs/$f" >"$dst.tmp/logs/$f"
  done
  head -c $((40 << 20)) "$src/blobs/large_1.bin" >"$dst.tmp/blobs/large_1.bin"
  head -c $((32 << 20)) "$src/blobs/large_3.bin" >"$dst.tmp/blobs/large_3.bin"
  find "$dst.tmp" -type f -exec chmod 644 {} + -o -type d -exec chmod 755 {} +
  find "$dst.tmp" -depth -exec touch -h -d "@$FIXED_MTIME" {} +
  mv "$dst.tmp" "$dst"
}

PRISTINE="$WORK/pristine"
if [ ! -d "$PRISTINE" ]; then
  src="$(full_source)"
  if [ "$SCALE" = small ]; then
    log "making the small dataset in $PRISTINE from $src"; make_small "$src" "$PRISTINE"
  else
    log "copying the full dataset from $src to $PRISTINE"
    rm -rf "$PRISTINE.tmp"; cp -a "$src" "$PRISTINE.tmp"; mv "$PRISTINE.tmp" "$PRISTINE"
  fi
fi
[ ! -e "$PRISTINE/src/newpkg" ] || die "$PRISTINE has been mutated; remove it and rerun"
log "dataset $PRISTINE: $(file_bytes "$PRISTINE") file bytes in $(find "$PRISTINE" -type f | wc -l) files"

# ------------------------------------------------------------------ ceilings
PHYS="$RESULTS/phys.csv"
echo "probe,value,unit,note" >"$PHYS"
phys() { echo "$1,$2,$3,\"${4:-}\"" >>"$PHYS"; log "ceiling $1 = $2 $3"; }
median() { sort -g | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
wall_of() { /usr/bin/time -f %e -o "$RESULTS/phys.time" "$@" >/dev/null 2>&1; cat "$RESULTS/phys.time"; }

log "measuring ceilings"
phys tree_file_bytes "$(file_bytes "$PRISTINE")" B
phys tree_tar_bytes "$(tar cf - -C "$PRISTINE" . | wc -c)" B "also warms the page cache"
phys read_tar_cat_s "$(for i in 1 2 3; do wall_of bash -c "tar cf - -C '$PRISTINE' . | cat >/dev/null"; done | median)" s "tar cf - | cat, page cache, median of 3"
for alg in sha256 aes-256-gcm; do
  bps=$(openssl speed -mr -seconds 1 -bytes 16384 -evp "$alg" 2>/dev/null | awk -F: '/^\+F:/{print $4}' | tail -1)
  phys "${alg//-/_}_MBps" "$(awk -v b="$bps" 'BEGIN{printf "%.0f", b/1e6}')" MB/s "openssl speed -evp $alg, 16 KiB blocks, 1 process"
done
# zstd -b2 on the same kind of compressible sample as phys_limits.sh (source files + 2 logs).
sample="$RESULTS/sample_compressible.tar"
tar cf "$sample" -C "$PRISTINE" src/pkg00 src/pkg01 src/pkg02 src/pkg03 src/pkg04 logs/app_00.log logs/orders_01.csv
zline=$(zstd -b2 -i2 "$sample" 2>&1 | tr '\r' '\n' | grep -E 'MB/s, ' | tail -1)
read -r zratio zc zd < <(sed -E 's/.*\(x?([0-9.]+)\), *([0-9.]+) MB\/s, *([0-9.]+) MB\/s.*/\1 \2 \3/' <<<"$zline")
phys zstd_compress_MBps "$zc" MB/s "zstd -b2 -i2, $(stat -c %s "$sample") B text sample, 1 thread, ratio $zratio"
phys zstd_decompress_MBps "$zd" MB/s "same sample"
rm -f "$sample"
# cp -a of the mutated dataset: the floor for restoring it on this disk. Creating files on this
# ext4 (no journal) costs far more for ~60 s after many inodes were deleted (the allocator skips
# recently deleted inodes one by one), so this standalone figure is a best case; the cp_a tool
# measures the same copy inside run_peers.sh, under the conditions the tools' restores see.
mut="$WORK/phys_mutated"; rm -rf "$mut" "$WORK/phys_cp_target"
cp -a "$PRISTINE" "$mut"; "$SHARED_BENCH/mutate_dataset.sh" "$mut" >/dev/null
phys mutated_file_bytes "$(file_bytes "$mut")" B
cp_times=()
for i in $(seq 1 "$REPS"); do
  rm -rf "$WORK/phys_cp_target"; sync
  cp_times+=("$(wall_of cp -a "$mut" "$WORK/phys_cp_target")")
done
phys cp_a_s "$(printf '%s\n' "${cp_times[@]}" | median)" s "cp -a of the mutated dataset, same disk, median of $REPS (runs: ${cp_times[*]})"
rm -rf "$mut" "$WORK/phys_cp_target"
if [ "$PHYS_FULL" = 1 ]; then
  log "running $SHARED_BENCH/phys_limits.sh (raw output in $RESULTS/phys_limits.txt)"
  "$SHARED_BENCH/phys_limits.sh" "$PRISTINE" "$WORK/phys" >"$RESULTS/phys_limits.txt" 2>&1 || log "phys_limits.sh failed"
  rm -rf "$WORK/phys"
fi

# ------------------------------------------------------------------ the tools
# run_peers.sh calls "tool_$name" in its own shell, so lifeboat's definition reaches it as an
# exported function. The command strings are evaluated there (bash -c) with its $REPO, $DATA,
# $RESTORE, $WORK and $BENCH_PASSPHRASE.
tool_lifeboat() {
  T_DESC="lifeboat $("$LIFEBOAT_BIN" version 2>/dev/null | head -1 | awk '{print $2}') ($LIFEBOAT_BIN; AES-256-GCM, HMAC-SHA-256 ids, FastCDC, zstd -2)"
  local lb='LIFEBOAT_PASSWORD="$BENCH_PASSPHRASE" "$LIFEBOAT_BIN" -r "$REPO" --cache-dir "$WORK/cache_lifeboat"'
  T_INIT="$lb init -q"
  T_BACKUP="$lb backup -q \"\$DATA\""
  T_RESTORE="$lb restore latest --target \"\$RESTORE\" -q"
  T_RESTORED='$RESTORE$DATA'
  T_VERIFY="$lb check --read-data -q"
  T_CLEAN='rm -rf "$WORK/cache_lifeboat"'
}
# The floor as a tool: what a plain copy costs for each step, timed by the same harness.
tool_cp_a() {
  T_DESC="cp -a (coreutils $(cp --version | awk 'NR==1{print $NF}')): plain copies, no dedup, compression or encryption; verify = tar|cat of the last copy"
  T_INIT='mkdir -p "$REPO"'
  T_BACKUP='cp -a "$DATA" "$REPO/$SNAP"'
  T_RESTORE='cp -a "$REPO/$SNAP" "$RESTORE/copy"'
  T_RESTORED='$RESTORE/copy'
  T_VERIFY='tar cf - -C "$REPO/$SNAP" . | cat >/dev/null'
}
export -f tool_lifeboat tool_cp_a

log "running $SHARED_BENCH/run_peers.sh ${TOOLS[*]} (REPS=$REPS, WORK=$WORK, results in $RESULTS)"
"$SHARED_BENCH/run_peers.sh" "${TOOLS[@]}" >"$RESULTS/summary_shared.md"
python3 "$BENCH_DIR/report.py" "$RESULTS" | tee "$RESULTS/report.md"
