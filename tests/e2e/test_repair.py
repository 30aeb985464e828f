"""lifeboat repair index: a repository whose index files were lost or damaged
is made whole again from the packs, and restores exactly.
"""

import os
import random
import unittest

import lbtest


class RepairIndex(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        lbtest.make_random_tree(self.src, random.Random(7), n_small=60, large_sizes=(3 * lbtest.MiB,))
        self.repo = self.new_repo()
        self.repo.backup(self.src)
        lbtest.write_file(os.path.join(self.src, "later.txt"), b"later\n")
        self.repo.backup(self.src)
        self.index_dir = os.path.join(self.repo.path, "index")

    def restore_matches(self):
        target = self.path("t")
        self.repo.restore("latest", target)
        self.assertTreesEqual(lbtest.scan_tree(self.src), lbtest.scan_tree(lbtest.restored_root(target, self.src)),
                              only={"type", "size", "sha256", "mode", "mtime_ns"})

    def test_lost_index_is_rebuilt(self):
        for n in os.listdir(self.index_dir):
            os.unlink(os.path.join(self.index_dir, n))
        r = self.repo.run("check")
        self.assertRc(r, 1)
        r = self.repo.run("--json", "repair", "index", "--dry-run")
        self.assertRc(r, 0)
        self.assertEqual(os.listdir(self.index_dir), [], "a dry run writes nothing")
        r = self.repo.run("--json", "repair", "index")
        self.assertRc(r, 0)
        s = r.last_json()
        self.assertGreater(s["packs_indexed"], 0)
        self.assertEqual(s["damaged_packs"], [])
        self.repo.check("--read-data")
        self.restore_matches()
        log = self.repo.run("--json", "log").last_json()
        self.assertEqual(log[-1]["operation"], "repair index")

    def test_bit_rot_in_a_blob_is_left_out_and_snapshots_repaired(self):
        # The largest pack holds the big random file: flip a byte in its middle,
        # far from the header at its end.
        packs = []
        for d, _, names in os.walk(os.path.join(self.repo.path, "data")):
            packs += [os.path.join(d, n) for n in names]
        victim = max(packs, key=os.path.getsize)
        os.chmod(victim, 0o600)
        with open(victim, "r+b") as f:
            f.seek(os.path.getsize(victim) // 3)
            b = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([b[0] ^ 0x10]))
        self.assertRc(self.repo.run("check", "--read-data"), 1)
        r = self.repo.run("--json", "repair", "index")
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["damaged_blobs"], [], "headers alone do not show it")
        r = self.repo.run("--json", "repair", "index", "--read-data")
        self.assertRc(r, 0)
        s = r.last_json()
        self.assertEqual(len(s["damaged_blobs"]), 1, s)
        self.assertIn("left out of the index", r.err)
        r = self.repo.run("--json", "repair", "snapshots", "--forget")
        self.assertRc(r, 0)
        repaired = r.last_json()["repaired"]
        self.assertEqual(len(repaired), 2, "both snapshots hold the damaged file")
        self.assertTrue(all(any("large" in l for l in x["lost"]) for x in repaired), repaired)
        r = self.repo.check("--read-data")
        self.assertIn("no longer in the index", r.out + r.err)
        target = self.path("t")
        self.repo.restore("latest", target)
        got = lbtest.scan_tree(lbtest.restored_root(target, self.src))
        want = lbtest.scan_tree(self.src)
        self.assertEqual(sorted(got), sorted(want), "every file is there, the damaged one truncated")
        self.assertEqual({k for k in want if want[k].get("sha256") != got[k].get("sha256")},
                         {k for k in want if b"large" in k})
        # A strict prune drops the damaged copy; check is then silent about it.
        self.assertRc(self.repo.run("prune", "--max-unused", "0%"), 0)
        r = self.repo.check("--read-data")
        self.assertNotIn("no longer in the index", r.out + r.err)

    def test_damaged_index_file_is_replaced(self):
        names = sorted(os.listdir(self.index_dir))
        victim = os.path.join(self.index_dir, names[0])
        data = bytearray(open(victim, "rb").read())
        data[len(data) // 2] ^= 0xff
        os.chmod(victim, 0o600)
        with open(victim, "wb") as f:
            f.write(data)
        r = self.repo.run("snapshots")
        self.assertRc(r, 0, "listing snapshots needs no index")
        r = self.repo.run("restore", "latest", "--target", self.path("x"))
        self.assertRc(r, 1)
        r = self.repo.run("repair", "index")
        self.assertRc(r, 0)
        self.assertRegex(r.out, r"indexed \d+ packs \(\d+ blobs\) into 1 index file, replaced %d old index files"
                         % len(names))
        self.assertNotIn(names[0], os.listdir(self.index_dir))
        self.repo.check("--read-data")
        self.restore_matches()

    def test_lost_pack_then_repair_snapshots(self):
        # Lose every data pack but the first: files keep what is left.
        data_dir = os.path.join(self.repo.path, "data")
        packs = sorted(os.path.join(d, n) for d, _, ns in os.walk(data_dir) for n in ns)
        self.assertGreater(len(packs), 1)
        r = self.repo.run("check")
        self.assertRc(r, 0)
        victim = max(packs, key=os.path.getsize)
        os.unlink(victim)
        self.assertRc(self.repo.run("check"), 1)
        self.assertRc(self.repo.run("repair", "index"), 0)
        r = self.repo.run("--json", "repair", "snapshots", "--dry-run")
        self.assertRc(r, 0)
        plan = r.last_json()
        self.assertEqual(len(plan["repaired"]), 2, "both snapshots held the lost data")
        self.assertEqual(len(self.repo.snapshots()), 2)
        r = self.repo.run("repair", "snapshots", "--forget")
        self.assertRc(r, 0)
        self.assertIn("2 of 2 snapshots repaired", r.out)
        self.assertIn("lost: ", r.out)
        snaps = self.repo.snapshots()
        self.assertEqual(len(snaps), 2)
        self.assertTrue(all("repaired" in s["tags"] for s in snaps))
        self.repo.check("--read-data")
        target = self.path("t")
        self.repo.restore("latest", target)
        root = lbtest.restored_root(target, self.src)
        self.assertEqual(open(os.path.join(root, b"later.txt"), "rb").read(), b"later\n")
        # Every restored file is a prefix of its source.
        for d, _, names in os.walk(root):
            for n in names:
                got = open(os.path.join(d, n), "rb").read()
                rel = os.path.relpath(os.path.join(d, n), root)
                want = open(os.path.join(os.fsencode(self.src), rel), "rb").read()
                self.assertEqual(got, want[:len(got)], rel)

    def test_usage(self):
        r = self.repo.run("repair")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "needs one of: index, snapshots")
        r = self.repo.run("repair", "index", "--help")
        self.assertRc(r, 0)


if __name__ == "__main__":
    unittest.main()
