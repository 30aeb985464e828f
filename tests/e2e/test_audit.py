"""lifeboat log: every changing operation leaves a sealed record; `--verify`
fails on a removed, altered or truncated trail.
"""

import os
import unittest

import lbtest


class AuditLog(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        os.makedirs(self.src)
        lbtest.write_file(os.path.join(self.src, "f.txt"), b"audit\n")
        self.repo = self.new_repo()
        _, self.s1 = self.repo.backup(self.src)
        _, self.s2 = self.repo.backup("--tag", "second", self.src)
        r = self.repo.run("forget", self.s1["snapshot_id"][:8])
        self.assertRc(r, 0)
        r = self.repo.run("key", "add", env=self.repo.env(LIFEBOAT_NEW_PASSWORD="another"))
        self.assertRc(r, 0)
        self.log_dir = os.path.join(self.repo.path, "log")

    def records(self):
        r = self.repo.run("--json", "log")
        self.assertRc(r, 0)
        return r.last_json()

    def verify(self, expect):
        r = self.repo.run("log", "--verify")
        self.assertRc(r, expect)
        return r

    def test_operations_are_recorded_in_order(self):
        recs = self.records()
        self.assertEqual([x["operation"] for x in recs], ["init", "backup", "backup", "forget", "key add"])
        self.assertTrue(all(x["result"] == "ok" for x in recs))
        self.assertEqual(recs[1]["snapshots"], [self.s1["snapshot_id"]])
        self.assertEqual(recs[3]["snapshots"], [self.s1["snapshot_id"]])
        self.assertEqual(recs[0]["prev"], "")
        for a, b in zip(recs, recs[1:]):
            self.assertEqual(b["prev"], a["id"])
        r = self.verify(0)
        self.assertIn("audit log verified: 5 records, chain intact", r.out)
        r = self.repo.run("--json", "log", "--verify", "--last", "2")
        self.assertRc(r, 0)
        j = r.last_json()
        self.assertTrue(j["ok"])
        self.assertEqual([x["operation"] for x in j["records"]], ["forget", "key add"])

    def test_removed_record_fails_verification(self):
        self.verify(0)
        names = sorted(os.listdir(self.log_dir))
        os.unlink(os.path.join(self.log_dir, names[2]))
        r = self.verify(1)
        self.assertIn("which is missing", r.err)

    def test_altered_record_fails_verification(self):
        names = sorted(os.listdir(self.log_dir))
        path = os.path.join(self.log_dir, names[1])
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0x20
        os.chmod(path, 0o600)
        with open(path, "wb") as f:
            f.write(data)
        r = self.verify(1)
        self.assertIn("does not authenticate", r.err)

    def test_truncated_tail_is_caught_by_the_remembered_head(self):
        self.verify(0)
        names = sorted(os.listdir(self.log_dir))
        os.unlink(os.path.join(self.log_dir, names[-1]))
        r = self.verify(1)
        self.assertIn("the newest this machine verified before, is gone", r.err)

    def test_help(self):
        r = self.repo.run("log", "--help")
        self.assertRc(r, 0)
        self.assertIn("--verify", r.out)


if __name__ == "__main__":
    unittest.main()
