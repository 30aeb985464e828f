"""Crash safety: backups killed with SIGKILL at random moments.

A ~200 MB source (many small files, a few large random ones) is backed up
once completely.  Then, N times (LIFEBOAT_CRASH_ITERATIONS, default 8), the
tree is modified (new large file, rewritten and deleted small files), a
backup of it is started and killed with SIGKILL: in even iterations after a
random 0.05-3 s (capped at the length of an uninterrupted incremental run,
measured first), in odd ones a random 0-100 ms after the run has completed
its first new pack (so that there is stored data to reuse).
After every kill `check` must pass and the first snapshot must restore
exactly.  Finally a backup runs to completion: it must reuse what the killed
runs stored (data_added far below the source size, and below the new data
minus what the killed runs wrote), `check --read-data` must pass, and the
last snapshot must restore exactly.

The seed is printed; LIFEBOAT_CRASH_SEED (or LIFEBOAT_TEST_SEED) repeats a
run.
"""

import os
import random
import re
import shutil
import signal
import sys
import time
import unittest

try:
    import lbtest
except ImportError:  # run from tests/crash without tests/e2e on the path
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
    import lbtest
from lbtest import MiB

ITERATIONS = int(os.environ.get("LIFEBOAT_CRASH_ITERATIONS", "8"))
NEW_FILES = 1
NEW_FILE_SIZE = 12 * MiB


PACK_NAME = re.compile(r"^[0-9a-f]{64}$")


def complete_packs(repo):
    """Complete packs (a killed writer may leave temporary files beside them)."""
    out = []
    for d, _, files in os.walk(os.path.join(repo.path, "data")):
        out.extend(os.path.join(d, f) for f in files if PACK_NAME.match(f))
    return out


def pack_bytes(repo):
    total = 0
    for p in complete_packs(repo):
        try:
            total += os.path.getsize(p)
        except FileNotFoundError:
            pass
    return total


def temporary_files(repo):
    return [f for f in repo.files("data") if not PACK_NAME.match(os.path.basename(f))]


