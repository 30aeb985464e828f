"""PostgreSQL physical backups: pg basebackup, WAL archiving through
wal-push/wal-fetch, point-in-time recovery with pg restore --start, pg status,
and what goes wrong: gaps, damaged WAL, a different segment under an archived
name, bad input.

A real PostgreSQL (pgtest.py) archives into a local repository with
archive_command = 'lifeboat wal-push %p'. Every lifeboat command runs as the
server's OS user (as a DBA would run pgBackRest), so the repository is the
server user's.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import lbtest
import pgtest


@unittest.skipUnless(pgtest.available(), "PostgreSQL server binaries are not installed")
class PgPitr(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="lbpitr-")
        os.chmod(cls.root, 0o755)
        cls.ids = pgtest._server_user()
        cls.give(cls.root)
        cls.repo = os.path.join(cls.root, "repo")
        cls.cache = os.path.join(cls.root, "cache")
        cls.pwfile = os.path.join(cls.root, "password")
        with open(cls.pwfile, "w") as f:
            f.write(lbtest.PASSWORD + "\n")
        os.chmod(cls.pwfile, 0o600)
        cls.give(cls.pwfile)
        os.makedirs(cls.cache)
        cls.give(cls.cache)
        r = cls.lb("init")
        assert r.returncode == 0, r.stderr
        cls.pg = pgtest.Cluster(os.path.join(cls.root, "pg"))
        archive = "%s --repo %s --password-file %s --cache-dir %s wal-push %%p" % (
            lbtest.find_binary(), cls.repo, cls.pwfile, cls.cache)
        cls.pg.start(["wal_level = replica", "archive_mode = on", "archive_command = '%s'" % archive,
                      "max_wal_senders = 4"])
        cls.pg.pgbench_init("postgres", scale=2)

    @classmethod
    def tearDownClass(cls):
        for d in getattr(cls, "restored", []):
            subprocess.run([cls.pg.bin("pg_ctl"), "-D", d, "-m", "immediate", "stop"], preexec_fn=pgtest._demote(cls.ids),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.pg.remove()
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def give(cls, path):
        if cls.ids:
            os.chown(path, cls.ids[0], cls.ids[1])

    @classmethod
    def lb(cls, *args, repo=None, env=None):
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": cls.root, "LC_ALL": "C"}
        e.update(env or {})
        argv = [lbtest.find_binary(), "--repo", repo or cls.repo, "--password-file", cls.pwfile, "--cache-dir",
                cls.cache] + list(args)
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e,
                              preexec_fn=pgtest._demote(cls.ids), cwd=cls.root, timeout=600)

    def ok(self, *args, **kw):
        r = self.lb(*args, **kw)
        self.assertEqual(r.returncode, 0, "lifeboat %s\n%s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def one_line_error(self, r, code, needle):
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("lifeboat: error: "), r.stderr)
        self.assertIn(needle, lines[0])

    def wait_archived(self):
        """Switches WAL and waits until the switched segment is archived."""
        seg = self.pg.scalar("SELECT pg_walfile_name(pg_switch_wal())")
        status = os.path.join(self.pg.data_dir, "pg_wal", "archive_status", seg + ".done")
        deadline = time.time() + 60
        while not os.path.exists(status):
            self.assertLess(time.time(), deadline, "segment %s was not archived:\n%s" % (seg, self.pg.log_tail()))
            time.sleep(0.1)
        return seg

    def system_id(self):
        return self.pg.scalar("SELECT system_identifier FROM pg_control_system()")

    def new_dir(self, name):
        d = os.path.join(self.root, name)
        os.makedirs(d, mode=0o700)
        self.give(d)
        return d

    def copy_repo(self, name):
        d = os.path.join(self.root, name)
        shutil.copytree(self.repo, d, symlinks=True)
        for dirpath, dirnames, filenames in os.walk(d):
            for n in dirnames + filenames:
                self.give(os.path.join(dirpath, n))
        self.give(d)
        return d

    # ------------------------------------------------------------------

    def test_1_pitr_restores_the_rows_deleted_after_the_target(self):
        self.ok("pg", "basebackup", "--dsn", self.pg.socket_dsn())
        self.pg.psql("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 7 = 0")
        self.pg.psql("CREATE TABLE marker (v text); INSERT INTO marker VALUES ('before')")
        time.sleep(1.1)
        target = self.pg.scalar("SELECT now()")
        time.sleep(1.1)
        self.pg.psql("INSERT INTO marker VALUES ('after'); DELETE FROM pgbench_accounts WHERE aid <= 1000")
        self.wait_archived()

        st = json.loads(self.ok("--json", "pg", "status").stdout)
        self.assertEqual(len(st), 1, st)
        self.assertEqual(st[0]["system_identifier"], self.system_id())
        self.assertEqual(st[0]["gaps"], [])
        self.assertGreaterEqual(st[0]["base_backups"], 1)
        self.assertLess(st[0]["wal_age_seconds"], 120)

        pgdata = os.path.join(self.root, "restored")
        port = pgtest.free_port()
        r = self.ok("--json", "pg", "restore", "--pgdata", pgdata, "--target-time", target, "--archive-mode", "off",
                    "--port", str(port), "--start")
        type(self).restored = [pgdata]
        out = json.loads(r.stdout)
        self.assertTrue(out["started"])
        self.assertGreater(out["rto_seconds"], 0)
        self.assertAlmostEqual(out["rto_seconds"], out["restore_seconds"] + out["recovery_seconds"], places=3)
        dsn = "host=127.0.0.1 port=%d dbname=postgres user=postgres" % port
        q = lambda sql: subprocess.run([self.pg.bin("psql"), "-XAtq", "-d", dsn, "-c", sql], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=self.pg.client_env()).stdout.strip()
        self.assertEqual(q("SELECT string_agg(v, ',') FROM marker"), "before")
        self.assertEqual(q("SELECT count(*) FROM pgbench_accounts WHERE aid <= 1000"), "1000")
        self.assertEqual(q("SELECT pg_is_in_recovery()"), "f")
        # The copy's archive_mode is off: it does not push into the same archive.
        self.assertEqual(q("SHOW archive_mode"), "off")

    def test_2_second_base_backup_stores_little(self):
        first = json.loads(self.ok("--json", "pg", "basebackup", "--dsn", self.pg.socket_dsn()).stdout)
        # One row in 50 changes: nearly every page of the table, a few bytes in each.
        self.pg.psql("UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 50 = 0")
        self.pg.psql("CHECKPOINT")
        second = json.loads(self.ok("--json", "pg", "basebackup", "--dsn", self.pg.socket_dsn()).stdout)
        self.assertGreater(second["total_bytes_processed"], 20 * lbtest.MiB)
        # The changed chunks are stored as deltas against the first backup's.
        src = second["source"]
        self.assertEqual(src["delta_against"], first["snapshot_id"])
        # Every chunk of pgbench_accounts changed (>= 1 MiB of 64 KiB chunks).
        self.assertGreater(second["delta_chunks"], 16, second)
        self.assertLess(second["data_added"], second["total_bytes_processed"] / 20, second)
        for key in ("system_identifier", "start_lsn", "stop_lsn", "timeline", "pg_version", "start_wal", "stop_wal"):
            self.assertIn(key, src)
        self.assertEqual(src["system_identifier"], self.system_id())

    def test_2c_copy_brings_the_wal_archive_along(self):
        seg = self.wait_archived()
        dest = os.path.join(self.root, "copy-repo")
        self.ok("init", repo=dest)
        self.give(dest)
        copy = lambda: json.loads(self.ok("--json", "copy", "--from-repo", self.repo, "--from-password-file",
                                          self.pwfile, "latest", repo=dest).stdout)
        first = copy()
        self.assertEqual(len(first["copied"]), 1, first)
        src = json.loads(self.ok("--json", "pg", "status").stdout)[0]
        self.assertEqual(first["wal_files_copied"], src["wal_files"], first)
        dst = json.loads(self.ok("--json", "pg", "status", repo=dest).stdout)[0]
        for key in ("wal_files", "wal_bytes", "newest_wal", "gaps"):
            self.assertEqual(dst[key], src[key], key)
        # New WAL since: the next copy brings just that, with no snapshot to copy.
        self.pg.psql("CREATE TABLE after_copy (v int); INSERT INTO after_copy VALUES (1)")
        seg2 = self.wait_archived()
        self.assertNotEqual(seg2, seg)
        again = copy()
        self.assertEqual(again["copied"], [], again)
        self.assertGreaterEqual(again["wal_files_copied"], 1, again)
        self.assertEqual(copy()["wal_files_copied"], 0)
        # A segment fetched from the copy is the one archived.
        work = self.new_dir("copyfetch")
        for name in (seg, seg2):
            a, b = os.path.join(work, name + ".src"), os.path.join(work, name + ".dst")
            self.ok("wal-fetch", "--system-id", self.system_id(), name, a)
            self.ok("wal-fetch", "--system-id", self.system_id(), name, b, repo=dest,
                    env={"LIFEBOAT_KEY_CACHE": "0"})  # test_4 counts the cache's keys
            with open(a, "rb") as fa, open(b, "rb") as fb:
                self.assertEqual(fa.read(), fb.read(), name)

    def test_3_wal_push_twice_is_fine_and_a_different_file_is_refused(self):
        seg = self.wait_archived()
        work = self.new_dir("walwork")
        path = os.path.join(work, seg)
        self.ok("wal-fetch", "--system-id", self.system_id(), seg, path)
        self.give(path)
        r = json.loads(self.ok("--json", "wal-push", path).stdout)
        self.assertTrue(r["already_archived"])
        with open(path, "r+b") as f:
            f.seek(100000)
            b = f.read(1)
            f.seek(100000)
            f.write(bytes([b[0] ^ 0xFF]))
        r = self.lb("wal-push", path)
        self.one_line_error(r, 1, "already archived")
        self.assertIn("different content", r.stderr)
        # A file that is not WAL at all.
        junk = os.path.join(work, "000000010000000000000099")
        with open(junk, "wb") as f:
            f.write(b"x" * 8192)
        self.give(junk)
        self.one_line_error(self.lb("wal-push", junk), 1, "not a WAL segment")

    def test_4_key_cache_is_private_and_used(self):
        self.wait_archived()
        files = [os.path.join(dp, n) for dp, _, ns in os.walk(os.path.join(self.cache, "keys")) for n in ns]
        self.assertEqual(len(files), 1, files)
        self.assertEqual(os.stat(files[0]).st_mode & 0o777, 0o600)
        # A cache for another passphrase is not used: the wrong one fails.
        other = os.path.join(self.root, "otherpw")
        with open(other, "w") as f:
            f.write("wrong\n")
        self.give(other)
        os.chmod(other, 0o600)
        argv = [lbtest.find_binary(), "--repo", self.repo, "--password-file", other, "--cache-dir", self.cache,
                "wal-fetch", "--system-id", self.system_id(), "00000001.history", os.path.join(self.root, "x")]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=pgtest._demote(self.ids))
        self.assertEqual(r.returncode, 254, r.stderr)
        self.assertIn("wrong password", r.stderr)

    def test_5_gap_and_damaged_segment(self):
        self.wait_archived()
        self.wait_archived()
        copy = self.copy_repo("gapped")
        waldir = os.path.join(copy, "wal", "%016x" % int(self.system_id()))
        segs = sorted(n for n in os.listdir(waldir) if len(n) == 24)
        self.assertGreater(len(segs), 3)
        victim = segs[-2]
        os.unlink(os.path.join(waldir, victim))
        r = self.lb("pg", "status", repo=copy)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("gap in the WAL chain: %s missing" % victim, r.stdout)
        self.assertIn("the WAL archive has gaps", r.stderr)

        damaged = segs[-1]
        p = os.path.join(waldir, damaged)
        with open(p, "r+b") as f:
            f.seek(os.path.getsize(p) // 2)
            b = f.read(1)
            f.seek(os.path.getsize(p) // 2)
            f.write(bytes([b[0] ^ 0x01]))
        dest = os.path.join(self.new_dir("fetchdest"), "RECOVERYXLOG")
        r = self.lb("wal-fetch", "--system-id", self.system_id(), damaged, dest, repo=copy)
        self.assertEqual(r.returncode, 254, r.stderr)
        self.assertIn("damaged", r.stderr)
        self.assertFalse(os.path.exists(dest))
        # Missing: exit 1, PostgreSQL's end of the archive.
        r = self.lb("wal-fetch", "--system-id", self.system_id(), victim, dest, repo=copy)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertFalse(os.path.exists(dest))

    def test_7_forget_base_backups_removes_the_wal_they_alone_needed(self):
        self.ok("pg", "basebackup", "--dsn", self.pg.socket_dsn())
        self.wait_archived()
        before = json.loads(self.ok("--json", "pg", "status").stdout)[0]
        self.assertGreaterEqual(before["base_backups"], 2)
        r = json.loads(self.ok("--json", "forget", "--keep-last", "1").stdout)
        self.assertGreater(r["wal_files_removed"], 0, r)
        after = json.loads(self.ok("--json", "pg", "status").stdout)[0]
        self.assertEqual(after["base_backups"], 1)
        self.assertEqual(after["gaps"], [])
        self.assertLess(after["wal_files"], before["wal_files"])
        snaps = json.loads(self.ok("--json", "snapshots").stdout)
        self.assertEqual(len(snaps), 1)
        self.assertEqual(after["oldest_wal"], snaps[0]["source"]["start_wal"])
        self.ok("check")

    def test_8_async_wal_push_keeps_up_with_a_burst(self):
        archive = "%s --repo %s --password-file %s --cache-dir %s wal-push --async --parallel 2 %%p" % (
            lbtest.find_binary(), self.repo, self.pwfile, self.cache)
        self.pg.psql("ALTER SYSTEM SET archive_command = '%s'" % archive.replace("'", "''"))
        self.pg.psql("SELECT pg_reload_conf()")
        try:
            # A burst: several segments become ready one after another.
            for _ in range(6):
                self.pg.psql("CREATE TABLE IF NOT EXISTS burst (a text); INSERT INTO burst SELECT repeat('x', 200) "
                             "FROM generate_series(1, 20000); SELECT pg_switch_wal()")
            last = self.wait_archived()
        finally:
            self.pg.psql("ALTER SYSTEM RESET archive_command")
            self.pg.psql("SELECT pg_reload_conf()")
        st = json.loads(self.ok("--json", "pg", "status").stdout)[0]
        self.assertEqual(st["gaps"], [])
        self.assertGreaterEqual(st["newest_wal"], last)
        failed = self.pg.scalar("SELECT failed_count FROM pg_stat_archiver")
        self.assertEqual(failed, "0", self.pg.log_tail())
        # Every status file was consumed by its archive_command call.
        # (A file archived by the synchronous command just before the switch
        # may have been pushed ahead too; the pusher drops such a stale status.)
        spools = os.path.join(self.cache, "wal-spool")
        deadline = time.time() + 10
        while True:
            left = [n for dp, _, ns in os.walk(spools) for n in ns if "/done" in dp or "/error" in dp]
            if not left or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(left, [])

    def test_9_delta_restore_rewrites_only_what_differs(self):
        pgdata = os.path.join(self.root, "restored")
        self.assertTrue(os.path.exists(os.path.join(pgdata, "PG_VERSION")), "test 1 restores here first")
        running = self.lb("pg", "restore", "--pgdata", pgdata, "--delta")
        self.one_line_error(running, 1, "stop the server")
        subprocess.run([self.pg.bin("pg_ctl"), "-D", pgdata, "-m", "fast", "-w", "stop"],
                       preexec_fn=pgtest._demote(self.ids), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stray = os.path.join(pgdata, "base", "stray-file")
        with open(stray, "w") as f:
            f.write("not in the backup")
        port = pgtest.free_port()
        r = json.loads(self.ok("--json", "pg", "restore", "--pgdata", pgdata, "--delta", "--archive-mode", "off",
                               "--port", str(port), "--start").stdout)
        self.assertGreater(r["files_kept"], 0, r)
        self.assertLess(r["files_kept"], r["files"], r)
        self.assertGreaterEqual(r["files_removed"], 1, r)
        self.assertFalse(os.path.exists(stray))
        dsn = "host=127.0.0.1 port=%d dbname=postgres user=postgres" % port
        out = subprocess.run([self.pg.bin("psql"), "-XAtq", "-d", dsn, "-c", "SELECT count(*) FROM pgbench_branches"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.pg.client_env())
        self.assertEqual(out.stdout.strip(), "2", out.stderr)

    def test_9b_verify_restore_of_a_base_backup(self):
        scratch = self.new_dir("scratch")
        r = self.lb("--json", "verify-restore", "latest", "--kind", "postgres-base", "--scratch-dir", scratch,
                    "--sql", "SELECT count(*) FROM pgbench_branches", "--expect", "=2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = json.loads(r.stdout.splitlines()[-1])
        names = [s["name"] for s in out["steps"]]
        for step in ("restore", "manifest", "recover", "assert: SELECT count(*) FROM pgbench_branches",
                     "amcheck postgres", "stop"):
            self.assertIn(step, names, out)
        self.assertEqual(os.listdir(scratch), [], "the scratch instance is removed")
        r = self.lb("verify-restore", "latest", "--kind", "postgres-base", "--scratch-dir", scratch,
                    "--sql", "SELECT count(*) FROM pgbench_branches", "--expect", "=3")
        self.assertEqual(r.returncode, 14, r.stdout + r.stderr)
        self.assertIn("FAIL", r.stdout)
        self.assertEqual(os.listdir(scratch), [])

    def test_6_bad_input(self):
        full = self.new_dir("full")
        with open(os.path.join(full, "keep"), "w") as f:
            f.write("x")
        r = self.lb("pg", "restore", "--pgdata", full)
        self.one_line_error(r, 1, "is not empty")
        self.assertEqual(os.listdir(full), ["keep"])
        empty = os.path.join(self.root, "never")
        r = self.lb("pg", "restore", "--pgdata", empty, "--target-time", "2001-01-01 00:00:00")
        self.one_line_error(r, 1, "before the oldest base backup ended")
        self.assertFalse(os.path.exists(empty))
        r = self.lb("pg", "restore", "--pgdata", empty, "--target-time", "2099-01-01 00:00:00")
        self.one_line_error(r, 1, "in the future")
        self.assertFalse(os.path.exists(empty))
        r = self.lb("pg", "restore", "--pgdata", empty, "--target-lsn", "nonsense")
        self.one_line_error(r, 1, "is not an LSN")
        r = self.lb("pg", "basebackup", "--dsn", "host=127.0.0.1 port=%d user=postgres" % pgtest.free_port())
        self.one_line_error(r, 1, "cannot connect to PostgreSQL")
        self.assertIn("check that the server is running", r.stderr)
        r = self.lb("pg", "basebackup", "--dsn", self.pg.socket_dsn() + " user=nobody_here")
        self.one_line_error(r, 1, "cannot connect to PostgreSQL")


if __name__ == "__main__":
    unittest.main()
