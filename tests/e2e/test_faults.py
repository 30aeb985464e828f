"""Object storage through a faulty network: lifeboat against the RADOS Gateway
(LIFEBOAT_TEST_S3) through faultproxy.py, a proxy on 127.0.0.1 that drops and
resets connections, answers 500/503, truncates, delays and corrupts
responses and cuts or corrupts uploads.

- Backup, a second backup, check --read-data, restore and forget --prune all
  succeed through a mix of faults, and make a repository identical in content
  to one made from the same source without the proxy (a repository made with
  `init --from-repo`, so the blob ids are comparable).
- A corrupted or truncated response is detected: it is retried, or the
  command fails with a clear error; a wrong byte is never restored, and a
  damaged upload is never stored.

The proxy's decisions come from a seed, printed with each test and in every
failure message; LIFEBOAT_TEST_SEED=N replays it.
"""

import collections
import os
import random
import sys
import time
import unittest
import urllib.parse
import uuid

import faultproxy
import lbtest

S3 = os.environ.get("LIFEBOAT_TEST_S3", "")

# Per request, of the kinds each applies to: 20% of the GETs are faulted, 25%
# of the uploads, 15% of the rest; the same request at most 3 times in a row
# (lifeboat tries 8 times).
MIX = {"drop": 0.03, "reset": 0.03, "error": 0.05, "truncate": 0.05, "delay": 0.04, "cut_upload": 0.10}


def split_s3(location):
    """"s3:http://HOST:PORT/BUCKET[/PREFIX]" -> ("http://HOST:PORT", "BUCKET[/PREFIX]")."""
    assert location.startswith("s3:http://"), location
    u = urllib.parse.urlsplit(location[3:])
    return "%s://%s" % (u.scheme, u.netloc), u.path.strip("/")


def data_get(method, path):
    """A read of a pack: what restore and check --read-data fetch."""
    return method == "GET" and "/data/" in path


def data_put(method, path):
    return method == "PUT" and "/data/" in path


