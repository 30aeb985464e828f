"""lifeboat key list | add | passwd | remove: several passwords for one
repository, refusals that keep it openable, and data that stays readable.
"""

import os
import unittest

import lbtest


class KeysBase(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        os.makedirs(self.src)
        lbtest.write_file(os.path.join(self.src, "f.txt"), b"keys test\n")
        self.repo = self.new_repo()
        self.repo.backup(self.src)

    def pwfile(self, name, password):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(password + "\n")
        os.chmod(p, 0o600)
        return p

    def as_password(self, password):
        return lbtest.Repo(self.repo.path, self.repo.cache_dir, password)

    def keys(self, repo=None):
        r = (repo or self.repo).run("--json", "key", "list")
        self.assertRc(r, 0)
        return r.last_json()


class Keys(KeysBase):
    def test_add_passwd_remove(self):
        [first] = self.keys()
        self.assertTrue(first["current"])
        self.assertEqual(first["kdf"]["n"], 65536)
        r = self.repo.run("--json", "key", "add", "--new-password-file", self.pwfile("pw2", "second secret"),
                          "--host", "laptop")
        self.assertRc(r, 0)
        added = r.last_json()["id"]
        keys = self.keys()
        self.assertEqual([k["id"] for k in keys], [first["id"], added])
        self.assertEqual(keys[1]["hostname"], "laptop")
        self.assertFalse(keys[1]["current"])
        second = self.as_password("second secret")
        self.assertEqual([k["current"] for k in self.keys(second)], [False, True])
        # The key in use cannot be removed; the other one can.
        r = self.repo.run("key", "remove", first["id"][:8])
        self.assertRc(r, 1)
        self.assertOneLineError(r, "refusing to remove key", first["id"][:8])
        r = second.run("key", "remove", first["id"][:8])
        self.assertRc(r, 0)
        self.assertIn("removed key " + first["id"][:8], r.out)
        r = self.repo.run("snapshots")
        self.assertRc(r, 12)
        # passwd with the only key left: the new password works, the old one not.
        r = second.run("key", "passwd", env=second.env(LIFEBOAT_NEW_PASSWORD="third secret"))
        self.assertRc(r, 0)
        self.assertRegex(r.out, r"changed the password: new key [0-9a-f]{8}, removed key " + added[:8])
        self.assertRc(second.run("snapshots"), 12)
        third = self.as_password("third secret")
        self.assertEqual(len(self.keys(third)), 1)
        third.check("--read-data")
        third.restore("latest", self.path("t"))
        with open(os.path.join(lbtest.restored_root(self.path("t"), self.src), b"f.txt"), "rb") as f:
            self.assertEqual(f.read(), b"keys test\n")

    def test_refusals_and_usage(self):
        [only] = self.keys()
        r = self.repo.run("key", "remove", only["id"])
        self.assertRc(r, 1)
        self.assertOneLineError(r, "refusing")
        for args, needle in ((["key"], "needs one of: list, add, passwd, rotate, remove"),
                             (["key", "remove"], "id"),
                             (["key", "remove", "zz"], "invalid key id"),
                             (["key", "remove", "0000000"], "no key matches"),
                             (["key", "add"], "no new password")):
            r = self.repo.run(*args)
            self.assertRc(r, 1, str(args))
            self.assertOneLineError(r, needle)
        self.assertEqual(len(self.keys()), 1, "nothing was added or removed")
        empty = self.pwfile("empty", "")
        r = self.repo.run("key", "add", "--new-password-file", empty)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "empty password")
        r = self.repo.run("key", "list", env=lbtest.base_env(LIFEBOAT_PASSWORD="wrong"))
        self.assertRc(r, (10, 12))
        for sub in ("list", "add", "passwd", "remove"):
            r = self.repo.run("key", sub, "--help")
            self.assertRc(r, 0)
            self.assertIn("Usage", r.out)