class CrashSafety(lbtest.LBTestCase):
    def test_killed_backups_leave_a_consistent_reusable_repository(self):
        seed = int(os.environ.get("LIFEBOAT_CRASH_SEED") or lbtest.random_seed())
        print("\nCrash seed: %d, %d iterations (LIFEBOAT_CRASH_SEED / LIFEBOAT_CRASH_ITERATIONS to repeat)"
              % (seed, ITERATIONS))
        rng = random.Random(seed)
        src = self.path("src")
        t0 = time.monotonic()
        size = lbtest.make_random_tree(src, rng, n_small=3000, small_max=32 * 1024,
                                       large_sizes=(40 * MiB, 40 * MiB, 32 * MiB, 24 * MiB, 18 * MiB), dirs=30)
        print("source: %.0f MB in %.1f s" % (size / 1e6, time.monotonic() - t0))
        repo = self.new_repo()

        first_tree = lbtest.scan_tree(src)
        t0 = time.monotonic()
        _, first = repo.backup(src)
        print("first backup: %.1f s, %s" % (time.monotonic() - t0, {k: first[k] for k in ("data_added", "files_new")}))
        small_files = sorted(os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".dat"))
        new_bytes = 0

        def modify(tag):
            """New random files (NEW_FILES x NEW_FILE_SIZE), some small files rewritten, some deleted."""
            added = 0
            for k in range(NEW_FILES):
                lbtest.write_file(os.path.join(src, "big", "new-%s-%d.bin" % (tag, k)), rng.randbytes(NEW_FILE_SIZE))
                added += NEW_FILE_SIZE
            for p in rng.sample(small_files, 20):
                if os.path.exists(p):
                    lbtest.write_file(p, rng.randbytes(rng.randint(0, 32 * 1024)))
                    added += os.path.getsize(p)
            for p in rng.sample(small_files, 5):
                if os.path.exists(p):
                    os.unlink(p)
            return added

        # Calibration: this machine may run such a backup in well under 3 s.
        # Kills are drawn from 0.05-3 s, but no later than an uninterrupted
        # run of the same kind lasts, so that they land inside the runs.
        new_bytes += modify("calibration")
        t0 = time.monotonic()
        repo.backup(src)
        run_time = time.monotonic() - t0
        max_delay = max(0.3, min(3.0, run_time))
        print("uninterrupted incremental run: %.2f s; kill delays 0.05-%.2f s" % (run_time, max_delay))
        after_first = pack_bytes(repo)

        completed = 0
        for it in range(ITERATIONS):
            with self.subTest(iteration=it, seed=seed):
                new_bytes += modify(str(it))
                snaps_before = len(repo.files("snapshots"))
                packs_before = set(complete_packs(repo))
                t0 = time.monotonic()
                p = repo.popen("backup", src)
                if it % 2 == 0:
                    # At a random time.
                    time.sleep(rng.uniform(0.05, max_delay))
                    how = "at a random time"
                else:
                    # Just after the run completed a new pack (so that there
                    # is something to reuse), or at the latest after 3 s.
                    extra = rng.uniform(0, 0.1)
                    while time.monotonic() - t0 < 3.0 and p.poll() is None:
                        if set(complete_packs(repo)) - packs_before:
                            time.sleep(extra)
                            break
                        time.sleep(0.002)
                    how = "%.0f ms after its first new pack" % (extra * 1000)
                delay = time.monotonic() - t0
                lbtest.kill_group(p, signal.SIGKILL)
                # A run may end between the last look and the kill: its exit
                # status, not a poll() before the kill, says which it was.
                finished = p.returncode != -signal.SIGKILL
                if finished:
                    completed += 1
                    self.assertEqual(p.returncode, 0, "the backup failed on its own")
                    self.assertEqual(len(repo.files("snapshots")), snaps_before + 1)
                else:
                    self.assertEqual(p.returncode, -signal.SIGKILL)
                    self.assertIn(len(repo.files("snapshots")), (snaps_before, snaps_before + 1))
                print("iteration %d: killed after %.2f s (%s)%s; complete packs %.0f MB"
                      % (it, delay, how, " - it had already finished" if finished else "", pack_bytes(repo) / 1e6))

                r = repo.run("check")
                self.assertRc(r, 0, "check after a backup killed at %.2f s" % delay)

                target = self.path("restore-first")
                repo.restore(first["snapshot_id"], target)
                self.assertTreesEqual(first_tree, lbtest.scan_tree(lbtest.restored_root(target, src)))
                shutil.rmtree(target)

        written_by_killed = pack_bytes(repo) - after_first
        final_tree = lbtest.scan_tree(src)
        source_size = sum(e["size"] for e in final_tree.values() if e["type"] == "file")
        t0 = time.monotonic()
        _, last = repo.backup(src)
        print("final backup: %.1f s; data_added %.1f MB; new data since the first snapshot %.1f MB; "
              "complete packs written by killed runs %.1f MB; runs that finished before the kill: %d; "
              "temporary files left by killed runs: %d"
              % (time.monotonic() - t0, last["data_added"] / 1e6, new_bytes / 1e6, written_by_killed / 1e6,
                 completed, len(temporary_files(repo))))
        self.assertLess(last["data_added"], source_size / 4, last)
        # What the killed runs stored is reused: the final run adds at most
        # the new data they had not yet written (a small margin covers the
        # rewritten small files that were changed again later).
        self.assertLessEqual(last["data_added"], max(0, new_bytes - written_by_killed) + new_bytes * 0.1 + 4 * MiB,
                             last)
        repo.check("--read-data")
        target = self.path("restore-last")
        repo.restore("latest", target)
        self.assertTreesEqual(final_tree, lbtest.scan_tree(lbtest.restored_root(target, src)))


if __name__ == "__main__":
    unittest.main()
