"""lifeboat verify-restore of pg-dump snapshots: a scratch PostgreSQL server,
the dump restored into it, counts compared, assertions, amcheck, teardown.

The source database runs on a pgtest.py server; the scratch servers are
lifeboat's own (temporary data directories under each test's directory).
"""

import os
import unittest

import lbtest
import pgtest
from lbtest import LBTestCase

EXIT_VERIFY_FAILED = 14
PG = None


def setUpModule():
    global PG
    if not pgtest.available():
        raise unittest.SkipTest("PostgreSQL server programs are not installed")
    PG = pgtest.Cluster(lbtest.make_tmpdir("lbpgv-"))
    try:
        PG.start()
        PG.createdb("shop")
        PG.psql("""
            CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE, name text);
            INSERT INTO users (email, name) SELECT 'u' || g || '@example.com', 'user ' || g FROM generate_series(1, 500) g;
            CREATE TABLE orders (id bigserial PRIMARY KEY, user_id int REFERENCES users (id), total numeric);
            INSERT INTO orders (user_id, total) SELECT 1 + g % 500, g FROM generate_series(1, 1200) g;
            CREATE INDEX ON orders (user_id);
            CREATE MATERIALIZED VIEW totals AS SELECT user_id, sum(total) AS s FROM orders GROUP BY 1;
            """, db="shop")
        # A database whose dump does not restore: a CHECK constraint calls a
        # function that reads another table without naming its schema, and
        # pg_restore runs with an empty search_path.
        PG.createdb("fragile")
        PG.psql("""
            CREATE TABLE limits (n int);
            INSERT INTO limits VALUES (100);
            CREATE FUNCTION under_limit(v int) RETURNS boolean LANGUAGE sql STABLE
              AS 'SELECT v <= (SELECT max(n) FROM limits)';
            CREATE TABLE items (v int CHECK (under_limit(v)));
            INSERT INTO items VALUES (1), (2), (3);
            """, db="fragile")
    except Exception:
        PG.remove()
        raise


def tearDownModule():
    if PG:
        PG.remove()


