# Shared by the bench scripts (sourced): messages, the binary check, the dataset
# and the results directory. Expects CHECKOUT, WORK and LIFEBOAT_BIN to be set.

log() { echo "[$(date +%T)] $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

require_lifeboat() {
  [ -x "$LIFEBOAT_BIN" ] || die "no lifeboat binary at $LIFEBOAT_BIN (build it, or set LIFEBOAT_BIN)"
}

# Sets DATASET, unless given: the unmutated 1.7 GB dataset of ../shared/bench/gen_dataset.sh
# from /tmp/bench/pristine or /tmp/bench-compare/full/pristine if there, else generated in
# $WORK/pristine (about 20 s).
choose_dataset() {
  if [ -z "${DATASET:-}" ]; then
    for d in /tmp/bench/pristine /tmp/bench-compare/full/pristine "$WORK/pristine"; do
      if [ -d "$d/src" ] && [ ! -e "$d/src/newpkg" ]; then DATASET=$d; break; fi
    done
  fi
  if [ -z "${DATASET:-}" ]; then
    DATASET="$WORK/pristine"
    log "generating the dataset in $DATASET (about 20 s, 1.7 GB)"
    mkdir -p "$WORK"; rm -rf "$DATASET.tmp"
    "$CHECKOUT/../shared/bench/gen_dataset.sh" "$DATASET.tmp" >&2
    mv "$DATASET.tmp" "$DATASET"
  fi
  [ -d "$DATASET/src" ] || die "no dataset at $DATASET"
  log "dataset $DATASET"
}

# Sets RESULTS to a fresh $WORK/results/<timestamp>, linked as $WORK/results/latest.
new_results_dir() {
  RESULTS="$WORK/results/$(date +%Y%m%d-%H%M%S)"
  mkdir -p "$RESULTS"
  ln -sfn "$RESULTS" "$WORK/results/latest"
}
