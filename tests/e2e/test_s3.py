"""A repository in S3 (Ceph's RADOS Gateway on 127.0.0.1, started by
scripts/test.sh, named by LIFEBOAT_TEST_S3): the main jobs end to end, and
the errors an S3 user meets, each one clear line."""

import os
import unittest
import uuid

import lbtest

S3 = os.environ.get("LIFEBOAT_TEST_S3", "")


@unittest.skipUnless(S3, "LIFEBOAT_TEST_S3 is not set (scripts/test.sh starts a RADOS Gateway and sets it)")
class S3Repository(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        os.makedirs(os.path.join(self.src, "sub"))
        lbtest.write_file(os.path.join(self.src, "a.txt"), b"hello s3\n" * 1000)
        lbtest.write_file(os.path.join(self.src, "sub", "big.bin"), os.urandom(3 * 1024 * 1024))
        lbtest.write_file(os.path.join(self.src, "empty"), b"")
        self.location = "%s/e2e-%s" % (S3, uuid.uuid4().hex[:12])
        self.repo = lbtest.Repo(self.location, self.path("cache"))
        self.repo.init()

    def test_backup_restore_check_forget_prune(self):
        _, first = self.repo.backup(self.src)
        self.assertGreater(first["data_added"], 3 * 1024 * 1024 * 0.9)
        _, again = self.repo.backup(self.src)
        self.assertLess(again["data_added"], 4096, "only the changed root tree: dedup through S3")
        lbtest.write_file(os.path.join(self.src, "new.bin"), os.urandom(200_000))
        self.repo.backup(self.src)
        self.assertEqual(len(self.repo.snapshots()), 3)
        self.repo.check("--read-data")
        target = self.path("restored")
        self.repo.restore("latest", target)
        self.assertTreesEqual(lbtest.scan_tree(self.src),
                              lbtest.scan_tree(lbtest.restored_root(target, self.src)), ignore_root=True)
        r = self.repo.run("forget", "--keep-last", "1", "--prune", "--max-unused", "0%")
        self.assertRc(r, 0)
        self.assertEqual(len(self.repo.snapshots()), 1)
        self.repo.check("--read-data")
        self.assertRc(self.repo.run("log", "--verify"), 0)

    def test_copy_between_local_and_s3(self):
        self.repo.backup(self.src)
        local = self.new_repo("local")
        r = local.run("copy", "--from-repo", self.location, env=local.env(LIFEBOAT_FROM_PASSWORD=self.repo.password))
        self.assertRc(r, 0)
        local.check("--read-data")
        target = self.path("from-local")
        local.restore("latest", target)
        self.assertTreesEqual(lbtest.scan_tree(self.src),
                              lbtest.scan_tree(lbtest.restored_root(target, self.src)), ignore_root=True)

    def test_errors_are_one_clear_line(self):
        r = self.repo.run("snapshots", env=self.repo.env(AWS_SECRET_ACCESS_KEY="wrong-secret"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "AWS_SECRET_ACCESS_KEY")
        r = self.repo.run("snapshots", env=self.repo.env(AWS_ACCESS_KEY_ID="NOSUCHKEY"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "AWS_ACCESS_KEY_ID")
        r = self.repo.run("snapshots", env=self.repo.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                                                          AWS_SHARED_CREDENTIALS_FILE=self.path("none"),
                                                          AWS_PROFILE=None))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "no S3 credentials")
        empty = lbtest.Repo(self.location + "-nothing-here", self.path("c2"))
        r = empty.run("snapshots")
        self.assertRc(r, 10)
        self.assertOneLineError(r, "no repository")
        r = self.repo.run("init")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "already exists")
        bad = lbtest.Repo("s3:http://127.0.0.1:7480", self.path("c3"))
        r = bad.run("snapshots")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "invalid S3 location")

    def test_lock_days_become_object_lock_on_a_new_bucket(self):
        endpoint = S3.rsplit("/", 1)[0]
        locked = lbtest.Repo("%s/lock-%s/repo" % (endpoint, uuid.uuid4().hex[:12]), self.path("c-lock"))
        r = locked.run("init", "--lock-days", "3")
        self.assertRc(r, 0)
        r = locked.run("--json", "config")
        self.assertRc(r, 0)
        config = r.last_json()
        self.assertEqual(config["lock_days"], 3)
        self.assertTrue(config["store_enforces_lock"], "init made the bucket with Object Lock")
        self.assertIn("also enforced by the store", locked.run("config").out)
        _, summary = locked.backup(self.src)
        r = locked.run("forget", summary["snapshot_id"])
        self.assertRc(r, 1)
        self.assertOneLineError(r, "lock")
        locked.check("--read-data")
        # The repository in a bucket without Object Lock keeps the lock its own.
        r = self.repo.run("config", "--lock-days", "2")
        self.assertRc(r, 0)
        self.assertFalse(self.repo.run("--json", "config").last_json()["store_enforces_lock"])


if __name__ == "__main__":
    unittest.main()