class VerifyRestoreTest(LBTestCase):

    def dumped_repo(self, db="shop"):
        repo = self.new_repo()
        r = repo.run("--json", "pg", "dump", "--dsn", PG.dsn(db))
        self.assertRc(r, 0)
        return repo, r.last_json()["snapshot_id"]

    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o711)  # the scratch server's user (postgres, when we are root) must enter it

    def verify(self, repo, *args, expect=0):
        scratch = self.path("scratch")
        os.makedirs(scratch, exist_ok=True)
        r = repo.run("verify-restore", "--scratch-dir", scratch, *args, timeout=300)
        self.assertRc(r, expect)
        self.assertEqual(os.listdir(scratch), [], "the scratch instance is removed")
        return r

    def test_pass_with_assertions(self):
        repo, snap = self.dumped_repo()
        r = self.verify(repo, "latest", "--sql", "SELECT count(*) FROM users", "--expect", ">0",
                        "--sql", "SELECT count(*) FROM orders", "--expect", "=1200",
                        "--query", "SELECT email FROM users WHERE id = 7", "--expect", "u7@example.com")
        lines = r.out.splitlines()
        self.assertIn("verifying snapshot %s (pg-dump" % snap[:8], lines[0])
        steps = [l for l in lines[1:-1]]
        self.assertEqual(len(steps), 8, r.describe())
        for l in steps:
            self.assertTrue(l.startswith("pass "), r.describe())
        self.assertIn("start", steps[0])
        self.assertIn("restore", steps[1])
        self.assertIn("counts: 2 tables, 1700 rows, as recorded", steps[2])
        self.assertIn("assert: SELECT count(*) FROM users: got 500, expected >0", steps[3])
        self.assertIn("amcheck", steps[6])
        self.assertIn("intact", steps[6])
        self.assertIn("stop", steps[7])
        self.assertTrue(lines[-1].startswith("PASS: snapshot %s restored and verified in " % snap[:8]), r.describe())
        self.assertEqual(r.err, "")

    def test_json_report(self):
        repo, snap = self.dumped_repo()
        r = self.verify(repo, "--json", snap[:8], "--sql", "SELECT count(*) FROM users", "--expect", ">0")
        j = r.last_json()
        self.assertEqual(len(r.out.strip().splitlines()), 1)
        self.assertEqual(j["snapshot_id"], snap)
        self.assertEqual(j["kind"], "pg-dump")
        self.assertTrue(j["passed"])
        self.assertEqual([s["name"] for s in j["steps"]],
                         ["start", "restore", "counts", "assert: SELECT count(*) FROM users", "amcheck", "stop"])
        for s in j["steps"]:
            self.assertTrue(s["passed"], s)
            self.assertGreaterEqual(s["seconds"], 0)

    def test_failed_assertion_is_fail_with_its_exit_code(self):
        repo, snap = self.dumped_repo()
        r = self.verify(repo, "latest", "--sql", "SELECT count(*) FROM users", "--expect", "<10",
                        "--sql", "SELECT count(*) FROM no_such_table", "--expect", ">0",
                        expect=EXIT_VERIFY_FAILED)
        fails = [l for l in r.out.splitlines() if l.startswith("FAIL")]
        self.assertEqual(len(fails), 3, r.describe())
        self.assertIn("assert: SELECT count(*) FROM users: got 500, expected <10", fails[0])
        self.assertIn("no_such_table", fails[1])
        self.assertIn("does not exist", fails[1])
        self.assertTrue(fails[2].startswith("FAIL: snapshot %s: 2 of 7 steps failed" % snap[:8]), r.describe())
        r = self.verify(repo, "--json", "latest", "--sql", "SELECT 1", "--expect", "=2", expect=EXIT_VERIFY_FAILED)
        self.assertFalse(r.last_json()["passed"])

    def test_a_dump_that_does_not_restore_fails(self):
        repo, _ = self.dumped_repo("fragile")
        r = self.verify(repo, "latest", expect=EXIT_VERIFY_FAILED)
        restore = [l for l in r.out.splitlines() if l.startswith("FAIL ") and " restore: " in l]
        self.assertEqual(len(restore), 1, r.describe())
        self.assertIn('relation "limits" does not exist', restore[0])
        self.assertIn("stop", r.out)
        self.assertTrue(r.out.splitlines()[-1].startswith("FAIL:"))

    def test_keep_leaves_the_files(self):
        repo, _ = self.dumped_repo()
        scratch = self.path("kept")
        os.makedirs(scratch)
        r = repo.run("verify-restore", "latest", "--keep", "--scratch-dir", scratch, timeout=300)
        self.assertRc(r, 0)
        kept = os.listdir(scratch)
        self.assertEqual(len(kept), 1)
        self.assertTrue(os.path.exists(os.path.join(scratch, kept[0], "data", "PG_VERSION")))
        self.assertIn("files kept in", r.out)

    def test_bad_input(self):
        repo, _ = self.dumped_repo()
        r = repo.run("verify-restore", "latest", "--sql", "SELECT 1")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "1 --sql but 0 --expect")
        r = repo.run("verify-restore", "latest", "--sql", "SELECT 1", "--expect", ">x")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "needs a number")
        r = repo.run("verify-restore", "latest", "--pg-bin", self.tmp)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "no PostgreSQL server programs", self.tmp)
        src = self.path("files")
        os.mkdir(src)
        repo.backup(src)
        r = repo.run("verify-restore", repo.snapshots()[-1]["short_id"])
        self.assertRc(r, 1)
        self.assertOneLineError(r, "cannot start a server for", "check --read-data")
        # "latest" is the newest snapshot verify-restore can start a server for.
        r = self.verify(repo, "--json", "latest")
        self.assertEqual(r.last_json()["kind"], "pg-dump")
        r = lbtest.run(["verify-restore", "--help"])
        self.assertRc(r, 0)
        self.assertIn("--expect", r.out)


if __name__ == "__main__":
    unittest.main()