class Rotate(KeysBase):
    def test_rotate_then_everything_reads_and_new_data_uses_the_new_key(self):
        r = self.repo.run("key", "add", "--new-password-file", self.pwfile("pw2", "second"))
        self.assertRc(r, 0)
        r = self.repo.run("--json", "config")
        self.assertRc(r, 0)
        [epoch1] = r.last_json()["data_keys"]
        self.assertEqual(epoch1["epoch"], 1)
        self.assertTrue(epoch1["current"])
        packs_before = set(self.repo.files("data"))
        r = self.repo.run("--json", "key", "rotate")
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["epoch"], 2)
        self.assertEqual(self.repo.files("keyring"), ["keyring/0000000002"])
        r = self.repo.run("--json", "config")
        epochs = r.last_json()["data_keys"]
        self.assertEqual([e["epoch"] for e in epochs], [1, 2])
        self.assertEqual([e["current"] for e in epochs], [False, True])
        r = self.repo.run("config")
        self.assertIn("data key: epoch 2", r.out)
        lbtest.write_file(os.path.join(self.src, "g.txt"), b"after the rotation\n" * 1000)
        self.repo.backup(self.src)
        for name in set(self.repo.files("data")) - packs_before:
            with open(os.path.join(self.repo.path, name), "rb") as f:
                head = f.read(5)
            self.assertEqual(int.from_bytes(head[1:5], "little"), 2, name)
        self.repo.check("--read-data")
        for snap in self.repo.snapshots():
            self.repo.restore(snap["id"], self.path("t-" + snap["id"][:8]))
        # A key added before the rotation opens the new epoch too.
        self.as_password("second").check("--read-data")
        log = self.repo.run("--json", "log")
        self.assertIn("key rotate", [rec["operation"] for rec in log.last_json()])

    def test_reencrypt_retires_the_old_keys(self):
        r = self.repo.run("key", "add", "--new-password-file", self.pwfile("pw2", "second"))
        self.assertRc(r, 0)
        packs_before = set(self.repo.files("data"))
        listing = self.repo.listing()
        r = self.repo.run("key", "rotate", "--reencrypt")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "--remove-other-keys")
        self.assertEqual(self.repo.listing(), listing, "refused before any change")
        r = self.repo.run("key", "rotate", "--remove-other-keys")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "--reencrypt")
        r = self.repo.run("--json", "key", "rotate", "--reencrypt", "--remove-other-keys")
        self.assertRc(r, 0)
        j = r.last_json()
        self.assertTrue(j["reencrypted"])
        self.assertEqual(len(j["removed_keys"]), 1)
        self.assertFalse(packs_before & set(self.repo.files("data")), "every pack was rewritten")
        for name in self.repo.files("data") + self.repo.files("index") + self.repo.files("snapshots"):
            with open(os.path.join(self.repo.path, name), "rb") as f:
                self.assertEqual(int.from_bytes(f.read(5)[1:5], "little"), j["epoch"], name)
        [key] = self.keys()
        self.assertTrue(key["current"])
        self.assertRc(self.as_password("second").run("snapshots"), 12)
        self.repo.check("--read-data")
        self.assertRc(self.repo.run("log", "--verify"), 0)
        self.repo.restore("latest", self.path("t"))
        self.assertEqual(open(os.path.join(lbtest.restored_root(self.path("t"), self.src), b"f.txt"), "rb").read(),
                         b"keys test\n")


