"""A full disk: the repository lives on a small tmpfs (root only).

A backup larger than the free space must fail with a clear message about
space, leave a repository that `check` accepts, without temporary files or
locks, from which earlier snapshots still restore exactly; once there is
room again, the next backup completes and reuses what the failed one wrote.
"""

import os
import random
import re
import subprocess
import unittest

import lbtest
from lbtest import IS_ROOT, MiB

FS_SIZE_MIB = 30
LAYOUT = re.compile(r"^(config|keys/[0-9a-f]{64}|data/([0-9a-f]{2})/\2[0-9a-f]{62}|index/[0-9a-f]{64}|"
                    r"snapshots/[0-9a-f]{64}|locks/[0-9a-f]{64}|log/[0-9]{20}-[0-9a-f]{64})$")


class DiskFull(lbtest.LBTestCase):
    def setUp(self):
        if not IS_ROOT:
            self.skipTest("mounting a tmpfs needs root")
        super().setUp()
        self.mnt = self.path("mnt")
        os.makedirs(self.mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm,mode=0700" % FS_SIZE_MIB, "tmpfs", self.mnt],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.skipTest("cannot mount a tmpfs: %s" % p.stderr.decode(errors="replace").strip())
        self.addCleanup(self.unmount)

    def unmount(self):
        if subprocess.run(["umount", self.mnt], stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run(["umount", "-l", self.mnt], stderr=subprocess.DEVNULL)

    def remount(self, size_mib):
        subprocess.run(["mount", "-o", "remount,size=%dm" % size_mib, self.mnt], check=True)

    def test_backup_larger_than_free_space(self):
        seed = lbtest.random_seed()
        print("\nDiskFull seed: %d" % seed)
        rng = random.Random(seed)
        repo = lbtest.Repo(os.path.join(self.mnt, "repo"), self.path("cache"))
        repo.init()

        small = self.path("small")
        lbtest.make_random_tree(small, rng, n_small=30, small_max=16 * 1024, large_sizes=(2 * MiB,), dirs=3)
        _, first = repo.backup(small)
        small_tree = lbtest.scan_tree(small)

        large = self.path("large")
        total = lbtest.make_random_tree(large, rng, n_small=100, small_max=64 * 1024,
                                        large_sizes=(20 * MiB, 20 * MiB, 12 * MiB), dirs=5, compressible_share=0)
        r = repo.run("backup", large)
        self.assertNotEqual(r.rc, 0, "a backup of %d MiB fit in %d MiB?\n%s" % (total // MiB, FS_SIZE_MIB,
                                                                                r.describe()))
        self.assertRc(r, 1)
        errors = r.error_lines()
        self.assertEqual(len(errors), 1, r.describe())
        self.assertRegex(errors[0].lower(), r"space|disk full|no room", r.describe())
        self.assertNotIn("\r", r.out + r.err)

        # Consistent, with no leftovers: no temporary files, no lock, no new snapshot.
        stray = [f for f in repo.files() if not LAYOUT.match(f)]
        self.assertEqual(stray, [], "files outside the repository layout after the failed backup")
        self.assertEqual(repo.files("locks"), [])
        self.assertEqual(repo.files("snapshots"), ["snapshots/" + first["snapshot_id"]])
        repo.check()
        repo.check("--read-data")

        # The earlier snapshot restores exactly (onto the real disk).
        target = self.path("target")
        repo.restore(first["snapshot_id"][:8], target)
        self.assertTreesEqual(small_tree, lbtest.scan_tree(lbtest.restored_root(target, small)),
                              ignore_symlink_atime=True)

        # Room again: the next backup completes and reuses the stored packs.
        self.remount(200)
        _, s = repo.backup(large)
        self.assertLess(s["data_added"], total * 0.95, "the failed backup's packs were not reused: %s" % s)
        repo.check("--read-data")
        target2 = self.path("target2")
        repo.restore("latest", target2)
        self.assertTreesEqual(lbtest.scan_tree(large), lbtest.scan_tree(lbtest.restored_root(target2, large)),
                              only={"type", "size", "sha256", "mode", "mtime_ns"})

    def test_init_on_full_disk(self):
        """init fails cleanly when not even the repository fits, and leaves no half repository."""
        filler = os.path.join(self.mnt, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            block = b"\1" * 65536
            while True:
                os.write(fd, block)
        except OSError:
            pass
        finally:
            os.close(fd)
        loc = os.path.join(self.mnt, "repo")
        r = lbtest.Repo(loc, self.path("cache")).run("init")
        self.assertRc(r, 1)
        self.assertEqual(len(r.error_lines()), 1, r.describe())
        self.assertRegex(r.error_lines()[0].lower(), r"space", r.describe())
        self.assertFalse(os.path.exists(os.path.join(loc, "config")), "config is written last by init")
        os.unlink(filler)
        # The location can be initialised once there is room.
        r = lbtest.Repo(loc, self.path("cache")).run("init")
        self.assertRc(r, 0, "a failed init must not block the next one")


if __name__ == "__main__":
    unittest.main()
