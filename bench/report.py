#!/usr/bin/env python3
"""Markdown report of a bench/compare.sh run, ready to paste into docs/BENCHMARKS.md.

Usage: report.py RESULTS_DIR            (reads RESULTS_DIR/results.csv and RESULTS_DIR/phys.csv)
       report.py results.csv [phys.csv]
Options: --tool lifeboat  --ref restic   (the tool measured, and the peer the targets refer to)

Prints the machine's ceilings, one table per step (tool, median wall s, lifeboat's speed-up over
that tool = tool s / lifeboat s, CPU s, peak RSS MiB, repository size MB), and the targets
checked against the reference peer in the same run. Medians over the runs; peak RSS is the
maximum over the runs. MB = 10^6 bytes, MiB = 2^20 bytes.
"""
import argparse
import csv
import os
import statistics
import sys
from collections import defaultdict

MB = 1e6
FLOOR = "cp_a"  # compare.sh's plain-copy tool
STEPS = [
    ("init", "init"),
    ("backup_initial", "initial backup"),
    ("backup_unchanged", "unchanged re-backup"),
    ("backup_changed", "backup after change"),
    ("restore", "full restore (latest snapshot, into an empty dir)"),
    ("verify", "check --read-data (full verification)"),
]


def load_results(path):
    m = defaultdict(list)  # (tool, step, field) -> values
    tools, desc, checks, mutated = [], {}, defaultdict(list), {}
    with open(path) as fh:
        for r in csv.DictReader(fh):
            t, step = r["tool"], r["step"]
            if t not in tools:
                tools.append(t)
            if step == "desc":
                desc[t] = r["note"]
            elif step == "restore_check":
                checks[t].append(r["note"])
            elif step == "meta_mutated_file_bytes":
                mutated[t] = int(r["repo_bytes"])
            else:
                for k in ("wall_s", "user_s", "sys_s", "maxrss_kb", "repo_bytes"):
                    if r.get(k):
                        m[(t, step, k)].append(float(r[k]))
    return m, tools, desc, checks, mutated


def load_phys(path):
    p, notes = {}, {}
    if path and os.path.exists(path):
        with open(path) as fh:
            for r in csv.DictReader(fh):
                try:
                    p[r["probe"]] = float(r["value"])
                except ValueError:
                    continue
                notes[r["probe"]] = r.get("note", "")
    return p, notes


def fmt(x, spec="{:.2f}"):
    return "-" if x is None else spec.format(x)