@unittest.skipUnless(S3, "LIFEBOAT_TEST_S3 is not set (scripts/test.sh starts a RADOS Gateway and sets it)")
class Faults(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.t0 = time.monotonic()
        self.endpoint, self.bucket = split_s3(S3)
        self.seed = lbtest.random_seed()
        self.proxy = faultproxy.FaultProxy(self.endpoint, self.seed).start()
        self.addCleanup(self.proxy.stop)
        self.addCleanup(self.summary)
        self.name = "faults-" + uuid.uuid4().hex[:12]
        self.src = self.path("src")
        rng = random.Random(self.seed)
        lbtest.make_random_tree(self.src, rng, n_small=300, small_max=12 * 1024,
                                large_sizes=(3 * lbtest.MiB, 2 * lbtest.MiB + 12345))
        self.rng = rng

    def summary(self):
        c = self.proxy.counts()
        methods = collections.Counter(e["method"] for e in self.proxy.log())
        sys.stderr.write("\n  %s: seed %d (LIFEBOAT_TEST_SEED=%d replays), %d requests %s, faults %s, %.1f s\n" % (
            self._testMethodName, self.seed, self.seed, c.pop("requests", 0), dict(sorted(methods.items())),
            dict(sorted(c.items())), time.monotonic() - self.t0))

    def info(self):
        """For failure messages: the seed and the faults injected so far."""
        faults = ["%s %s %s %s: %s" % (e["fault"], e["method"], e["target"], e["range"], e["detail"])
                  for e in self.proxy.log() if e["fault"]]
        return "seed %d (LIFEBOAT_TEST_SEED=%d replays); %d faults injected:\n    %s" % (
            self.seed, self.seed, len(faults), "\n    ".join(faults[-60:]))

    def repo(self, through_proxy, name=None, cache="cache"):
        base = self.proxy.url if through_proxy else self.endpoint
        return lbtest.Repo("s3:%s/%s/%s" % (base, self.bucket, name or self.name), self.path(cache))

    def ok(self, repo, *args, env=None):
        r = repo.run(*args, env=env)
        self.assertRc(r, 0, "\n" + self.info())
        return r

    def backup(self, repo):
        r = self.ok(repo, "--json", "backup", self.src)
        return r.last_json()["snapshot_id"]

    def stats(self, repo):
        return self.ok(repo, "--json", "stats").last_json()

    def assertRestoreEquals(self, repo, snapshot, target):
        self.ok(repo, "restore", snapshot, "--target", target)
        diffs = lbtest.compare_trees(lbtest.scan_tree(self.src),
                                     lbtest.scan_tree(lbtest.restored_root(target, self.src)), ignore_root=True)
        if diffs:
            self.fail("restore differs from the source in %d entries:\n  %s\n%s" % (
                len(diffs), "\n  ".join(diffs[:20]), self.info()))

    def assertNoWrongBytes(self, target):
        """Every file restored under `target` equals its source; nothing else
        (no half-written or temporary file) is there."""
        source = lbtest.scan_tree(self.src)
        root = lbtest.restored_root(target, self.src)
        if not os.path.exists(root):
            return
        for rel, e in lbtest.scan_tree(root).items():
            self.assertIn(rel, source, "restore left %r, which is not in the source\n%s" % (rel, self.info()))
            if e["type"] == "file":
                self.assertEqual(e["sha256"], source[rel]["sha256"],
                                 "restored %r has wrong content\n%s" % (rel, self.info()))

    def change_source(self):
        rng = self.rng
        small = sorted(os.path.join(d, n) for d, _, names in os.walk(self.src) for n in names
                       if n.endswith(".dat"))
        for p in rng.sample(small, 20):
            lbtest.write_file(p, rng.randbytes(rng.randint(1, 12 * 1024)))
        for p in rng.sample(small, 10):
            if os.path.exists(p):
                os.remove(p)
        lbtest.write_file(os.path.join(self.src, "d00", "new.bin"), rng.randbytes(700_000))
        with open(os.path.join(self.src, "big", "large00.bin"), "ab") as f:
            f.write(rng.randbytes(300_000))

    # --- the tests ---

    def test_backup_restore_check_prune_through_faults_match_a_clean_repository(self):
        self.proxy.set_rates(MIX)
        self.proxy.max_faults_per_request = 3
        faulty = self.repo(True)
        self.ok(faulty, "init")
        # The reference: no proxy, same blob-id key and chunker (init --from-repo).
        clean = self.repo(False, self.name + "-clean", "clean-cache")
        from_faulty = clean.env(LIFEBOAT_FROM_PASSWORD=faulty.password)
        self.ok(clean, "init", "--from-repo", self.repo(False).path, env=from_faulty)

        f1 = self.backup(faulty)
        c1 = self.backup(clean)
        self.change_source()
        f2 = self.backup(faulty)
        c2 = self.backup(clean)
        self.ok(faulty, "check", "--read-data")
        self.assertRestoreEquals(faulty, f2, self.path("restore-1"))

        # Identical in content: the same data blobs (counted, and none missing
        # from the clean repository), and the same trees below the source
        # (`diff --metadata` between each clean snapshot and the faulty one,
        # copied over; only the source's parent directories may differ, as
        # their times change while the test runs).
        fs, cs = self.stats(faulty), self.stats(clean)
        for k in ("unique_blob_count", "unique_raw_size", "total_file_count", "total_size", "snapshots_count"):
            self.assertEqual(fs[k], cs[k], "stats %s\n%s" % (k, self.info()))
        data_blobs = lambda s: s["repository_blob_count"] - s["tree_blob_count"]
        self.assertEqual(data_blobs(fs), data_blobs(cs), "data blobs stored: %s vs %s\n%s" % (fs, cs, self.info()))
        r = self.ok(clean, "--json", "copy", "--from-repo", self.repo(False).path, env=from_faulty)
        self.assertTrue(r.last_json()["related"], r.describe())  # blobs copied by id, not cut again
        copies = {c["source"]: c["copy"] for c in r.last_json()["copied"]}
        self.assertEqual(data_blobs(self.stats(clean)), data_blobs(cs),
                         "the faulty repository holds data blobs that the clean one lacks\n" + self.info())
        parents, p = set(), os.path.abspath(self.src)
        while p != "/":
            p = os.path.dirname(p)
            parents.add(p.rstrip("/") + "/")
        for mine, theirs in ((c1, f1), (c2, f2)):
            r = self.ok(clean, "--json", "diff", "--metadata", mine, copies[theirs])
            changed = [j["modifier"] + " " + j["path"] for j in r.json_lines()
                       if j.get("message_type") == "change" and j["path"] not in parents]
            self.assertEqual(changed, [], "snapshot %s (through faults) differs from %s\n%s" % (theirs, mine,
                                                                                                self.info()))

        # A kind of fault the rates happened not to pick (cut_upload, say:
        # few requests are uploads) is injected once into one more backup.
        for kind in MIX:
            if not self.proxy.counts().get(kind):
                self.proxy.set_rates({kind: 1.0}, limits={kind: 1})
                self.backup(faulty)
        self.proxy.set_rates(MIX)
        self.ok(faulty, "forget", "--keep-last", "1", "--prune", "--max-unused", "0%")
        self.ok(faulty, "check", "--read-data")
        self.assertRestoreEquals(faulty, "latest", self.path("restore-2"))
        self.assertEqual(len(self.ok(faulty, "--json", "snapshots").last_json()), 1)

        counts = self.proxy.counts()
        for kind in MIX:
            self.assertGreater(counts.get(kind, 0), 0, "no %s fault was injected: the test proved nothing\n%s" % (
                kind, self.info()))
        self.assertGreater(sum(counts.get(k, 0) for k in MIX), counts["requests"] * 0.1, self.info())
        # What the proxy let through is sound as stored.
        self.proxy.set_rates({})
        self.ok(self.repo(False), "check", "--read-data")

    def test_truncated_pack_reads_are_retried(self):
        direct = self.repo(False)
        self.ok(direct, "init")
        self.backup(direct)
        faulty = self.repo(True)
        self.proxy.set_rates({"truncate": 1.0}, eligible=data_get, limits={"truncate": 3})
        self.assertRestoreEquals(faulty, "latest", self.path("restore"))
        self.assertEqual(self.proxy.counts().get("truncate", 0), 3, self.info())
        self.proxy.reset_counts()
        self.proxy.set_rates({"truncate": 1.0}, eligible=data_get, limits={"truncate": 3})
        self.ok(faulty, "check", "--read-data")
        self.assertEqual(self.proxy.counts().get("truncate", 0), 3, self.info())

    def test_corrupted_pack_reads_are_never_restored(self):
        direct = self.repo(False)
        self.ok(direct, "init")
        self.backup(direct)
        faulty = self.repo(True)

        # Two corrupted responses, then intact ones.
        self.proxy.set_rates({"corrupt": 1.0}, eligible=data_get, limits={"corrupt": 2})
        target = self.path("restore-two")
        r = faulty.run("restore", "latest", "--target", target)
        # (Fewer when the first one took a directory listing, and with it the
        # files below.)
        self.assertIn(self.proxy.counts().get("corrupt", 0), (1, 2), self.info())
        self.assertRc(r, (0, 1), self.info())
        self.assertNoWrongBytes(target)
        if r.rc == 0:  # read again
            self.assertTreesEqual(lbtest.scan_tree(self.src),
                                  lbtest.scan_tree(lbtest.restored_root(target, self.src)), ignore_root=True)
        else:
            self.assertErrorsAreLines(r, "authentication failed")

        # Every pack read corrupted (one byte of each response).
        self.proxy.reset_counts()
        self.proxy.set_rates({"corrupt": 1.0}, eligible=data_get)
        target = self.path("restore-all")
        r = faulty.run("restore", "latest", "--target", target)
        self.assertRc(r, 1, self.info())
        self.assertErrorsAreLines(r, "authentication failed")
        self.assertNoWrongBytes(target)
        self.assertGreater(self.proxy.counts().get("corrupt", 0), 0)
        r = faulty.run("check", "--read-data")
        self.assertRc(r, 1, self.info())
        self.assertErrorsAreLines(r, "check found")
        self.assertIn("damaged", r.err)

        # The repository itself is intact, and nothing above changed it.
        self.proxy.set_rates({})
        self.ok(direct, "check", "--read-data")

    def test_damaged_uploads_are_never_stored(self):
        faulty = self.repo(True)
        self.ok(faulty, "init")
        # Pack uploads cut short or corrupted on the way (up to 2 of each).
        self.proxy.set_rates({"cut_upload": 0.5, "corrupt_upload": 0.5}, eligible=data_put,
                             limits={"cut_upload": 2, "corrupt_upload": 2})
        r = faulty.run("--json", "backup", self.src)
        counts = self.proxy.counts()
        self.assertGreater(counts.get("cut_upload", 0) + counts.get("corrupt_upload", 0), 0, self.info())
        for e in self.proxy.log():
            if e["fault"] == "corrupt_upload":
                self.assertEqual(e["status"], 400, "the server accepted a corrupted upload\n" + self.info())
        # The server refuses a damaged body (400 XAmzContentSHA256Mismatch);
        # the body in memory is fine, so lifeboat sends it again.
        self.assertRc(r, 0, self.info())
        self.proxy.set_rates({})
        self.ok(self.repo(False), "check", "--read-data")
        self.assertRestoreEquals(self.repo(False), "latest", self.path("restore"))

    def test_a_corrupted_response_is_read_again(self):
        """A blob, pack or key file that fails authentication is read once
        more before lifeboat calls it damaged: one bad response is a fault of
        the network, not of the repository.  Without that, one corrupted
        response fails a restored file, makes check --read-data report
        damage, makes repair index --read-data leave an intact pack out of
        the index, and makes a key file look like a wrong password."""
        direct = self.repo(False)
        self.ok(direct, "init")
        self.backup(direct)
        faulty = self.repo(True)
        once = lambda what: self.proxy.set_rates({"corrupt": 1.0}, eligible=what, limits={"corrupt": 1})
        once(data_get)
        self.assertRestoreEquals(faulty, "latest", self.path("restore"))
        once(data_get)
        self.ok(faulty, "check", "--read-data")
        once(lambda method, path: method == "GET" and "/keys/" in path)
        self.ok(faulty, "snapshots")
        once(data_get)
        self.ok(faulty, "repair", "index", "--read-data")
        self.proxy.set_rates({})
        self.ok(direct, "check", "--read-data")

    def assertErrorsAreLines(self, r, needle):
        """A failed command ends with a "lifeboat: error: ..." line about
        `needle`, and every line before is a line of its report."""
        lines = [l for l in r.err.splitlines() if l.strip()]
        self.assertTrue(lines, "failed without a word\n" + r.describe())
        self.assertTrue(lines[-1].startswith("lifeboat: error: "), r.describe())
        self.assertIn(needle, r.err, r.describe())
        for l in lines:
            self.assertRegex(l, r"^(lifeboat: error: |error: |damaged blob |    affects )", r.describe())


if __name__ == "__main__":
    unittest.main()
