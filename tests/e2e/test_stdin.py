"""Streams as sources: backup --stdin, backup --stdin-from-command, and dump
(a stored file back as a stream)."""

import json
import os
import random
import unittest

import lbtest


class Streams(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.repo = self.new_repo()
        rnd = random.Random(7)
        self.data = rnd.randbytes(16 * lbtest.MiB)

    def summary(self, r):
        self.assertRc(r, 0)
        return json.loads(r.out.strip().splitlines()[-1])

    def test_stdin_round_trip_and_dedup(self):
        s1 = self.summary(self.repo.run("--json", "backup", "--stdin", "--stdin-filename", "db.sql",
                                        input=self.data))
        self.assertEqual(s1["total_bytes_processed"], len(self.data))
        snaps = json.loads(self.repo.run("--json", "snapshots").out)
        self.assertEqual(snaps[-1]["paths"], ["/db.sql"])
        d = self.repo.run("dump", "latest", "/db.sql")
        self.assertRc(d, 0)
        self.assertEqual(d.out_b, self.data)
        # The same stream with a few bytes inserted near the start stores little.
        changed = self.data[:1000] + b"inserted" + self.data[1000:]
        s2 = self.summary(self.repo.run("--json", "backup", "--stdin", "--stdin-filename", "db.sql", input=changed))
        self.assertLess(s2["data_added_raw"], len(self.data) // 4, s2)
        target = self.path("out.sql")
        self.assertRc(self.repo.run("dump", "latest", "/db.sql", "--target", target), 0)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), changed)
        self.assertRc(self.repo.run("check", "--read-data"), 0)

    def test_command_output_and_its_failure(self):
        src = self.path("payload")
        with open(src, "wb") as f:
            f.write(self.data)
        s = self.summary(self.repo.run("--json", "backup", "--stdin-from-command", "--stdin-filename", "p.bin",
                                       "--", "cat", src))
        self.assertEqual(s["total_bytes_processed"], len(self.data))
        snap = json.loads(self.repo.run("--json", "snapshots").out)[-1]
        self.assertEqual(snap["source"]["command"], ["cat", src])
        self.assertEqual(self.repo.run("dump", snap["id"], "/p.bin").out_b, self.data)
        before = len(json.loads(self.repo.run("--json", "snapshots").out))
        r = self.repo.run("backup", "--stdin-from-command", "--", "sh", "-c",
                          "head -c 100000 /dev/zero; echo 'pg_dump: error: connection refused' >&2; exit 3")
        self.assertOneLineError(r, "the command failed, no snapshot was written", "exited with code 3",
                                "connection refused")
        self.assertEqual(len(json.loads(self.repo.run("--json", "snapshots").out)), before)
        r = self.repo.run("backup", "--stdin-from-command", "--", "no-such-program-here")
        self.assertOneLineError(r, "no-such-program-here was not found")
        self.assertEqual(len(json.loads(self.repo.run("--json", "snapshots").out)), before)
        self.assertRc(self.repo.run("check"), 0)

    def test_bad_input(self):
        self.assertOneLineError(self.repo.run("backup", "--stdin", "/etc", input=b""), "give no paths")
        self.assertOneLineError(self.repo.run("backup", "--stdin-from-command"), "needs a command")
        self.assertOneLineError(self.repo.run("backup", "--stdin-filename", "x", "/etc"), "--stdin-filename goes with")
        self.assertOneLineError(self.repo.run("backup", "--stdin", "--stdin-filename", "a/b", input=b"x"),
                                "contains a slash")
        self.summary(self.repo.run("--json", "backup", "--stdin", input=b"hello"))
        self.assertOneLineError(self.repo.run("dump", "latest", "/nope"), "has no \"/nope\"")
        self.assertOneLineError(self.repo.run("dump", "latest", "/"), "not a file")


if __name__ == "__main__":
    unittest.main()
