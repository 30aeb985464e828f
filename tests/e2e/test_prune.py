"""prune: removes unused data, repacks, and does so while backups run.

The main test runs backups from two "hosts" in a loop while a third thread
forgets and prunes over and over, then restores every snapshot that is left
and compares it with what its source held when it was taken.
"""

import os
import random
import shutil
import signal
import threading
import time
import unittest

import lbtest

MiB = 1024 * 1024


def repo_bytes(repo, sub="data"):
    total = 0
    for d, _, names in os.walk(os.path.join(repo.path, sub)):
        for n in names:
            total += os.path.getsize(os.path.join(d, n))
    return total


SAME = ("type", "mode", "size", "sha256", "mtime_ns", "target")


class Prune(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.repo = self.new_repo()
        self.seed = lbtest.random_seed()
        self.rng = random.Random(self.seed)

    def churn(self, src, rng, round_no, add_mib=2):
        """Changes a source between backups: new random files, some removed."""
        os.makedirs(src, exist_ok=True)
        names = sorted(os.listdir(src))
        for n in names:
            if rng.random() < 0.5:
                os.unlink(os.path.join(src, n))
        for i in range(4):
            lbtest.write_file(os.path.join(src, "r%03d-%d.bin" % (round_no, i)), rng.randbytes(add_mib * MiB // 4))
        lbtest.write_file(os.path.join(src, "small-%03d.txt" % round_no), b"round %d\n" % round_no * 100)
        # Content that comes back after it was forgotten (and on the other
        # host): a backup may dedup against data prune is about to remove.
        variant = rng.randrange(4)
        lbtest.write_file(os.path.join(src, "cycle.bin"), random.Random(variant).randbytes(MiB))

    def test_garbage_goes_and_what_is_kept_restores(self):
        src = self.path("src")
        states = {}
        for i in range(4):
            self.churn(src, self.rng, i)
            _, s = self.repo.backup(src)
            states[s["snapshot_id"]] = lbtest.scan_tree(src)
        before = repo_bytes(self.repo)
        r = self.repo.run("--json", "forget", "--keep-last", "1", "--prune", "--max-unused", "0%")
        self.assertRc(r, 0)
        summary = r.last_json()
        pr = summary["prune"]
        self.assertEqual(len(summary["removed"]), 3)
        self.assertGreater(pr["packs_deleted"], 0)
        self.assertEqual(pr["packs_waiting"], 0)
        self.assertEqual(pr["unused_bytes_after"], 0)
        after = repo_bytes(self.repo)
        self.assertLess(after, before * 0.75, "the forgotten snapshots' data went")
        self.assertEqual(self.repo.files("condemned"), [])
        self.repo.check("--read-data")
        [kept] = self.repo.snapshots()
        self.repo.restore(kept["id"], self.path("t"))
        self.assertTreesEqual(states[kept["id"]], lbtest.scan_tree(lbtest.restored_root(self.path("t"), src)),
                              only=SAME)
        # Nothing left to do: a second prune changes no data.
        listing = {k: v for k, v in self.repo.listing().items() if not k.startswith(("log", "locks"))}
        r = self.repo.run("--json", "prune", "--max-unused", "0%")
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["packs_deleted"], 0)
        self.assertEqual({k: v for k, v in self.repo.listing().items() if not k.startswith(("log", "locks"))},
                         listing)

    def test_dry_run_changes_nothing_and_tells_what_would_go(self):
        src = self.path("src")
        self.churn(src, self.rng, 0)
        self.repo.backup(src)
        self.churn(src, self.rng, 1)
        self.repo.backup(src)
        r = self.repo.run("forget", "--keep-last", "1")
        self.assertRc(r, 0)
        listing = self.repo.listing()
        r = self.repo.run("--json", "prune", "--dry-run")
        self.assertRc(r, 0)
        plan = r.last_json()
        self.assertTrue(plan["dry_run"])
        self.assertGreater(plan["bytes_condemned"], 0)
        self.assertEqual(self.repo.listing(), listing)
        r = self.repo.run("prune", "--dry-run")
        self.assertRc(r, 0)
        self.assertIn("would remove", r.out)
        self.assertEqual(self.repo.listing(), listing)
        # forget --prune --dry-run counts the snapshots forget would remove.
        self.churn(src, self.rng, 2)
        self.repo.backup(src)
        listing = self.repo.listing()
        r = self.repo.run("--json", "forget", "--keep-last", "1", "--prune", "--dry-run")
        self.assertRc(r, 0)
        j = r.last_json()
        self.assertEqual(len(j["removed"]), 1)
        self.assertEqual(j["prune"]["snapshots"], 1)
        self.assertGreater(j["prune"]["bytes_condemned"], 0)
        self.assertEqual(self.repo.listing(), listing)

    def test_bad_options_are_one_line_errors_and_change_nothing(self):
        src = self.path("src")
        self.churn(src, self.rng, 0)
        self.repo.backup(src)
        listing = self.repo.listing()
        for args, needle in ((("--max-unused", "five"), "--max-unused"),
                             (("--max-unused", "150%"), "--max-unused"),
                             (("--max-unused", "-1%"), "--max-unused"),
                             (("--max-repack-size", "2X"), "--max-repack-size")):
            r = self.repo.run("prune", *args)
            self.assertRc(r, 1, str(args))
            self.assertOneLineError(r, needle)
            r = self.repo.run("forget", "--keep-last", "1", "--prune", *args)
            self.assertRc(r, 1, str(args))
            self.assertOneLineError(r, needle)
        self.assertEqual(self.repo.listing(), listing)
        r = self.repo.run("prune", "--help")
        self.assertRc(r, 0)
        self.assertIn("--max-unused", r.out)

    def test_backup_that_read_the_old_index_keeps_its_data(self):
        """The race prune must win, made deterministic: a backup dedups a file
        against data that only a forgotten snapshot referenced, and is stopped
        there; prune runs. The data must stay until the backup has ended, and
        the next prune must keep what its snapshot references."""
        garbage = self.rng.randbytes(4 * MiB)
        src1 = self.path("src1")
        os.makedirs(src1)
        lbtest.write_file(os.path.join(src1, "garbage.bin"), garbage)
        _, first = self.repo.backup(src1)
        os.unlink(os.path.join(src1, "garbage.bin"))
        lbtest.write_file(os.path.join(src1, "other.txt"), b"other\n")
        self.repo.backup(src1)
        self.assertRc(self.repo.run("forget", first["snapshot_id"]), 0)

        src2 = self.path("src2")
        os.makedirs(src2)
        lbtest.write_file(os.path.join(src2, "a-garbage.bin"), garbage)
        with open(os.path.join(src2, "z-big.bin"), "wb") as f:
            for _ in range(12):
                f.write(self.rng.randbytes(8 * MiB))
        packs_before = len(self.repo.files("data"))
        p = self.repo.popen("--json", "backup", src2)
        try:
            # Two new packs: the backup has loaded the index and is well into
            # z-big.bin, so a-garbage.bin was matched against the old index.
            deadline = time.monotonic() + 120
            while len(self.repo.files("data")) < packs_before + 2 and p.poll() is None:
                if time.monotonic() > deadline:
                    self.fail("the backup wrote no packs")
                time.sleep(0.002)
            if p.poll() is not None:
                self.skipTest("the backup finished before it could be stopped")
            os.killpg(p.pid, signal.SIGSTOP)
            r = self.repo.run("--json", "prune", "--max-unused", "0%")
            self.assertRc(r, 0)
            pr = r.last_json()
            self.assertGreaterEqual(pr["bytes_condemned"], 4 * MiB)
            self.assertGreater(pr["packs_waiting"], 0, "a backup that read the old index runs")
            self.assertEqual(pr["packs_deleted"], 0)
            self.assertTrue(any("backup (PID %d" % p.pid in w for w in pr["waiting_for"]), pr["waiting_for"])
        finally:
            os.killpg(p.pid, signal.SIGCONT)
            out, err = p.communicate(timeout=300)
        self.assertEqual(p.returncode, 0, err.decode(errors="replace"))
        # Before the next prune: the snapshot reads through the condemned packs.
        self.repo.check("--read-data")
        [late] = [s for s in self.repo.snapshots() if s["paths"] == [src2]]
        self.repo.restore(late["id"], self.path("t1"))
        self.assertEqual(lbtest.file_sha256(os.path.join(lbtest.restored_root(self.path("t1"), src2),
                                                         b"a-garbage.bin")),
                         lbtest.file_sha256(os.path.join(src2, "a-garbage.bin")))
        r = self.repo.run("--json", "prune", "--max-unused", "0%")
        self.assertRc(r, 0)
        pr = r.last_json()
        self.assertGreater(pr["blobs_rescued"], 0)
        self.assertEqual(pr["packs_waiting"], 0)
        self.assertEqual(self.repo.files("condemned"), [])
        self.repo.check("--read-data")
        self.repo.restore(late["id"], self.path("t2"))
        self.assertTreesEqual(lbtest.scan_tree(src2), lbtest.scan_tree(lbtest.restored_root(self.path("t2"), src2)),
                              only=SAME)

    def test_backups_run_while_prune_runs_and_every_snapshot_restores(self):
        """Two hosts back up in a loop; a third forgets and prunes in a loop.
        Nobody waits for anybody; afterwards every snapshot restores exactly."""
        rounds = int(os.environ.get("LIFEBOAT_PRUNE_ROUNDS", "6"))
        states = {}  # snapshot id -> scan of its source when it was taken
        intervals = {"backup": [], "prune": []}
        errors = []
        lock = threading.Lock()
        print("seed", self.seed)

        def writer(host, seed):
            rng = random.Random(seed)
            src = self.path("src-" + host)
            try:
                for i in range(rounds):
                    self.churn(src, rng, i, add_mib=3)
                    t0 = time.monotonic()
                    r, s = self.repo.backup("--host", host, src, expect=None)
                    t1 = time.monotonic()
                    if r.rc != 0 or s is None:
                        errors.append("backup on %s: %s" % (host, r.describe()))
                        return
                    scan = lbtest.scan_tree(src)
                    with lock:
                        states[s["snapshot_id"]] = (src, scan)
                        intervals["backup"].append((t0, t1))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append("%s: %r" % (host, e))

        done = threading.Event()
        prune_summaries = []

        def pruner():
            try:
                while not done.is_set():
                    t0 = time.monotonic()
                    r = self.repo.run("--json", "forget", "--keep-last", "2", "--prune", "--max-unused", "0%")
                    t1 = time.monotonic()
                    if r.rc != 0:
                        errors.append("forget --prune: " + r.describe())
                        return
                    with lock:
                        intervals["prune"].append((t0, t1))
                        prune_summaries.append(r.last_json()["prune"])
                    time.sleep(0.05)
            except Exception as e:  # noqa: BLE001
                errors.append("pruner: %r" % e)

        writers = [threading.Thread(target=writer, args=(h, self.seed + k)) for k, h in enumerate(("alpha", "beta"))]
        p = threading.Thread(target=pruner)
        p.start()
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        done.set()
        p.join()
        self.assertEqual(errors, [], "seed %d" % self.seed)

        overlaps = sum(1 for (a0, a1) in intervals["prune"] for (b0, b1) in intervals["backup"]
                       if a0 < b1 and b0 < a1)
        print("%d backups, %d prunes, %d overlapping pairs; packs deleted %d, waited %d, blobs rescued %d" % (
            len(intervals["backup"]), len(intervals["prune"]), overlaps,
            sum(s["packs_deleted"] for s in prune_summaries), sum(s["packs_waiting"] for s in prune_summaries),
            sum(s["blobs_rescued"] for s in prune_summaries)))
        self.assertGreater(overlaps, 0, "no prune ran while a backup ran; the test proved nothing")
        self.assertGreater(sum(s["packs_deleted"] + s["packs_waiting"] for s in prune_summaries), 0)

        # A final forget and prune with nothing running sweeps whatever still waits.
        r = self.repo.run("--json", "forget", "--keep-last", "2", "--prune", "--max-unused", "0%")
        self.assertRc(r, 0)
        r = self.repo.run("--json", "prune", "--max-unused", "0%")
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["packs_waiting"], 0)
        r = self.repo.run("--json", "prune")
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["packs_waiting"], 0)
        self.assertEqual(self.repo.files("condemned"), [])
        self.repo.check("--read-data")
        left = self.repo.snapshots()
        self.assertEqual(len(left), 4, "two per host")
        for snap in left:
            src, scan = states[snap["id"]]
            target = self.path("restore-" + snap["id"][:8])
            self.repo.restore(snap["id"], target)
            self.assertTreesEqual(scan, lbtest.scan_tree(lbtest.restored_root(target, src)), only=SAME)
            shutil.rmtree(target)


if __name__ == "__main__":
    unittest.main()
