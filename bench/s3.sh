#!/usr/bin/env bash
# Backup and restore to S3 on loopback: lifeboat and restic side by side, on the same data,
# against the same server (Ceph's RADOS Gateway from ../shared/services), in one run.
#
# Usage: bench/s3.sh [TOOL...]             (default: lifeboat restic)
# Env:   DATASET       the tree to back up (default: the 1.7 GB dataset of
#                      ../shared/bench/gen_dataset.sh from /tmp/bench/pristine or
#                      /tmp/bench-compare/full/pristine; e.g. /tmp/bench-compare/small/pristine)
#        WORK          scratch dir (default /tmp/bench-s3)
#        LIFEBOAT_BIN  the binary to measure (default: <checkout>/build/lifeboat)
#
# First the gateway alone, as a ceiling and a warm-up: curl PUTs 56 objects of 16 MiB (as many
# bytes as lifeboat's packs) and GETs them back, 5 at a time (PROBE_OBJECTS sets the count).
# Then for each tool, in a bucket of its own: init, backup (timed), an unchanged second backup
# (timed), restore of the first snapshot into an empty directory (timed; then compared with
# the dataset). Requests are counted from the gateway's log (one line per request), so both
# tools are counted the same way; "req/GiB" divides by the dataset's size. Each backup starts
# with the dataset in the page cache; CPU seconds are the tool's (user+sys) and the gateway
# daemons' on the same 2 cores.
# Results: $WORK/results/<timestamp>/{s3.csv,report.md}; the report is printed.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
CHECKOUT="$(cd "$BENCH_DIR/.." && pwd)"
SERVICES="${LIFEBOAT_SERVICES:-$CHECKOUT/../shared/services}"
WORK="${WORK:-/tmp/bench-s3}"
LIFEBOAT_BIN="${LIFEBOAT_BIN:-$CHECKOUT/build/lifeboat}"
TOOLS=("$@"); [ ${#TOOLS[@]} -gt 0 ] || TOOLS=(lifeboat restic)
export LIFEBOAT_PASSWORD=bench RESTIC_PASSWORD=bench

. "$BENCH_DIR/lib.sh"
require_lifeboat
choose_dataset
bytes=$(find "$DATASET" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%d\n", s}')
log "$bytes bytes"

mkdir -p "$WORK"
RGW="$WORK/rgw"
bash "$SERVICES/ceph-rgw.sh" destroy "$RGW" >/dev/null 2>&1 || true
# Restored trees are removed only at the end, never between the tools, and
# the next run waits a minute after that: on a file system without a journal
# (as the reference VM's), ext4 skips inodes freed in the last 60 s (6 min
# while their inode table is dirty, hence the sync) when it creates files,
# and a restore that followed the removal of 40,000 files took twice as long
# and most of its CPU went there. Other mass deletions on the same file
# system just before a run slow its restores the same way.
removed_stamp="$WORK/.trees-removed"
remove_trees() {
  rm -rf "$WORK"/restore-*
  sync
  date +%s >"$removed_stamp"
}
cleanup() {
  bash "$SERVICES/ceph-rgw.sh" destroy "$RGW" >/dev/null 2>&1 || true
  rm -rf "/dev/shm/lifeboat-bench-probe.$$"
  remove_trees
}
trap cleanup EXIT
if compgen -G "$WORK/restore-*" >/dev/null; then
  log "removing the restored trees of an earlier run"
  remove_trees
fi
if [ -f "$removed_stamp" ]; then
  wait_s=$(( $(cat "$removed_stamp") + 65 - $(date +%s) ))
  if [ "$wait_s" -gt 0 ]; then
    log "waiting ${wait_s}s: the file system still skips the inodes removed at the end of the last run"
    sleep "$wait_s"
  fi
fi
CEPH_STORE_GB=32 bash "$SERVICES/ceph-rgw.sh" start "$RGW" >/dev/null
set -a; . "$RGW/s3.env"; set +a
RGWLOG=$(ls "$RGW"/log/*rgw*.log | head -1)
requests() { grep -c 'beast: .* HTTP/1.1"' "$RGWLOG" || true; }
# CPU seconds the gateway's daemons (radosgw, OSD, monitor) have used so far.
server_cpu() {
  local hz; hz=$(getconf CLK_TCK)
  for p in $(pgrep -f "$RGW/ceph.conf"); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done |
    awk -v hz="$hz" '{s += $1} END {printf "%.2f\n", s / hz}'
}
# Reads the dataset into the page cache, so every tool's backup starts warm
# (the first tool would otherwise pay for the disk reads).
warm() { tar cf - "$DATASET" 2>/dev/null | cat >/dev/null; }

new_results_dir
CSV="$RESULTS/s3.csv"
echo "tool,step,wall_s,max_rss_kib,requests,cpu_s,server_cpu_s" >"$CSV"

# timed TOOL STEP CMD...: runs CMD under /usr/bin/time, appends a CSV row.
timed() {
  local tool=$1 step=$2; shift 2
  local before after cpu0 cpu1
  case "$step" in backup*) warm ;; esac
  before=$(requests)
  cpu0=$(server_cpu)
  /usr/bin/time -f '%e %M %U %S' -o "$RESULTS/time.tmp" "$@" >"$RESULTS/$tool-$step.log" 2>&1 ||
    die "$tool $step failed (see $RESULTS/$tool-$step.log)"
  cpu1=$(server_cpu)
  sleep 1  # the gateway logs a request after answering it
  after=$(requests)
  read -r wall rss user sys <"$RESULTS/time.tmp"
  local cpu server
  cpu=$(echo "$user + $sys" | bc)
  server=$(echo "$cpu1 - $cpu0" | bc)
  echo "$tool,$step,$wall,$rss,$((after - before)),$cpu,$server" >>"$CSV"
  log "$tool $step: ${wall}s, ${rss} KiB, $((after - before)) requests, CPU ${cpu}s here + ${server}s in the server"
}

# The gateway alone, first (it also warms the gateway: the first gigabyte a
# fresh one takes in costs it about 1 CPU s more, which the first tool would
# pay): 56 objects of 16 MiB of random data, as many bytes as lifeboat's
# packs, PUT then GET (to /dev/null), 5 at a time with curl, payload
# unsigned. What any client can at best get from this server on these
# 2 cores; on the reference VM one messenger thread between the gateway and
# its OSD carries every byte. The objects stay (a warm gateway for both).
PROBE_OBJECTS=${PROBE_OBJECTS:-56}
probe="/dev/shm/lifeboat-bench-probe.$$"
rm -rf "$probe"; mkdir -p "$probe"
for i in $(seq -w 1 "$PROBE_OBJECTS"); do head -c $((16 << 20)) /dev/urandom >"$probe/obj$i"; done
cat >"$RESULTS/curl-all.sh" <<'SH'
# curl-all.sh bucket: creates the curl-bench bucket.
# curl-all.sh put|get DIR: PUTs DIR's files into it, or GETs them back to
# /dev/null, 5 at a time.
set -euo pipefail
mode=$1 dir=${2:-}
sign() { curl -sf --aws-sigv4 "aws:amz:${AWS_DEFAULT_REGION:-us-east-1}:s3" \
  --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"; }
export -f sign
export dir
case "$mode" in
  bucket) sign -X PUT -o /dev/null "$S3_ENDPOINT/curl-bench" ;;
  put) ls "$dir" | xargs -P 5 -I{} bash -c 'sign -T "$dir/$1" -o /dev/null "$S3_ENDPOINT/curl-bench/$1"' _ {} ;;
  get) ls "$dir" | xargs -P 5 -I{} bash -c 'sign -o /dev/null "$S3_ENDPOINT/curl-bench/$1"' _ {} ;;
esac
SH
export S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION
bash "$RESULTS/curl-all.sh" bucket || die "could not create a bucket"
timed curl put bash "$RESULTS/curl-all.sh" put "$probe"
timed curl get bash "$RESULTS/curl-all.sh" get "$probe"
rm -rf "$probe"

for tool in "${TOOLS[@]}"; do
  target="$WORK/restore-$tool"
  case "$tool" in
    lifeboat)
      repo="s3:$S3_ENDPOINT/lifeboat-bench"
      "$LIFEBOAT_BIN" -r "$repo" init >/dev/null
      timed lifeboat backup "$LIFEBOAT_BIN" -r "$repo" --no-cache -q backup "$DATASET"
      timed lifeboat backup2 "$LIFEBOAT_BIN" -r "$repo" -q backup "$DATASET"
      snap=$("$LIFEBOAT_BIN" -r "$repo" --json snapshots | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
      timed lifeboat restore "$LIFEBOAT_BIN" -r "$repo" -q restore "$snap" --target "$target"
      restored="$target$DATASET"
      ;;
    restic)
      command -v restic >/dev/null || die "restic is not installed (scripts/setup.sh --bench)"
      export RESTIC_REPOSITORY="s3:$S3_ENDPOINT/restic-bench"
      restic init >/dev/null
      timed restic backup restic backup -q --no-cache "$DATASET"
      timed restic backup2 restic backup -q "$DATASET"
      snap=$(restic snapshots --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
      timed restic restore restic restore -q "$snap" --target "$target"
      restored="$target$DATASET"
      ;;
    *) die "unknown tool $tool" ;;
  esac
  diff -r -q "$DATASET" "$restored" >/dev/null || die "$tool: the restored tree differs from the dataset"
done

python3 - "$CSV" "$bytes" "$PROBE_OBJECTS" >"$RESULTS/report.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
gib = int(sys.argv[2]) / 2**30
by = {(r["tool"], r["step"]): r for r in rows}
tools = sorted({r["tool"] for r in rows if r["tool"] != "curl"}, key=lambda t: t != "lifeboat")
print("| step | " + " | ".join(f"{t} s | {t} MB/s | {t} req/GiB | {t} RSS MiB | {t} CPU s (+server)"
                             for t in tools) +
      (" | restic/lifeboat time |" if "restic" in tools and "lifeboat" in tools else " |"))
print("|---" * (1 + 5 * len(tools) + (1 if len(tools) > 1 else 0)) + "|")
for step in ("backup", "backup2", "restore"):
    cells = []
    for t in tools:
        r = by.get((t, step))
        if not r:
            cells += ["-"] * 5
            continue
        wall = float(r["wall_s"])
        cells += [f"{wall:.2f}", f"{gib * 1024 / wall:.0f}" if wall else "-",
                  f"{int(r['requests']) / gib:.0f}", f"{int(r['max_rss_kib']) / 1024:.0f}",
                  f"{float(r['cpu_s']):.1f} (+{float(r['server_cpu_s']):.1f})"]
    ratio = ""
    if ("restic", step) in by and ("lifeboat", step) in by:
        ratio = f" {float(by[('restic', step)]['wall_s']) / float(by[('lifeboat', step)]['wall_s']):.2f}x |"
    print(f"| {step} | " + " | ".join(cells) + (" |" + ratio if ratio else " |"))
if ("curl", "get") in by:
    g, p = by[("curl", "get")], by[("curl", "put")]
    n = int(sys.argv[3])
    mb = n * 16 * 2**20 / 1e6
    print(f"\nThe gateway alone, before the tools (curl, 5 at a time, {n} objects of 16 MiB, {mb:.0f} MB): "
          f"GET {float(g['wall_s']):.2f} s ({mb / float(g['wall_s']):.0f} MB/s, server CPU {float(g['server_cpu_s']):.1f} s), "
          f"PUT {float(p['wall_s']):.2f} s ({mb / float(p['wall_s']):.0f} MB/s, server CPU {float(p['server_cpu_s']):.1f} s).")
    r = by.get(("lifeboat", "restore"))
    if r:
        print(f"lifeboat's restore took {float(r['wall_s']) / float(g['wall_s']):.2f}x that GET.")
PY
cat "$RESULTS/report.md"
