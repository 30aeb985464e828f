#!/usr/bin/env bash
# Prune on a repository of ~100 snapshots: lifeboat and restic side by side, on the same data,
# in one run.
#
# Usage: bench/prune.sh [TOOL...]          (default: lifeboat restic)
# Env:   SNAPSHOTS=100    snapshots to make
#        KEEP=30          forget --keep-last KEEP before the first prune
#        DATASET          the tree to start from (default: the 1.7 GB dataset of
#                         ../shared/bench/gen_dataset.sh, from /tmp/bench/pristine or
#                         /tmp/bench-compare/full/pristine if there, else generated in $WORK)
#                         e.g. DATASET=/tmp/bench-compare/small/pristine for a quick run
#        WORK             scratch dir (default /tmp/bench-prune)
#        LIFEBOAT_BIN     the binary to measure (default: <checkout>/build/lifeboat)
#
# Each step changes the tree deterministically and backs it up: a new 4 MiB random file
# (churn/step_NNN.bin, removed again 20 steps later) and 40 edited small files, so old data
# becomes garbage in whole packs (the churn files) and in packs that stay partly used (the
# small files' older versions, trees). After SNAPSHOTS steps, for each tool:
#   1. forget --keep-last KEEP, then prune (default --max-unused 5% for both): much garbage
#   2. prune again at once: no garbage, the cost of reading the metadata alone
#   3. forget one more snapshot, then prune: a little garbage
# Each prune is timed with /usr/bin/time (wall s, peak RSS); repository sizes are du -sb.
# Results: $WORK/results/<timestamp>/{prune.csv,report.md}; the report is printed.
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
CHECKOUT="$(cd "$BENCH_DIR/.." && pwd)"
SNAPSHOTS="${SNAPSHOTS:-100}"
KEEP="${KEEP:-30}"
WORK="${WORK:-/tmp/bench-prune}"
LIFEBOAT_BIN="${LIFEBOAT_BIN:-$CHECKOUT/build/lifeboat}"
TOOLS=("$@"); [ ${#TOOLS[@]} -gt 0 ] || TOOLS=(lifeboat restic)
export LIFEBOAT_PASSWORD=bench RESTIC_PASSWORD=bench

. "$BENCH_DIR/lib.sh"
require_lifeboat
choose_dataset
new_results_dir
CSV="$RESULTS/prune.csv"
echo "tool,step,wall_s,max_rss_kib,repo_bytes_before,repo_bytes_after,snapshots_after" >"$CSV"

# step DATA N: the deterministic change of step N.
churn() {
  python3 - "$1" "$2" <<'PYEOF'
import hashlib, os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
churn = os.path.join(root, "churn")
os.makedirs(churn, exist_ok=True)
with open(os.path.join(churn, "step_%03d.bin" % n), "wb") as f:
    f.write(hashlib.shake_256(b"prune-bench/%d" % n).digest(4 << 20))
old = os.path.join(churn, "step_%03d.bin" % (n - 20))
if os.path.exists(old):
    os.unlink(old)
small = []
for dp, dn, fn in os.walk(os.path.join(root, "src")):
    dn.sort()
    small += [os.path.join(dp, f) for f in sorted(fn)]
rng = random.Random(n)
for p in rng.sample(small, 40):
    with open(p, "ab") as f:
        f.write(b"\n// edit %d: %s\n" % (n, hashlib.sha256(b"%d%s" % (n, p.encode())).hexdigest().encode()))
PYEOF
}

repo_size() { du -sb "$1" | cut -f1; }

run_tool() {
  local tool=$1 dir="$WORK/$1"
  rm -rf "$dir"; mkdir -p "$dir"
  log "$tool: copying the dataset"
  cp -a "$DATASET" "$dir/data"
  local repo="$dir/repo" cache="$dir/cache"
  case $tool in
    lifeboat) lb() { "$LIFEBOAT_BIN" -r "$repo" --cache-dir "$cache" -q "$@"; } ;;
    restic) lb() { restic -r "$repo" --cache-dir "$cache" -q "$@"; } ;;
    *) die "unknown tool $tool" ;;
  esac
  lb init >/dev/null
  log "$tool: $SNAPSHOTS backups"
  local t0=$SECONDS i
  for ((i = 0; i < SNAPSHOTS; i++)); do
    churn "$dir/data" "$i"
    (cd "$dir" && lb backup --host bench data >/dev/null)
  done
  log "$tool: backups took $((SECONDS - t0)) s; repository $(repo_size "$repo") bytes"

  timed_prune() {  # step name
    local before after snaps
    before=$(repo_size "$repo")
    case $tool in
      lifeboat) /usr/bin/time -f "%e %M" -o "$dir/time" "$LIFEBOAT_BIN" -r "$repo" --cache-dir "$cache" \
                  --json prune >"$dir/prune-$1.json" ;;
      restic) /usr/bin/time -f "%e %M" -o "$dir/time" restic -r "$repo" --cache-dir "$cache" \
                prune >"$dir/prune-$1.txt" ;;
    esac
    after=$(repo_size "$repo")
    case $tool in
      lifeboat) snaps=$("$LIFEBOAT_BIN" -r "$repo" --json snapshots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') ;;
      restic) snaps=$(restic -r "$repo" --cache-dir "$cache" --json snapshots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') ;;
    esac
    read -r wall rss <"$dir/time"
    echo "$tool,$1,$wall,$rss,$before,$after,$snaps" >>"$CSV"
    log "$tool: prune ($1) $wall s, $rss KiB, $before -> $after bytes, $snaps snapshots"
  }
  lb forget --keep-last "$KEEP" >/dev/null
  timed_prune much-garbage
  timed_prune no-garbage
  lb forget --keep-last "$((KEEP - 1))" >/dev/null
  timed_prune little-garbage
  case $tool in lifeboat) lb check >/dev/null ;; restic) lb check >/dev/null ;; esac
  log "$tool: check after prune passed"
}

for t in "${TOOLS[@]}"; do run_tool "$t"; done

python3 - "$CSV" "$SNAPSHOTS" "$KEEP" <<'PYEOF' | tee "$RESULTS/report.md"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
snaps, keep = sys.argv[2], int(sys.argv[3])
by = {(r["tool"], r["step"]): r for r in rows}
tools = sorted({r["tool"] for r in rows}, key=lambda t: t != "lifeboat")
steps = [("much-garbage", "forget --keep-last %d of %s, then prune" % (keep, snaps)),
         ("no-garbage", "prune again (nothing to remove)"),
         ("little-garbage", "forget one more snapshot, then prune")]
print("| step | " + " | ".join("%s s / RSS MiB / repo MB before -> after" % t for t in tools) + " | restic / lifeboat |")
print("|---|" + "---|" * len(tools) + "---|")
for key, label in steps:
    cells = []
    for t in tools:
        r = by.get((t, key))
        cells.append("%.2f / %.0f / %.1f -> %.1f" % (float(r["wall_s"]), int(r["max_rss_kib"]) / 1024,
                                                     int(r["repo_bytes_before"]) / 1e6, int(r["repo_bytes_after"]) / 1e6)
                     if r else "-")
    lb, rs = by.get(("lifeboat", key)), by.get(("restic", key))
    ratio = "%.2fx" % (float(rs["wall_s"]) / float(lb["wall_s"])) if lb and rs and float(lb["wall_s"]) > 0 else "-"
    print("| %s | %s | %s |" % (label, " | ".join(cells), ratio))
PYEOF