class WriteOnly(KeysBase):
    """A backup host with a write-only key backs up (deduplicating) and can
    neither read nor remove anything; a full key restores what it wrote."""

    def setUp(self):
        super().setUp()
        r = self.repo.run("--json", "key", "add", "--write-only", "--host", "backup-host",
                          "--new-password-file", self.pwfile("wo", "write only"))
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["kind"], "write-only")
        self.wo_id = r.last_json()["id"]
        self.host = self.as_password("write only")

    def test_backup_dedups_and_only_the_full_key_reads_it(self):
        kinds = {k["id"]: k["kind"] for k in self.keys()}
        self.assertEqual(kinds[self.wo_id], "write-only")
        self.assertEqual(sorted(kinds.values()), ["full", "write-only"])
        r = self.repo.run("key", "list")
        self.assertIn("write-only", r.out)
        lbtest.write_file(os.path.join(self.src, "big.bin"), os.urandom(300_000))
        r = self.host.run("--json", "backup", "--no-cache", self.src)
        self.assertRc(r, 0)
        summary = r.last_json()
        self.assertGreater(summary["data_added"], 0)
        # The same data from another path: nothing new is stored.
        r = self.host.run("--json", "backup", "--no-cache", self.src)
        self.assertRc(r, 0)
        # No new data blob; a tree may differ when a directory's times moved
        # between the runs (the host has no parent snapshot to compare with).
        self.assertEqual(r.last_json()["data_blobs"], 0, "dedup against what is stored")
        snap = r.last_json()["snapshot_id"]
        # What the host wrote is sealed for the recovery key: it cannot read it back.
        for name in self.repo.files("snapshots"):
            with open(os.path.join(self.repo.path, name), "rb") as f:
                epoch = int.from_bytes(f.read(5)[1:5], "little")
            if name.endswith(snap):
                self.assertEqual(epoch, 0xFFFFFFFF)
        restored = self.path("restored")
        for args in (["snapshots"], ["ls", "latest"], ["restore", "latest", "--target", restored],
                     ["forget", "--keep-last", "1"], ["prune"], ["check"], ["stats"], ["diff", snap, snap],
                     ["find", "f.txt"], ["key", "add", "--new-password-file", self.pwfile("x", "x")],
                     ["key", "remove", self.wo_id[:8]], ["key", "rotate"], ["unlock"], ["config"],
                     ["repair", "index"]):
            r = self.host.run(*args)
            self.assertRc(r, 1, str(args))
            self.assertOneLineError(r, "write-only key", "needs a full key")
        self.assertFalse(os.path.exists(restored))
        self.assertEqual(len(self.repo.snapshots()), 3, "nothing was forgotten")
        self.assertEqual(self.repo.files("locks"), [], "refusals leave no lock")
        # The full key reads everything the host wrote.
        self.repo.check("--read-data")
        self.repo.restore(snap, restored)
        self.assertTreesEqual(lbtest.scan_tree(self.src), lbtest.scan_tree(lbtest.restored_root(restored, self.src)),
                              ignore_root=True)
        r = self.repo.run("--json", "log", "--verify")
        self.assertRc(r, 0)
        # The audit log is readable to the host too (documented).
        self.assertRc(self.host.run("log"), 0)

    def test_reencrypt_retires_write_only_keys(self):
        self.assertRc(self.host.run("backup", self.src), 0)
        r = self.repo.run("key", "rotate", "--reencrypt")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "--remove-other-keys")
        r = self.repo.run("key", "rotate", "--reencrypt", "--remove-other-keys")
        self.assertRc(r, 0)
        self.assertRc(self.host.run("backup", self.src), 12)
        self.assertEqual(self.repo.files("keyring"), [])
        self.repo.check("--read-data")
        self.assertEqual(len(self.repo.snapshots()), 2)

    def test_the_last_full_key_stays(self):
        [full] = [k for k in self.keys() if k["kind"] == "full"]
        r = self.repo.run("key", "passwd", env=self.repo.env(LIFEBOAT_NEW_PASSWORD="new full"))
        self.assertRc(r, 0)
        newer = self.as_password("new full")
        [full] = [k for k in self.keys(newer) if k["kind"] == "full"]
        r = newer.run("key", "remove", full["id"][:8])
        self.assertRc(r, 1)
        self.assertOneLineError(r, "refusing")
        self.assertRc(newer.run("key", "remove", self.wo_id[:8]), 0)
        self.assertRc(self.host.run("backup", self.src), 12)


if __name__ == "__main__":
    unittest.main()
