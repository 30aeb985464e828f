"""Tampering: one flipped byte anywhere in the repository is found.

After a backup, for seeded random positions (the seed is printed; set
LIFEBOAT_TEST_SEED to repeat) one byte of one repository file is flipped, on
a fresh copy of the repository each time, in every kind of object: data and
tree packs, index files, snapshots, the config and the key.  Then

- `check --read-data` must fail (exit 1; a damaged only key fails to open
  the repository: exit 12, or 1 when the file no longer parses), and
- `restore` must either fail (non-zero exit) or restore every file exactly:
  exit 0 with a missing or different file is silent data loss.

A damaged data blob must be reported with its pack and the affected path.

The repositories live on the backend LIFEBOAT_TEST_BACKEND selects (see
lbtest); they are copied and damaged through their object store.
"""

import os
import random
import shutil
import unittest

import lbtest
from lbtest import MiB

# Positions per kind of object; every pack position is covered by a GCM tag
# or the tiling of the pack, every sealed object by its tag.
POSITIONS = {"data pack": 6, "tree pack": 3, "index": 3, "snapshot": 3, "config": 3, "key": 3}


def sizes(repo):
    """{object name: size} of a repository."""
    return {o.name: o.size for o in repo.store.list("")}


class Tamper(lbtest.LBTestCase):
    @classmethod
    def setUpClass(cls):
        cls.seed = lbtest.random_seed()
        print("\nTamper seed: %d (LIFEBOAT_TEST_SEED to repeat)" % cls.seed)
        cls.ctmp = lbtest.make_tmpdir("lbtamper-")
        try:
            rng = random.Random(cls.seed)
            cls.src = os.path.join(cls.ctmp, "src")
            lbtest.make_random_tree(cls.src, rng, n_small=40, small_max=8192, large_sizes=(3 * MiB,), dirs=4)
            cls.repo = lbtest.new_repo_at(os.path.join(cls.ctmp, "repo"), os.path.join(cls.ctmp, "cache"))
            cls.repo.backup(cls.src)
            lbtest.write_file(os.path.join(cls.src, "added-later.txt"), b"in the second snapshot only\n" * 100)
            cls.repo.backup(cls.src)
            cls.source = lbtest.scan_tree(cls.src)
            cls.sizes = sizes(cls.repo)
            cls.kinds = cls.classify(cls.repo, cls.sizes)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "repo", None):
            cls.repo.remove()
        lbtest.rmtree_force(cls.ctmp)

    @staticmethod
    def classify(repo, sizes):
        """Repository files by kind. Tree packs are told from data packs by
        size: the trees of this small source fit in a few KiB."""
        packs = repo.files("data")
        return {
            "data pack": [p for p in packs if sizes[p] > 64 * 1024],
            "tree pack": [p for p in packs if sizes[p] <= 64 * 1024],
            "index": repo.files("index"),
            "snapshot": repo.files("snapshots"),
            "config": ["config"],
            "key": repo.files("keys"),
        }

    def test_00_repository_has_every_kind(self):
        for kind, files in self.kinds.items():
            self.assertTrue(files, "no %s in %s" % (kind, self.kinds))
        self.repo.check("--read-data")

    def fresh_copy(self, name):
        dst = lbtest.Repo(self.new_location(name), self.path(name + "-cache"))
        self.repo.store.copy_to(dst.store)
        return dst

    @staticmethod
    def flip(repo, name, pos, rng):
        data = bytearray(repo.store.read(name))
        data[pos] ^= rng.randrange(1, 256)
        repo.store.write(name, bytes(data))

    def assert_restore_not_silently_wrong(self, repo, label):
        target = self.path("restore-" + label)
        r = repo.run("restore", "latest", "--target", target)
        root = lbtest.restored_root(target, self.src)
        if r.rc == 0:
            restored = lbtest.scan_tree(root) if os.path.isdir(root) else {}
            self.assertTreesEqual(self.source, restored, only={"type", "size", "sha256"})
        else:
            # Not silent: the failure is reported.  (Whether a file that
            # failed is left behind is checked in test_damaged_blob_names_pack_and_file.)
            self.assertTrue(r.error_lines(), "a failed restore says why\n" + r.describe())
        shutil.rmtree(target, ignore_errors=True)

    def tamper_kind(self, kind):
        rng = random.Random("%d %s" % (self.seed, kind))
        files = self.kinds[kind]
        for i in range(POSITIONS[kind]):
            rel = rng.choice(files)
            size = self.sizes[rel]
            # The first and last bytes (version, tag, length trailer) and random ones between.
            pos = (0, size - 1)[i] if i < 2 else rng.randrange(size)
            label = "%s-%d" % (kind.replace(" ", "-"), i)
            with self.subTest(kind=kind, file=rel, pos=pos, seed=self.seed):
                repo = self.fresh_copy(label)
                self.flip(repo, rel, pos, rng)
                r = repo.run("check", "--read-data")
                if kind == "key":
                    # The only key no longer opens the repository.
                    self.assertRc(r, (1, 12), "after flipping byte %d of %s" % (pos, rel))
                else:
                    self.assertRc(r, 1, "after flipping byte %d of %s" % (pos, rel))
                self.assertTrue(r.error_lines(), r.describe())
                self.assert_restore_not_silently_wrong(repo, label)
                repo.remove()
                lbtest.rmtree_force(repo.cache_dir)

    def test_data_pack(self):
        self.tamper_kind("data pack")

    def test_tree_pack(self):
        self.tamper_kind("tree pack")

    def test_index(self):
        self.tamper_kind("index")

    def test_snapshot(self):
        self.tamper_kind("snapshot")

    def test_config(self):
        self.tamper_kind("config")

    def test_key(self):
        self.tamper_kind("key")

    def test_key_file_whitespace(self):
        """docs/FORMAT.md: the key file is compact JSON, so any changed byte
        breaks the JSON or an authenticated field.  A changed whitespace byte
        must not leave a key file that check accepts."""
        repo = self.fresh_copy("key-ws")
        key = self.kinds["key"][0]
        data = repo.store.read(key)
        outside = []  # whitespace bytes outside JSON strings
        in_string = escaped = False
        for i, c in enumerate(data):
            if in_string:
                if escaped:
                    escaped = False
                elif c == 0x5c:
                    escaped = True
                elif c == 0x22:
                    in_string = False
            elif c == 0x22:
                in_string = True
            elif c in b" \n\t\r":
                outside.append(i)
        if not outside:
            return  # compact, as documented: nothing to change
        pos = outside[len(outside) // 2]
        data = data[:pos] + (b"\t" if data[pos] != 0x09 else b" ") + data[pos + 1:]
        repo.store.write(key, data)
        r = repo.run("check")
        self.assertRc(r, (1, 12), "after changing whitespace byte %d of the key file (%d such bytes)"
                      % (pos, len(outside)))

    def test_truncated_and_missing_pack(self):
        """Not a flipped byte but a lost one: a truncated pack and a deleted pack."""
        for how in ("truncate", "delete"):
            with self.subTest(how=how):
                repo = self.fresh_copy(how)
                rel = max(self.kinds["data pack"], key=self.sizes.get)
                if how == "truncate":
                    repo.store.write(rel, repo.store.read(rel)[:-1])
                else:
                    repo.store.delete(rel)
                r = repo.run("check", "--read-data")
                self.assertRc(r, 1)
                self.assertIn(os.path.basename(rel)[:8], r.out + r.err)
                self.assert_restore_not_silently_wrong(repo, how)

    def test_damaged_blob_names_pack_and_file(self):
        """A flipped byte inside a file's data names its pack and the file (in every snapshot)."""
        src = self.path("one-file")
        os.makedirs(src)
        big = os.path.join(src, "large.bin")
        lbtest.write_file(big, random.Random(self.seed).randbytes(3 * MiB))
        lbtest.write_file(os.path.join(src, "small.txt"), b"small and intact\n")
        repo = self.new_repo()
        repo.backup(src)
        lbtest.write_file(os.path.join(src, "later.txt"), b"second snapshot\n")
        repo.backup(src)
        # Only large.bin has data bigger than a few bytes: the largest pack
        # holds its blobs from offset 0.
        rel = max(repo.files("data"), key=sizes(repo).get)
        pack_id = os.path.basename(rel)
        self.flip(repo, rel, 1000, random.Random(self.seed))
        r = repo.run("check", "--read-data")
        self.assertRc(r, 1)
        self.assertIn(big, r.err, r.describe())
        self.assertRegex(r.err, r"damaged blob [0-9a-f]{8} in pack %s" % pack_id[:8])
        r = repo.run("--json", "check", "--read-data")
        self.assertRc(r, 1)
        j = r.last_json()
        self.assertFalse(j["ok"])
        self.assertEqual(len(j["damaged"]), 1, j)
        d = j["damaged"][0]
        self.assertEqual(d["pack"], pack_id)
        self.assertEqual(sum(1 for a in d["affected"] if big in a), 2, "both snapshots hold the file: %s" % d)
        # Restoring fails and names the file; the damaged file is not left
        # behind with wrong content; the intact files restore.
        target = self.path("named-restore")
        r = repo.run("restore", "latest", "--target", target)
        self.assertRc(r, 1)
        self.assertIn(big, r.err)
        root = lbtest.restored_root(target, src)
        bad = os.path.join(root, b"large.bin")
        if os.path.exists(bad):
            self.assertEqual(lbtest.file_sha256(bad), lbtest.file_sha256(big),
                             "restore exited 1 but left %s in place, full size, with wrong content" % bad.decode())
        for name in (b"small.txt", b"later.txt"):
            self.assertEqual(lbtest.file_sha256(os.path.join(root, name)),
                             lbtest.file_sha256(os.path.join(os.fsencode(src), name)))

if __name__ == "__main__":
    unittest.main()
