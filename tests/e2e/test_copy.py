"""copy: snapshots into a second repository (the runbooks' second region),
for related repositories (init --from-repo) and unrelated ones; running it
again copies nothing; bad input is one line and changes nothing.
"""

import os
import random
import unittest

import lbtest

MiB = 1024 * 1024
SAME = ("type", "mode", "size", "sha256", "mtime_ns", "target")


class Copy(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.rng = random.Random(lbtest.random_seed())
        self.src = self.path("src")
        lbtest.make_random_tree(self.src, self.rng, n_small=60, large_sizes=(3 * MiB,))
        self.a = self.new_repo("a")
        _, s1 = self.a.backup(self.src)
        self.scans = {s1["snapshot_id"]: lbtest.scan_tree(self.src)}
        lbtest.write_file(os.path.join(self.src, "new.bin"), self.rng.randbytes(MiB))
        _, s2 = self.a.backup(self.src)
        self.scans[s2["snapshot_id"]] = lbtest.scan_tree(self.src)

    def from_env(self, **extra):
        """The destination's environment, with the source's password for copy."""
        return self.b.env(LIFEBOAT_FROM_PASSWORD=self.a.password, **extra)

    def copy(self, *args, expect=0):
        r = self.b.run("--json", "copy", "--from-repo", self.a.path, *args, env=self.from_env())
        self.assertRc(r, expect)
        return r

    def assert_copies_restore(self):
        copies = self.b.snapshots()
        self.assertEqual(len(copies), len(self.scans))
        for snap in copies:
            target = self.path("restore-" + snap["id"][:8])
            self.b.restore(snap["id"], target)
            original = [sid for sid in self.scans if self.a_snapshot(sid)["time"] == snap["time"]]
            self.assertEqual(len(original), 1)
            self.assertTreesEqual(self.scans[original[0]],
                                  lbtest.scan_tree(lbtest.restored_root(target, self.src)), only=SAME)

    def a_snapshot(self, sid):
        return next(s for s in self.a.snapshots() if s["id"] == sid)

    def test_related_repository_copies_once(self):
        self.b = self.new_repo("b", init=False)
        r = self.b.run("init", "--from-repo", self.a.path, env=self.from_env(LIFEBOAT_PASSWORD="other-password"))
        self.assertRc(r, 0)
        self.b.password = "other-password"
        r = self.copy()
        j = r.last_json()
        self.assertTrue(j["related"])
        self.assertEqual(len(j["copied"]), 2)
        self.assertLess(j["bytes_read"], 6 * MiB, "what both snapshots share was read once")
        self.assert_copies_restore()
        self.b.check("--read-data")
        listing = {k: v for k, v in self.b.listing().items() if not k.startswith(("log", "locks"))}
        r = self.copy()
        self.assertEqual(r.last_json()["copied"], [])
        self.assertEqual(len(r.last_json()["already_there"]), 2)
        self.assertEqual({k: v for k, v in self.b.listing().items() if not k.startswith(("log", "locks"))}, listing)
        # A third snapshot: only the new file's data is read from the source.
        lbtest.write_file(os.path.join(self.src, "third.bin"), self.rng.randbytes(MiB // 2))
        _, s3 = self.a.backup(self.src)
        self.scans[s3["snapshot_id"]] = lbtest.scan_tree(self.src)
        r = self.copy()
        j = r.last_json()
        self.assertEqual([c["source"] for c in j["copied"]], [s3["snapshot_id"]])
        self.assertLess(j["bytes_read"], MiB, "only what the destination lacked was read")
        self.assert_copies_restore()
        log = self.b.run("--json", "log")
        self.assertRc(log, 0)
        self.assertEqual(sum(1 for rec in log.last_json() if rec["operation"] == "copy"), 3)

    def test_unrelated_repository(self):
        self.b = self.new_repo("b")
        r = self.copy()
        j = r.last_json()
        self.assertFalse(j["related"])
        self.assertEqual(len(j["copied"]), 2)
        self.assert_copies_restore()
        self.b.check("--read-data")
        r = self.copy()
        self.assertEqual(r.last_json()["copied"], [])
        r = self.b.run("copy", "--from-repo", self.a.path, "--dry-run", env=self.from_env())
        self.assertRc(r, 0)
        self.assertIn("would copy 0 snapshots, 2 already there", r.out)

    def test_bad_input_is_one_line_and_changes_nothing(self):
        self.b = self.new_repo("b")
        listing = self.b.listing()
        r = self.b.run("copy")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "--from-repo")
        r = self.b.run("copy", "--from-repo", self.a.path)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "LIFEBOAT_FROM_PASSWORD")
        r = self.b.run("copy", "--from-repo", self.a.path, env=self.b.env(LIFEBOAT_FROM_PASSWORD="wrong"))
        self.assertRc(r, 12)
        self.assertOneLineError(r, "source repository")
        r = self.b.run("copy", "--from-repo", self.path("nothing-here"), env=self.from_env())
        self.assertRc(r, 10)
        self.assertOneLineError(r, "source repository")
        r = self.b.run("copy", "--from-repo", self.b.path, env=self.b.env(LIFEBOAT_FROM_PASSWORD=self.b.password))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "same repository")
        r = self.copy("ffffffff", expect=1)
        self.assertEqual(self.b.listing(), listing)
        r = self.b.run("copy", "--help")
        self.assertRc(r, 0)
        self.assertIn("--from-password-file", r.out)


if __name__ == "__main__":
    unittest.main()
