"""Crash safety of prune: prunes killed with SIGKILL at random moments.

A history of snapshots is made from a changing source (large random files
added and removed, small files rewritten), so that forgetting the oldest
snapshot leaves garbage both in whole packs and in packs that stay partly
used. Then, N times (LIFEBOAT_CRASH_ITERATIONS, default 6): the oldest
snapshot is forgotten, `prune --max-unused 0%` is started and killed with
SIGKILL after a random delay within the length of an uninterrupted prune
(measured first, on a copy of the repository). After every kill `check
--read-data` must pass and every remaining snapshot must restore exactly.
Finally a prune runs to completion: nothing may wait any more, no condemned
record may be left, and the repository must be smaller than before.

The seed is printed; LIFEBOAT_CRASH_SEED (or LIFEBOAT_TEST_SEED) repeats a
run (the kill moments still depend on timing).
"""

import os
import random
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

ITERATIONS = int(os.environ.get("LIFEBOAT_CRASH_ITERATIONS", "6"))
SAME = ("type", "mode", "size", "sha256", "mtime_ns", "target")


def data_bytes(repo):
    total = 0
    for d, _, names in os.walk(os.path.join(repo.path, "data")):
        for n in names:
            try:
                total += os.path.getsize(os.path.join(d, n))
            except FileNotFoundError:
                pass
    return total


class PruneCrash(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.seed = int(os.environ.get("LIFEBOAT_CRASH_SEED", "0")) or lbtest.random_seed()
        print("seed", self.seed, file=sys.stderr)
        self.rng = random.Random(self.seed)
        self.src = self.path("src")
        lbtest.make_random_tree(self.src, self.rng, n_small=300, large_sizes=(4 * MiB,))
        self.repo = self.new_repo()
        self.scans = {}
        for i in range(ITERATIONS + 4):
            self.churn(i)
            _, s = self.repo.backup(self.src)
            self.scans[s["snapshot_id"]] = lbtest.scan_tree(self.src)

    def churn(self, i):
        for n in sorted(os.listdir(self.src)):
            if n.startswith("big-") and self.rng.random() < 0.6:
                os.unlink(os.path.join(self.src, n))
        lbtest.write_file(os.path.join(self.src, "big-%02d.bin" % i), self.rng.randbytes(3 * MiB))
        # Rewrite some small files: their old versions share packs with live data.
        smalls = sorted(os.path.join(d, n) for d, _, ns in os.walk(self.src) for n in ns if n.startswith("f"))
        for p in self.rng.sample(smalls, 30):
            lbtest.write_file(p, self.rng.randbytes(self.rng.randint(100, 12000)))

    def snapshots(self):
        return sorted(self.repo.snapshots(), key=lambda s: s["time"])

    def verify(self, what):
        r = self.repo.run("check", "--read-data")
        self.assertRc(r, 0, "after %s (seed %d)" % (what, self.seed))
        for snap in self.snapshots():
            target = self.path("restore")
            self.repo.restore(snap["id"], target)
            self.assertTreesEqual(self.scans[snap["id"]],
                                  lbtest.scan_tree(lbtest.restored_root(target, self.src)), only=SAME)
            shutil.rmtree(target)

    def test_prune_killed_at_random_moments(self):
        # How long an uninterrupted prune of this history takes, on a copy.
        probe = lbtest.Repo(self.path("probe"), self.path("probe-cache"), self.repo.password)
        shutil.copytree(self.repo.path, probe.path)
        self.assertRc(probe.run("forget", self.snapshots()[0]["id"]), 0)
        t0 = time.monotonic()
        self.assertRc(probe.run("prune", "--max-unused", "0%"), 0)
        full = time.monotonic() - t0
        shutil.rmtree(probe.path)
        print("uninterrupted prune: %.2f s" % full, file=sys.stderr)

        size_before = data_bytes(self.repo)
        killed = 0
        for i in range(ITERATIONS):
            oldest = self.snapshots()[0]["id"]
            self.assertRc(self.repo.run("forget", oldest), 0)
            del self.scans[oldest]
            p = self.repo.popen("prune", "--max-unused", "0%")
            time.sleep(self.rng.uniform(0, full))
            lbtest.kill_group(p, signal.SIGKILL)
            if p.returncode == -signal.SIGKILL:  # it may have ended just before the kill
                killed += 1
            else:
                self.assertEqual(p.returncode, 0, "the prune failed on its own")
            self.verify("prune %d killed" % i)
        self.assertGreater(killed, 0, "every prune finished before its kill; the test proved nothing")

        r = self.repo.run("--json", "prune", "--max-unused", "0%")
        self.assertRc(r, 0)
        j = r.last_json()
        self.assertEqual(j["packs_waiting"], 0, j)
        self.assertEqual(self.repo.files("condemned"), [])
        r = self.repo.run("--json", "prune", "--max-unused", "0%")
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["unused_bytes"], 0)
        self.verify("the final prune")
        self.assertLess(data_bytes(self.repo), size_before)


if __name__ == "__main__":
    unittest.main()
