"""Data packs in an archive storage class (S3 GLACIER), and virtual-hosted
addressing, end to end.

Ceph's RGW has no archive class to thaw from, so this suite runs against
moto's S3 server (../shared/services/moto-s3.sh), which keeps GLACIER
objects unreadable (InvalidObjectState) until a RestoreObject request: enough
to prove which requests lifeboat sends and that restore works out, thaws and
waits for only the packs it needs while listing, planning and `ls` never
wait.  moto restores at once, so the waiting itself is tested in
src/ops/thaw_test.cc.  moto also answers virtual-hosted requests
(BUCKET.localhost:PORT, which curl resolves to 127.0.0.1 itself), which
Ceph's RGW does without a DNS name configured.  Skipped when moto_server is
not installed."""

import os
import shutil
import socket
import subprocess
import tempfile
import unittest
import uuid

import lbtest

SERVICES = os.environ.get("LIFEBOAT_SERVICES") or os.path.join(os.path.dirname(lbtest.ROOT), "shared", "services")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MOTO = unittest.skipUnless(shutil.which("moto_server") and os.path.exists(os.path.join(SERVICES, "moto-s3.sh")),
                           "moto_server or %s/moto-s3.sh is not available" % SERVICES)


class MotoCase(lbtest.LBTestCase):
    """A moto S3 server of its own for the test class."""

    @classmethod
    def setUpClass(cls):
        cls.moto_dir = tempfile.mkdtemp(prefix="lbtest-moto-")
        cls.port = free_port()
        env = dict(os.environ, PORT=str(cls.port))
        subprocess.run(["bash", os.path.join(SERVICES, "moto-s3.sh"), "start", cls.moto_dir], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    @classmethod
    def tearDownClass(cls):
        subprocess.run(["bash", os.path.join(SERVICES, "moto-s3.sh"), "stop", cls.moto_dir],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        shutil.rmtree(cls.moto_dir, ignore_errors=True)

    def moto_env(self, **extra):
        env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        env.update(extra)
        return env


@MOTO
class VirtualHostedAddressing(MotoCase):
    def test_backup_and_restore_through_bucket_host_names(self):
        src = self.path("src")
        os.makedirs(src)
        lbtest.write_file(os.path.join(src, "f.bin"), os.urandom(300_000))
        location = "s3:http://localhost:%d/vhost-%s/repo" % (self.port, uuid.uuid4().hex[:10])
        repo = lbtest.Repo(location, self.path("cache"))
        repo.env = lambda **extra: lbtest.base_env(LIFEBOAT_PASSWORD=repo.password, **self.moto_env(
            LIFEBOAT_S3_ADDRESSING="virtual", LIFEBOAT_HTTP_DEBUG=1, **extra))
        r = repo.run("init")
        self.assertRc(r, 0)
        self.assertIn(location, r.out, "the location keeps its endpoint")
        repo.backup(src)
        r = repo.run("restore", "latest", "--target", self.path("t"))
        self.assertRc(r, 0)
        self.assertTreesEqual(lbtest.scan_tree(src), lbtest.scan_tree(lbtest.restored_root(self.path("t"), src)),
                              ignore_root=True)
        # Every request named the bucket in the host, none in the path.
        hosts = [l for l in r.err.splitlines() if l.lower().startswith("host:")]
        self.assertTrue(hosts, r.err[:2000])
        bucket = location.split("/")[3]
        self.assertTrue(all(h.split(":", 1)[1].strip().startswith(bucket + ".localhost") for h in hosts), hosts[:3])
        self.assertNotIn("GET /%s/" % bucket, r.err)


@MOTO
class ColdStorage(MotoCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        os.makedirs(os.path.join(self.src, "docs"))
        os.makedirs(os.path.join(self.src, "media"))
        lbtest.write_file(os.path.join(self.src, "docs", "note.txt"), b"a note\n" * 100)
        for i in range(3):
            lbtest.write_file(os.path.join(self.src, "media", "clip%d.bin" % i), os.urandom(3 * lbtest.MiB))
        self.s3_env = self.moto_env(LIFEBOAT_S3_STORAGE_CLASS_DATA="GLACIER", LIFEBOAT_THAW_POLL_SECONDS="1")
        self.repo = lbtest.Repo("s3:http://127.0.0.1:%d/cold-%s/repo" % (self.port, uuid.uuid4().hex[:10]),
                                self.path("cache"))
        self.repo.env = lambda **extra: lbtest.base_env(LIFEBOAT_PASSWORD=self.repo.password,
                                                       **dict(self.s3_env, **extra))
        self.repo.init()
        # docs first, so its data sits in a pack of its own; then everything
        # (media goes to other packs, docs is deduplicated).
        self.repo.backup(os.path.join(self.src, "docs"))
        self.repo.backup(self.src)

    def test_restore_thaws_only_what_it_needs(self):
        # Listing and planning read only hot objects: snapshots, ls and a
        # structural check work while every data pack is archived.
        self.assertEqual(len(self.repo.snapshots()), 2)
        r = self.repo.run("ls", "latest")
        self.assertRc(r, 0)
        self.assertIn("note.txt", r.out)
        self.repo.check()

        target = self.path("docs-only")
        r = self.repo.run("restore", "latest", "--target", target, "--include", "docs")
        self.assertRc(r, 13)
        self.assertOneLineError(r, "being thawed", "--thaw-wait")
        self.assertFalse(os.path.exists(target), "nothing is written before the packs are readable")
        self.assertIn("archived packs", r.out)

        r = self.repo.run("--json", "restore", "latest", "--target", target, "--include", "docs", "--thaw-wait", "2m")
        self.assertRc(r, 0)
        thaw = [j for j in r.json_lines() if j.get("message_type") == "thaw"]
        self.assertTrue(thaw, r.out)
        self.assertEqual(thaw[-1]["packs_ready"], thaw[-1]["packs_archived"])
        needed = thaw[-1]["packs_archived"]
        self.assertEqual(needed, 1, "docs/note.txt is one blob in one pack")
        with open(os.path.join(target + self.src, "docs", "note.txt"), "rb") as f:
            self.assertEqual(f.read(), b"a note\n" * 100)
        self.assertFalse(os.path.exists(os.path.join(target + self.src, "media")), "--include docs only")

        # The media packs are still archived: a whole restore needs them too.
        whole = self.path("whole")
        r = self.repo.run("--json", "restore", "latest", "--target", whole, "--thaw-wait", "2m")
        self.assertRc(r, 0)
        thaw = [j for j in r.json_lines() if j.get("message_type") == "thaw"]
        self.assertGreater(thaw[-1]["packs_archived"], needed, "a whole restore needs more packs than one file")
        self.assertTreesEqual(lbtest.scan_tree(self.src), lbtest.scan_tree(lbtest.restored_root(whole, self.src)),
                              ignore_root=True)

    def test_reading_an_archived_pack_elsewhere_is_one_clear_line(self):
        r = self.repo.run("check", "--read-data")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("archive storage class", r.out + r.err)

    def test_bad_settings_are_one_clear_line(self):
        r = self.repo.run("snapshots", env=self.repo.env(LIFEBOAT_S3_THAW_TIER="Fast"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "LIFEBOAT_S3_THAW_TIER", "Standard, Bulk, Expedited")
        r = self.repo.run("restore", "latest", "--target", self.path("t"), "--thaw-wait", "soon")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "--thaw-wait", "12h")


if __name__ == "__main__":
    unittest.main()
