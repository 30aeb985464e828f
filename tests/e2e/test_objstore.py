"""The object stores the end-to-end tests inspect repositories with
(objstore.py): the local file system, the S3 client against the RADOS
Gateway (LIFEBOAT_TEST_S3) and the Azure client against Azurite
(AZURE_STORAGE_*), each on 127.0.0.1 and under a prefix of its own."""

import os
import unittest
import uuid

import lbtest
import objstore

S3 = os.environ.get("LIFEBOAT_TEST_S3", "")
AZURE_VARS = ("AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_BLOB_ENDPOINT")
AZURE = all(os.environ.get(v) for v in AZURE_VARS)


class StoreContract:
    """The same checks for every store; a subclass sets `self.store` (empty)."""

    def test_write_read_list_delete(self):
        s = self.store
        self.assertEqual(s.list(""), [])
        objs = {"config": b"c" * 10, "keys/k1": b"key", "data/ab/ab01": os.urandom(70_000), "data/ab/ab02": b"",
                "data/cd/cd01": b"x" * 3, "snapshots/s1": b"snap"}
        for n, d in objs.items():
            s.write(n, d)
        self.assertEqual(s.names(""), sorted(objs))
        self.assertEqual({o.name: o.size for o in s.list("")}, {n: len(d) for n, d in objs.items()})
        self.assertEqual(s.names("data/"), ["data/ab/ab01", "data/ab/ab02", "data/cd/cd01"])
        self.assertEqual(s.names("data/ab/"), ["data/ab/ab01", "data/ab/ab02"])
        self.assertEqual(s.names("data/ab/ab0"), ["data/ab/ab01", "data/ab/ab02"])
        self.assertEqual(s.names("locks/"), [])
        self.assertEqual(s.size("data/ab/ab01"), 70_000)
        for n, d in objs.items():
            self.assertEqual(s.read(n), d, n)
        with self.assertRaises(FileNotFoundError):
            s.read("data/ab/none")
        before = s.state()
        self.assertEqual(s.state(), before, "listing twice changes nothing")
        s.delete("data/cd/cd01")
        self.assertNotIn("data/cd/cd01", s.names(""))
        self.assertNotEqual(s.state(), before)
        s.delete_all()
        self.assertEqual(s.list(""), [])

    def test_rewrite_changes_the_stamp(self):
        s = self.store
        s.write("snapshots/a", b"one")
        before = s.state()
        s.write("snapshots/a", b"two")  # same size, other content
        self.assertNotEqual(s.state(), before)
        self.assertEqual(s.read("snapshots/a"), b"two")

    def test_copy_to(self):
        self.store.write("index/i1", b"index bytes")
        self.store.write("config", b"cfg")
        other = self.other_store()
        self.store.copy_to(other)
        self.assertEqual({o.name: o.size for o in other.list("")}, {"index/i1": 11, "config": 3})
        self.assertEqual(other.read("index/i1"), b"index bytes")


class LocalStore(StoreContract, lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.store = objstore.LocalStore(self.path("repo"))

    def other_store(self):
        return objstore.LocalStore(self.path("other"))

    def test_state_sees_directories(self):
        before = self.store.state()
        os.makedirs(self.path("repo", "locks"))
        self.assertNotEqual(self.store.state(), before)


@unittest.skipUnless(S3, "LIFEBOAT_TEST_S3 is not set (scripts/test.sh starts a RADOS Gateway and sets it)")
class S3Store(StoreContract, lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.store = self.make("objstore-%s" % uuid.uuid4().hex[:12])
        # The suites share one bucket; whichever runs first makes it.
        self.store.client.create_bucket(self.store.bucket)

    def make(self, prefix):
        s = objstore.S3Store("%s/%s" % (S3, prefix))
        self.addCleanup(s.delete_all)
        return s

    def other_store(self):
        return self.make("objstore-%s" % uuid.uuid4().hex[:12])

    def test_listing_pages(self):
        names = ["p/%03d" % i for i in range(7)]
        for n in names:
            self.store.write(n, n.encode())
        got = self.store.client.list_objects(self.store.bucket, self.store.prefix + "p/", page_size=2)
        self.assertEqual([k for k, _, _, _ in got], [self.store.prefix + n for n in names])

    def test_missing_bucket_lists_nothing(self):
        endpoint, _, _ = objstore.parse_s3_location(S3, os.environ.get("S3_ENDPOINT"))
        s = objstore.S3Store("s3:%s/no-such-bucket-%s/x" % (endpoint, uuid.uuid4().hex[:8]))
        self.assertEqual(s.list(""), [])

    def test_wrong_secret_is_refused(self):
        env = dict(os.environ, AWS_SECRET_ACCESS_KEY="wrong")
        s = objstore.S3Store(self.store.location, env)
        with self.assertRaises(objstore.StoreError) as cm:
            s.list("")
        self.assertEqual(cm.exception.status, 403)


@unittest.skipUnless(AZURE, "%s are not set (scripts/test.sh starts Azurite and sets them)" % ", ".join(AZURE_VARS))
class AzureStore(StoreContract, lbtest.LBTestCase):
    """Against the emulator directly: a container of its own per test."""

    def setUp(self):
        super().setUp()
        self.container = "objstore-%s" % uuid.uuid4().hex[:12]
        self.store = objstore.AzureStore("azure:%s/some/prefix" % self.container)
        self.store.client.create_container(self.container)
        self.addCleanup(self.store.client.delete_container, self.container)

    def other_store(self):
        return objstore.AzureStore("azure:%s/other" % self.container)

    def test_listing_pages(self):
        names = ["p/%03d" % i for i in range(7)]
        for n in names:
            self.store.write(n, n.encode())
        got = self.store.client.list_blobs(self.container, self.store.prefix + "p/", page_size=2)
        self.assertEqual([k for k, _, _, _ in got], [self.store.prefix + n for n in names])

    def test_prefix_isolates(self):
        self.store.write("config", b"mine")
        other = self.other_store()
        other.write("config", b"theirs")
        self.assertEqual(self.store.names(""), ["config"])
        self.assertEqual(self.store.read("config"), b"mine")

    def test_missing_container_lists_nothing(self):
        s = objstore.AzureStore("azure:no-such-container-%s/x" % uuid.uuid4().hex[:8])
        self.assertEqual(s.list(""), [])

    def test_wrong_key_is_refused(self):
        env = dict(os.environ, AZURE_STORAGE_KEY="d3Jvbmcga2V5")
        s = objstore.AzureStore(self.store.location, env)
        with self.assertRaises(objstore.StoreError) as cm:
            s.list("")
        self.assertEqual(cm.exception.status, 403)


if __name__ == "__main__":
    unittest.main()