class Run:
    def __init__(self, m):
        self.m = m

    def med(self, t, s, k):
        v = self.m.get((t, s, k))
        return statistics.median(v) if v else None

    def n(self, t, s):
        return len(self.m.get((t, s, "wall_s"), []))

    def wall(self, t, s):
        return self.med(t, s, "wall_s")

    def cpu(self, t, s):
        u, sy = self.med(t, s, "user_s"), self.med(t, s, "sys_s")
        return None if u is None or sy is None else u + sy

    def rss_mib(self, t, s):
        v = self.m.get((t, s, "maxrss_kb"))
        return max(v) / 1024 if v else None

    def repo_mb(self, t, s):
        b = self.med(t, s, "repo_bytes")
        return None if b is None else b / MB


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", help="results dir of compare.sh, or a results.csv")
    ap.add_argument("phys", nargs="?", help="phys.csv (default: beside results.csv)")
    ap.add_argument("--tool", default="lifeboat")
    ap.add_argument("--ref", default="restic")
    a = ap.parse_args()
    csv_path = os.path.join(a.results, "results.csv") if os.path.isdir(a.results) else a.results
    phys_path = a.phys or os.path.join(os.path.dirname(csv_path), "phys.csv")
    m, tools, desc, checks, mutated = load_results(csv_path)
    phys, phys_notes = load_phys(phys_path)
    run = Run(m)
    me, ref = a.tool, a.ref
    if me in tools:  # lifeboat first, then the peers in run order
        tools = [me] + [t for t in tools if t != me]

    base = phys.get("tree_file_bytes")
    mut = phys.get("mutated_file_bytes") or next(iter(mutated.values()), None)
    reps = max((run.n(t, "backup_initial") for t in tools), default=0)

    out = []
    p = out.append
    p(f"Dataset: {fmt(base and base / MB, '{:.1f}')} MB in files ({fmt(mut and mut / MB, '{:.1f}')} MB after "
      f"mutate_dataset.sh). Medians over {reps} run(s) per tool; peak RSS is the maximum over the runs. "
      f"MB = 10^6 B, MiB = 2^20 B. \"{me} speed-up\" = tool s / {me} s, so > 1 means {me} is faster.")
    p("")

    # ---------------------------------------------------------------- ceilings
    read_s = phys.get("read_tar_cat_s")
    tar_b = phys.get("tree_tar_bytes")
    read_mbps = tar_b / MB / read_s if read_s and tar_b else None
    sha, aes = phys.get("sha256_MBps"), phys.get("aes_256_gcm_MBps")
    zc, zd = phys.get("zstd_compress_MBps"), phys.get("zstd_decompress_MBps")
    cp_s = phys.get("cp_a_s")
    p("### Physical ceilings (same run, same data)")
    p("")
    p("| probe | rate | time for the dataset |")
    p("|---|---|---|")
    secs = lambda b, rate: b / MB / rate if b and rate else None
    p(f"| page-cache read of the tree (`tar cf - \\| cat`) | {fmt(read_mbps, '{:.0f}')} MB/s | {fmt(read_s)} s |")
    p(f"| SHA-256, openssl speed, 16 KiB, 1 process | {fmt(sha, '{:.0f}')} MB/s | {fmt(secs(base, sha))} s |")
    p(f"| AES-256-GCM, openssl speed, 16 KiB, 1 process | {fmt(aes, '{:.0f}')} MB/s | {fmt(secs(base, aes))} s |")
    p(f"| zstd -2 compress, 1 thread (`zstd -b2`, text sample) | {fmt(zc, '{:.0f}')} MB/s | "
      f"{fmt(secs(base, zc))} s if every byte were compressed |")
    p(f"| zstd -2 decompress, same sample | {fmt(zd, '{:.0f}')} MB/s | - |")
    cp_mbps = mut / MB / cp_s if mut and cp_s else None
    p(f"| `cp -a` of the mutated dataset, standalone (restore floor, best case) | {fmt(cp_mbps, '{:.0f}')} MB/s "
      f"| {fmt(cp_s)} s |")
    cp_h = run.wall(FLOOR, "restore")
    if cp_h is not None:
        p(f"| `cp -a` of the mutated dataset inside the harness (tool {FLOOR}, restore step) "
          f"| {fmt(mut / MB / cp_h if mut else None, '{:.0f}')} MB/s | {fmt(cp_h)} s |")
    p("")

    # ---------------------------------------------------------------- one table per step
    def step_bytes(s):
        return {"backup_initial": base, "restore": mut, "verify": mut}.get(s)

    for step, title in STEPS:
        if not any(run.n(t, step) for t in tools):
            continue
        p(f"### {title}")
        p("")
        p(f"| tool | median wall s | {me} speed-up | CPU s | peak RSS MiB | repository size MB |")
        p("|---|---|---|---|---|---|")
        mine = run.wall(me, step)
        for t in tools:
            w = run.wall(t, step)
            ratio = w / mine if w is not None and mine else None
            p(f"| {t} | {fmt(w)} | {fmt(ratio)} | {fmt(run.cpu(t, step), '{:.1f}')} "
              f"| {fmt(run.rss_mib(t, step), '{:.0f}')} | {fmt(run.repo_mb(t, step), '{:.1f}')} |")
        b = step_bytes(step)
        rate = lambda t: b / MB / run.wall(t, step) if b and run.wall(t, step) else None
        p("")
        if step == "backup_initial":
            p(f"{me}: {fmt(rate(me), '{:.0f}')} MB/s of file data. Ceilings for these bytes: page-cache read "
              f"{fmt(read_s)} s, SHA-256 {fmt(secs(base, sha))} s, AES-GCM {fmt(secs(base, aes))} s, "
              f"zstd -2 {fmt(secs(base, zc))} s (one core each; a 2-core pipeline overlaps them).")
        elif step == "restore":
            ch = "; ".join(f"{t}: {'/'.join(sorted(set(checks[t]))) or '-'}" for t in tools)
            p(f"{me}: {fmt(rate(me), '{:.0f}')} MB/s. Floor: `cp -a` {fmt(run.wall(FLOOR, step))} s in the harness, "
              f"{fmt(cp_s)} s standalone. Restore check ({ch}).")
        elif step == "verify":
            repo_b = run.med(me, "backup_changed", "repo_bytes")
            p(f"{me}: {fmt(rate(me), '{:.0f}')} MB/s of file data. Ceilings: AES-GCM over the repository "
              f"{fmt(secs(repo_b, aes))} s, SHA-256 over the file data {fmt(secs(mut, sha))} s, "
              f"zstd -2 decompress {fmt(secs(mut, zd))} s (upper bound).")
        elif step == "backup_unchanged":
            p("With a working files cache no file data is read; the floor is the directory walk.")
        elif step == "backup_changed":
            p(f"mutate_dataset.sh writes ~73 MB of new bytes (edits, appends, an insertion, new files); the tree "
              f"grew from {fmt(base and base / MB, '{:.1f}')} to {fmt(mut and mut / MB, '{:.1f}')} MB.")
        if step != "init":
            p("")

    # ---------------------------------------------------------------- targets
    p(f"### Targets ({me} against {ref} in the same run)")
    p("")
    p(f"| target | {me} | {ref} | measured | result |")
    p("|---|---|---|---|---|")

    def verdict(ok):
        return "n/a" if ok is None else ("PASS" if ok else "**FAIL**")

    def speed_target(step, label, need, what="faster"):
        lw, rw = run.wall(me, step), run.wall(ref, step)
        x = rw / lw if lw and rw else None
        p(f"| {label} >= {need:g}x {what} | {fmt(lw)} s | {fmt(rw)} s | {fmt(x)}x | "
          f"{verdict(None if x is None else x >= need)} |")

    speed_target("backup_initial", "initial backup", 2, f"{ref}'s throughput")
    speed_target("backup_unchanged", "unchanged re-backup", 5)
    speed_target("restore", "restore", 1.5)
    lr = run.wall(me, "restore")
    floor, where = (run.wall(FLOOR, "restore"), "in the harness") if run.wall(FLOOR, "restore") else (cp_s, "standalone")
    p(f"| restore not slower than `cp -a` | {fmt(lr)} s | `cp -a` {fmt(floor)} s ({where}) | "
      f"{fmt(floor / lr if floor and lr else None)}x | {verdict(None if lr is None or floor is None else lr <= floor)} |")
    speed_target("verify", "check --read-data", 2)

    timed = [s for s, _ in STEPS if run.rss_mib(me, s) is not None and run.rss_mib(ref, s) is not None]
    if timed:
        worse = [s for s in timed if run.rss_mib(me, s) > run.rss_mib(ref, s)]
        lmax = max(run.rss_mib(me, s) for s in timed)
        rmax = max(run.rss_mib(ref, s) for s in timed)
        detail = "lower or equal in every step" if not worse else "higher in " + ", ".join(
            f"{s} ({run.rss_mib(me, s):.0f} vs {run.rss_mib(ref, s):.0f})" for s in worse)
        p(f"| peak RSS <= {ref}'s (max over the steps) | {lmax:.0f} MiB | {rmax:.0f} MiB | {detail} | "
          f"{verdict(lmax <= rmax)} |")
    else:
        p(f"| peak RSS <= {ref}'s (max over the steps) | - | - | - | n/a |")
    for step, label in (("backup_initial", "after initial backup"), ("backup_changed", "after change backup")):
        lm, rm = run.repo_mb(me, step), run.repo_mb(ref, step)
        p(f"| repository size <= {ref}'s, {label} | {fmt(lm, '{:.1f}')} MB | {fmt(rm, '{:.1f}')} MB | "
          f"{fmt(lm / rm if lm and rm else None, '{:.3f}')} of {ref} | {verdict(None if lm is None or rm is None else lm <= rm)} |")
    ok = set(checks.get(me, [])) == {"MATCH"}
    p(f"| restore is identical (content, mode, mtime) | {'/'.join(sorted(set(checks.get(me, [])))) or '-'} | "
      f"{'/'.join(sorted(set(checks.get(ref, [])))) or '-'} | diff -r + metadata listing | "
      f"{verdict(ok if checks.get(me) else None)} |")
    p("")
    p("Tools:")
    for t in tools:
        p(f"- {t}: {desc.get(t, '')}")
    if FLOOR in tools:
        p(f"- {FLOOR} is the floor, not a backup tool: its 'repository' holds three full copies.")
    p("")
    p("Creating files is the bulk of a restore, and on the reference machine's ext4 (no journal) it costs several "
      "times more for about a minute after many inodes were deleted: the inode allocator skips recently "
      "deleted inodes one by one. The harness deletes trees between steps (and other users of the disk "
      "do too), so restore times and `cp -a` vary with that history; compare restores with the "
      f"{FLOOR} row, which the harness times under the same conditions.")
    if phys_notes:
        p("")
        p("Ceiling probes: " + "; ".join(f"{k}: {v}" for k, v in phys_notes.items() if v) + ".")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
