"""The command line: exit codes, error messages, passwords, JSON output,
listing commands, check, unreadable and vanishing files, locks.

Every test has its own repository (on the backend LIFEBOAT_TEST_BACKEND
selects, see lbtest) and cache directory under /tmp.
"""

import ctypes
import ctypes.util
import json
import os
import random
import re
import select
import signal
import struct
import subprocess
import threading
import time
import unittest

import lbtest
from lbtest import IS_ROOT, MiB, PASSWORD

COMMANDS = ("init", "backup", "snapshots", "ls", "find", "diff", "stats", "restore", "check", "forget", "key", "log",
            "config", "repair", "unlock", "version")
NOBODY = 65534


def make_small_tree(root):
    """A small tree; returns the relative paths of its files."""
    files = {
        "docs/readme.txt": b"read me\n",
        "docs/guide.md": b"# guide\n" * 50,
        "docs/deep/er/notes.txt": b"notes\n",
        "etc/app.conf": b"key=value\n",
        "etc/nginx/nginx.conf": b"events {}\n",
        "data/blob.bin": os.urandom(300_000),
        "data/zeros.bin": bytes(200_000),
        "tmp/scratch.tmp": b"scratch\n",
        "logs/app.log": b"log line\n" * 10,
        "logs/old/app.1.log": b"older\n",
        "skipdir/inside.txt": b"skipped\n",
        "empty": b"",
    }
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        lbtest.write_file(p, data)
    os.makedirs(os.path.join(root, "emptydir"))
    os.symlink("etc/app.conf", os.path.join(root, "link"))
    return sorted(files)


class CliTestCase(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        self.files = make_small_tree(self.src)

    def snapshot_ids(self, repo):
        return sorted(repo.files("snapshots"))


class Usage(CliTestCase):
    def test_help_for_every_command(self):
        env = lbtest.base_env()  # no repository, no password: help needs neither
        for args in (["--help"], ["-h"]) + tuple([c, "--help"] for c in COMMANDS):
            with self.subTest(args=args):
                r = lbtest.run(args, env=env)
                self.assertRc(r, 0)
                self.assertIn("Usage", r.out)
                self.assertEqual(r.err, "")

    def test_version(self):
        r = lbtest.run(["version"])
        self.assertRc(r, 0)
        self.assertRegex(r.out, r"lifeboat \d+\.\d+")

    def test_unknown_option_is_one_line_error(self):
        repo = self.new_repo()
        for args in (["snapshots", "--bogus"], ["backup", "--bogus", self.src], ["--bogus", "snapshots"],
                     ["check", "--read-data-fraction", "5"]):
            with self.subTest(args=args):
                r = repo.run(*args)
                self.assertRc(r, 1)
                self.assertOneLineError(r, args[1] if args[0] != "--bogus" else "--bogus")
                self.assertEqual(r.out, "")

    def test_unknown_command_is_named_in_the_error(self):
        r = lbtest.run(["frobnicate"])
        self.assertRc(r, 1)
        self.assertOneLineError(r, "frobnicate")

    def test_missing_required_argument(self):
        repo = self.new_repo()
        r = repo.run("restore", "latest")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "--target")

    def test_invalid_values_are_rejected(self):
        repo = self.new_repo()
        for args, needle in ((["check", "--read-data-subset", "150%"], "read-data-subset"),
                             (["backup", "--time", "yesterday-ish", self.src], "yesterday-ish"),
                             (["restore", "--at", "not a time", "--target", self.path("t")], "not a time"),
                             (["backup", "--tag", "a,b", self.src], "a,b")):
            with self.subTest(args=args):
                before = repo.listing()
                r = repo.run(*args)
                self.assertRc(r, 1)
                self.assertOneLineError(r, needle)
                self.assertEqual(repo.listing(), before)


class InitAndOpen(CliTestCase):
    def test_init_twice_fails_and_leaves_repository_untouched(self):
        repo = self.new_repo()
        repo.backup(self.src)
        before = repo.listing()
        r = repo.run("init")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "already")
        self.assertEqual(repo.listing(), before)
        # Also with a different password.
        r = repo.run("init", env=repo.env(LIFEBOAT_PASSWORD="another password"))
        self.assertRc(r, 1)
        self.assertEqual(repo.listing(), before)
        self.assertRc(repo.run("snapshots"), 0)

    def test_init_layout(self):
        repo = self.new_repo()
        self.assertIn("config", repo.files())
        self.assertEqual(len(repo.files("keys")), 1)
        self.assertTrue(all(re.fullmatch(r"keys/[0-9a-f]{64}", k) for k in repo.files("keys")))

    def test_wrong_password_exit_12_and_nothing_written(self):
        repo = self.new_repo()
        repo.backup(self.src)
        before = repo.listing()
        bad = repo.env(LIFEBOAT_PASSWORD="not the password")
        for args in (["snapshots"], ["backup", self.src], ["check", "--read-data"], ["unlock", "--remove-all"],
                     ["restore", "latest", "--target", self.path("t")], ["ls", "latest"], ["stats"]):
            with self.subTest(args=args):
                r = repo.run(*args, env=bad)
                self.assertRc(r, 12)
                self.assertOneLineError(r, "password")
                self.assertEqual(repo.listing(), before)
        self.assertFalse(os.path.exists(self.path("t")) and os.listdir(self.path("t")))

    def test_no_repository_exit_10(self):
        missing = self.new_location("no-such-repo")
        r = lbtest.run(["--repo", missing, "snapshots"], env=lbtest.base_env(LIFEBOAT_PASSWORD=PASSWORD))
        self.assertRc(r, 10)
        self.assertOneLineError(r, missing, "init")
        absent = lbtest.Repo(missing, None)
        self.assertEqual(absent.listing(), {}, "opening must not create the repository")
        if absent.local_path:
            self.assertFalse(os.path.exists(missing), "not even an empty directory")
        # An existing location that is not a repository (a directory, or a
        # prefix, holding something else), through the environment.
        plain = lbtest.Repo(self.new_location("plain-dir"), None)
        plain.store.write("notes.txt", b"not a repository\n")
        before = plain.listing()
        for args in (["backup", self.src], ["check"], ["restore", "latest", "--target", self.path("t")]):
            with self.subTest(args=args):
                r = lbtest.run(args, env=lbtest.base_env(LIFEBOAT_PASSWORD=PASSWORD, LIFEBOAT_REPOSITORY=plain.path))
                self.assertRc(r, 10)
                self.assertOneLineError(r, plain.path)
        self.assertEqual(plain.listing(), before)

    def test_no_repository_given(self):
        r = lbtest.run(["snapshots"], env=lbtest.base_env(LIFEBOAT_PASSWORD=PASSWORD))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "--repo")

    def test_no_password_from_a_pipe(self):
        repo = self.new_repo()
        before = repo.listing()
        env = lbtest.base_env(LIFEBOAT_PASSWORD=None)
        r = lbtest.run(repo.argv(["snapshots"]), env=env, input=(PASSWORD + "\n").encode())
        self.assertRc(r, 1)
        self.assertOneLineError(r, "password")
        self.assertEqual(repo.listing(), before)
        # Nor is a repository created without a password.
        new = lbtest.Repo(self.new_location("new"), None)
        r = lbtest.run(["--repo", new.path, "init"], env=env, input=b"pw\npw\n")
        self.assertRc(r, 1)
        self.assertNotIn("config", new.files())

    def test_password_file_and_command(self):
        pwfile = self.path("pw")
        with open(pwfile, "w") as f:
            f.write("file password\n")  # the trailing newline is not part of it
        os.chmod(pwfile, 0o600)
        env = lbtest.base_env()
        loc = self.new_location("repo")
        cache = self.path("cache")
        r = lbtest.run(["--repo", loc, "--cache-dir", cache, "--password-file", pwfile, "init"], env=env)
        self.assertRc(r, 0)
        r = lbtest.run(["--repo", loc, "--cache-dir", cache, "--password-command", "printf 'file password'",
                        "backup", self.src], env=env)
        self.assertRc(r, 0)
        r = lbtest.run(["--repo", loc, "snapshots"], env=lbtest.base_env(LIFEBOAT_PASSWORD="file password"))
        self.assertRc(r, 0)
        r = lbtest.run(["--repo", loc, "snapshots"], env=lbtest.base_env(LIFEBOAT_PASSWORD_FILE=pwfile))
        self.assertRc(r, 0)
        r = lbtest.run(["--repo", loc, "snapshots"],
                       env=lbtest.base_env(LIFEBOAT_PASSWORD_COMMAND="echo file password"))
        self.assertRc(r, 0)
        # Wrong password through each channel: 12.
        with open(self.path("bad"), "w") as f:
            f.write("wrong\n")
        r = lbtest.run(["--repo", loc, "--password-file", self.path("bad"), "snapshots"], env=env)
        self.assertRc(r, 12)
        r = lbtest.run(["--repo", loc, "--password-command", "echo wrong", "snapshots"], env=env)
        self.assertRc(r, 12)
        # A failing command or a missing file is an error, not a wrong password.
        r = lbtest.run(["--repo", loc, "--password-command", "exit 3", "snapshots"], env=env)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "password command")
        r = lbtest.run(["--repo", loc, "--password-file", self.path("missing"), "snapshots"], env=env)
        self.assertRc(r, 1)
        self.assertOneLineError(r, self.path("missing"))


class Backup(CliTestCase):
    def count_files(self):
        return sum(len(fs) for _, _, fs in os.walk(self.src))  # regular files + the symlink

    def test_json_summary_and_incremental(self):
        repo = self.new_repo()
        lbtest.wait_past_ctime()  # files changed within a second are never cached
        r, s1 = repo.backup(self.src)
        last = r.last_json()
        self.assertIsInstance(last, dict)
        for k in ("snapshot_id", "files_new", "files_changed", "files_unmodified", "total_bytes_processed",
                  "data_added", "total_duration"):
            self.assertIn(k, last)
        self.assertRegex(last["snapshot_id"], r"^[0-9a-f]{64}$")
        self.assertEqual(repo.files("snapshots"), ["snapshots/" + last["snapshot_id"]])
        n = len(self.files)
        self.assertEqual(last["files_new"], n, last)
        self.assertEqual(last["total_bytes_processed"],
                         sum(os.path.getsize(os.path.join(self.src, f)) for f in self.files))
        self.assertGreater(last["data_added"], 300_000 * 0.9)

        _, s2 = repo.backup(self.src)
        self.assertEqual((s2["files_new"], s2["files_changed"], s2["files_unmodified"]), (0, 0, n), s2)
        self.assertLess(s2["data_added"], 4096, s2)
        self.assertNotEqual(s2["snapshot_id"], s1["snapshot_id"])

        with open(os.path.join(self.src, "docs/readme.txt"), "ab") as f:
            f.write(b"one more line\n")
        lbtest.write_file(os.path.join(self.src, "docs/added.txt"), b"added\n")
        _, s3 = repo.backup(self.src)
        self.assertEqual((s3["files_new"], s3["files_changed"], s3["files_unmodified"]), (1, 1, n - 1), s3)
        self.assertLess(s3["data_added"], 64 * 1024, s3)

    def test_text_output(self):
        repo = self.new_repo()
        r = repo.run("backup", self.src)
        self.assertRc(r, 0)
        self.assertRegex(r.out, r"snapshot [0-9a-f]{8} saved")
        self.assertEqual(r.err, "")
        r = repo.run("-q", "backup", self.src)
        self.assertRc(r, 0)
        self.assertEqual(len(r.lines()), 1, r.out)

    def test_nonexistent_path_fails_without_snapshot(self):
        repo = self.new_repo()
        repo.backup(self.src)
        before = self.snapshot_ids(repo)
        missing = self.path("does-not-exist")
        r = repo.run("backup", missing)
        self.assertRc(r, 1)
        self.assertOneLineError(r, missing)
        self.assertEqual(self.snapshot_ids(repo), before)
        self.assertEqual(repo.files("locks"), [])

    def test_excludes(self):
        repo = self.new_repo()
        exfile = self.path("excludes")
        with open(exfile, "w") as f:
            f.write("# a comment, then an empty line\n\n*.log\n%s\n" % os.path.join(self.src, "skipdir"))
        repo.backup("--exclude", "*.tmp", "--exclude", "nginx", "--exclude-file", exfile, self.src)
        listed = set(repo.run("ls", "latest", self.src).lines())
        rel = {os.path.relpath(p, self.src) for p in listed if p.startswith(self.src)}
        self.assertNotIn("tmp/scratch.tmp", rel)
        self.assertIn("tmp", rel)
        self.assertNotIn("logs/app.log", rel)
        self.assertNotIn("logs/old/app.1.log", rel)
        self.assertIn("logs/old", rel)
        self.assertNotIn("skipdir", rel)
        self.assertNotIn("skipdir/inside.txt", rel)
        self.assertNotIn("etc/nginx", rel)
        self.assertNotIn("etc/nginx/nginx.conf", rel)
        for keep in ("etc/app.conf", "docs/deep/er/notes.txt", "data/blob.bin", "empty", "emptydir", "link"):
            self.assertIn(keep, rel)
        snap = repo.snapshots()[0]
        self.assertIn("*.tmp", snap.get("excludes", ["*.tmp"]))

    def test_missing_exclude_file_is_an_error(self):
        repo = self.new_repo()
        r = repo.run("backup", "--exclude-file", self.path("nope"), self.src)
        self.assertRc(r, 1)
        self.assertOneLineError(r, self.path("nope"))
        self.assertEqual(self.snapshot_ids(repo), [])

    def test_no_progress_when_not_a_terminal(self):
        repo = self.new_repo()
        lbtest.write_file(os.path.join(self.src, "data/big.bin"), os.urandom(8 * MiB))
        results = [repo.run("backup", self.src),
                   repo.run("restore", "latest", "--target", self.path("t")),
                   repo.run("check", "--read-data")]
        for r in results:
            self.assertRc(r, 0)
            for stream in (r.out, r.err):
                self.assertNotIn("\r", stream, r.describe())
                self.assertNotIn("\x1b[", stream, r.describe())
                self.assertNotRegex(stream, r"\[\d+:\d\d\] ", r.describe())

    def test_concurrent_backups_share_the_repository(self):
        repo = self.new_repo()
        other = self.path("other")
        lbtest.make_random_tree(other, random.Random(5), n_small=50, large_sizes=(6 * MiB,))
        procs = [repo.popen("--json", "backup", self.src), repo.popen("--json", "backup", other)]
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, err.decode(errors="replace"))
        self.assertEqual(len(self.snapshot_ids(repo)), 2)
        repo.check("--read-data")
        self.assertEqual(repo.files("locks"), [])


class Listing(lbtest.LBTestCase):
    """Read-only commands over one repository with three snapshots (shared by the tests)."""

    @classmethod
    def setUpClass(cls):
        cls.ctmp = lbtest.make_tmpdir("lblisting-")
        try:
            cls.src = os.path.join(cls.ctmp, "src")
            cls.files = make_small_tree(cls.src)
            cls.repo = lbtest.new_repo_at(os.path.join(cls.ctmp, "repo"), os.path.join(cls.ctmp, "cache"))
            _, cls.s1 = cls.repo.backup("--tag", "daily", "--tag", "db", cls.src)
            _, cls.s2 = cls.repo.backup("--tag", "weekly", "--host", "otherhost", cls.src)
            _, cls.s3 = cls.repo.backup("--tag", "daily", cls.src)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "repo", None):
            cls.repo.remove()
        lbtest.rmtree_force(cls.ctmp)

    def test_snapshots_json_and_filters(self):
        snaps = self.repo.snapshots()
        self.assertEqual({s["id"] for s in snaps}, {self.s1["snapshot_id"], self.s2["snapshot_id"],
                                                    self.s3["snapshot_id"]})
        for s in snaps:
            for k in ("id", "time", "hostname", "paths", "tags", "tree"):
                self.assertIn(k, s)
            self.assertEqual(s["paths"], [self.src])
        ids = lambda *a: {s["id"] for s in self.repo.snapshots(*a)}
        self.assertEqual(ids("--tag", "daily"), {self.s1["snapshot_id"], self.s3["snapshot_id"]})
        self.assertEqual(ids("--tag", "daily,db"), {self.s1["snapshot_id"]})
        self.assertEqual(ids("--tag", "db", "--tag", "weekly"), {self.s1["snapshot_id"], self.s2["snapshot_id"]})
        self.assertEqual(ids("--host", "otherhost"), {self.s2["snapshot_id"]})
        self.assertEqual(ids("--tag", "nope"), set())
        self.assertEqual(ids("--path", self.src), ids())
        text = self.repo.run("snapshots", "--host", "otherhost")
        self.assertRc(text, 0)
        self.assertIn(self.s2["snapshot_id"][:8], text.out)
        self.assertNotIn(self.s1["snapshot_id"][:8], text.out)
        self.assertIn("weekly", text.out)

    def test_ls(self):
        r = self.repo.run("ls", "latest", self.src)
        self.assertRc(r, 0)
        expected = {self.src} | {os.path.join(self.src, f) for f in self.files}
        for d, dirs, _ in os.walk(self.src):
            expected |= {os.path.join(d, x) for x in dirs}
        expected.add(os.path.join(self.src, "link"))
        self.assertEqual(set(r.lines()), expected)
        # A sub-path, and --non-recursive.
        r = self.repo.run("ls", self.s1["snapshot_id"][:8], os.path.join(self.src, "etc"), "--non-recursive")
        self.assertRc(r, 0)
        self.assertEqual(set(r.lines()), {os.path.join(self.src, "etc"), os.path.join(self.src, "etc/app.conf"),
                                          os.path.join(self.src, "etc/nginx")})

    def test_ls_long(self):
        r = self.repo.run("ls", "-l", "latest", os.path.join(self.src, "etc"))
        self.assertRc(r, 0)
        conf = [l for l in r.lines() if l.endswith("/etc/app.conf")]
        self.assertEqual(len(conf), 1, r.out)
        self.assertRegex(conf[0], r"^-rw-r--r--\s+\S+/\S+\s+10\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")
        r = self.repo.run("ls", "-l", "latest", os.path.join(self.src, "link"))
        self.assertRc(r, 0)
        self.assertRegex(r.out, r"^lrwxrwxrwx.* -> etc/app.conf$")

    def test_ls_json(self):
        r = self.repo.run("--json", "ls", "latest", os.path.join(self.src, "data"))
        self.assertRc(r, 0)
        nodes = [j for j in r.json_lines() if j.get("message_type") == "node"]
        by_path = {n["path"]: n for n in nodes}
        self.assertEqual(set(by_path), {os.path.join(self.src, p) for p in ("data", "data/blob.bin", "data/zeros.bin")})
        blob = by_path[os.path.join(self.src, "data/blob.bin")]
        self.assertEqual((blob["type"], blob["size"], blob["mode"]), ("file", 300_000, 0o644))
        self.assertEqual(by_path[os.path.join(self.src, "data")]["type"], "dir")

    def test_ls_missing_path(self):
        r = self.repo.run("ls", "latest", os.path.join(self.src, "nope"))
        self.assertRc(r, (0, 1))
        self.assertEqual(r.out.strip(), "")

    def test_find(self):
        r = self.repo.run("find", "*.conf")
        self.assertRc(r, 0)
        hits = [l for l in r.lines() if self.src in l]
        self.assertEqual(len(hits), 6, r.out)  # 2 files x 3 snapshots
        self.assertTrue(all(l.endswith(".conf") for l in hits), r.out)
        r = self.repo.run("--json", "find", "NOTES.TXT", "-i", "-s", self.s3["snapshot_id"][:8])
        self.assertRc(r, 0)
        found = r.last_json()
        self.assertEqual([f["path"] for f in found], [os.path.join(self.src, "docs/deep/er/notes.txt")])
        r = self.repo.run("find", os.path.join(self.src, "etc", "*"), "--tag", "weekly")
        self.assertRc(r, 0)
        hits = {l.split()[-1] for l in r.lines() if self.src in l}
        self.assertEqual(hits, {os.path.join(self.src, "etc/app.conf"), os.path.join(self.src, "etc/nginx")})
        r = self.repo.run("find", "no-such-name*")
        self.assertRc(r, (0, 1))
        self.assertEqual([l for l in r.lines() if self.src in l], [])

    def test_stats_json(self):
        r = self.repo.run("--json", "stats")
        self.assertRc(r, 0)
        s = r.last_json()
        self.assertEqual(s["snapshots_count"], 3)
        per_snapshot = sum(os.path.getsize(os.path.join(self.src, f)) for f in self.files)
        self.assertEqual(s["total_size"], 3 * per_snapshot)
        self.assertEqual(s["total_file_count"], 3 * len(self.files))
        self.assertGreater(s["dedup_ratio"], 2.5)
        self.assertGreater(s["repository_size"], 0)
        r = self.repo.run("--json", "stats", "--host", "otherhost")
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["snapshots_count"], 1)

    def test_check(self):
        r = self.repo.check()
        self.assertIn("no errors", r.out)
        r = self.repo.check("--read-data")
        self.assertIn("no errors", r.out)
        r = self.repo.check("--read-data-subset", "50%", "--seed", "7")
        self.assertIn("no errors", r.out)
        self.assertIn("seed 7", r.out)
        r = self.repo.check("--read-data-subset", "1/3")
        r = self.repo.run("--json", "check", "--read-data")
        self.assertRc(r, 0)
        j = r.last_json()
        self.assertTrue(j["ok"])
        self.assertEqual(j["snapshots"], 3)
        self.assertEqual(j["packs_read"], j["packs"])
        self.assertEqual(j["errors"], [])


class Diff(CliTestCase):
    def test_diff_lines(self):
        repo = self.new_repo()
        _, a = repo.backup(self.src)
        with open(os.path.join(self.src, "etc/app.conf"), "ab") as f:
            f.write(b"more=1\n")
        os.unlink(os.path.join(self.src, "logs/app.log"))
        lbtest.write_file(os.path.join(self.src, "docs/new.txt"), b"new\n")
        os.unlink(os.path.join(self.src, "link"))
        os.makedirs(os.path.join(self.src, "link"))
        os.chmod(os.path.join(self.src, "docs/guide.md"), 0o600)
        _, b = repo.backup(self.src)
        r = repo.run("diff", a["snapshot_id"][:8], b["snapshot_id"][:8])
        self.assertRc(r, 0)
        changes = {}
        for line in r.lines():
            m = re.match(r"^([+\-MTU])\s+(/.*)$", line)
            if m:
                changes[m.group(2).rstrip("/")] = m.group(1)
        j = lambda p: os.path.join(self.src, p)
        self.assertEqual(changes.get(j("etc/app.conf")), "M", r.out)
        self.assertEqual(changes.get(j("logs/app.log")), "-", r.out)
        self.assertEqual(changes.get(j("docs/new.txt")), "+", r.out)
        self.assertEqual(changes.get(j("link")), "T", r.out)
        self.assertNotIn(j("docs/guide.md"), changes)  # metadata only: shown with --metadata
        self.assertNotIn(j("data/blob.bin"), changes)
        r = repo.run("diff", "--metadata", a["snapshot_id"], b["snapshot_id"])
        self.assertRc(r, 0)
        self.assertRegex(r.out, r"(?m)^U\s+%s$" % re.escape(j("docs/guide.md")))
        r = repo.run("--json", "diff", a["snapshot_id"][:8], b["snapshot_id"][:8])
        self.assertRc(r, 0)
        mods = {(c["modifier"], c["path"].rstrip("/")) for c in r.json_lines() if c.get("message_type") == "change"}
        self.assertIn(("M", j("etc/app.conf")), mods)
        self.assertIn(("-", j("logs/app.log")), mods)
        self.assertIn(("+", j("docs/new.txt")), mods)


def inotify_available():
    return bool(ctypes.util.find_library("c")) and hasattr(ctypes.CDLL(None), "inotify_init1")


class InotifyWatch:
    """Calls `action()` once the first time a file named `name` in `directory`
    is opened (IN_OPEN), from a background thread."""
    IN_OPEN = 0x20

    def __init__(self, directory, name, action):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_CLOEXEC | os.O_NONBLOCK)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if self.libc.inotify_add_watch(self.fd, os.fsencode(directory), self.IN_OPEN) < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch")
        self.name = os.fsencode(name)
        self.action = action
        self.fired = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop.is_set() and not self.fired.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            buf = os.read(self.fd, 65536)
            off = 0
            while off + 16 <= len(buf):
                wd, mask, cookie, length = struct.unpack_from("iIII", buf, off)
                name = buf[off + 16: off + 16 + length].rstrip(b"\0")
                off += 16 + length
                if mask & self.IN_OPEN and name == self.name and not self.fired.is_set():
                    self.action()
                    self.fired.set()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        os.close(self.fd)


class UnreadableAndVanishing(CliTestCase):
    def run_as(self):
        """(user, group) for lifeboat so that a file can be made unreadable:
        ourselves when not root; as root, `nobody` (root reads everything)."""
        return (NOBODY, NOBODY) if IS_ROOT else (None, None)

    def test_unreadable_file_and_directory_exit_3(self):
        user, group = self.run_as()
        locked_file = os.path.join(self.src, "data/secret.bin")
        locked_dir = os.path.join(self.src, "private")
        lbtest.write_file(locked_file, b"secret\n")
        os.makedirs(locked_dir)
        lbtest.write_file(os.path.join(locked_dir, "inside"), b"x")
        repo = lbtest.Repo(self.new_location("repo"), self.path("cache"))
        if IS_ROOT:
            # lifeboat runs as nobody: it may use everything but the two locked entries.
            os.chmod(self.tmp, 0o755)
            for d, dirs, files in os.walk(self.src):
                for n in dirs + files:
                    os.chown(os.path.join(d, n), NOBODY, NOBODY, follow_symlinks=False)
            os.chown(self.src, NOBODY, NOBODY)
            os.chown(locked_file, 0, 0)
            os.chown(locked_dir, 0, 0)
            for p in (repo.local_path, repo.cache_dir):
                if p:
                    os.makedirs(p)
                    os.chown(p, NOBODY, NOBODY)
        os.chmod(locked_file, 0o000)
        os.chmod(locked_dir, 0o000)

        def run(*args):
            argv = [lbtest.BIN] + repo.argv(args)
            p = subprocess.run(argv, env=repo.env(HOME=self.tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, user=user, group=group,
                               extra_groups=[] if IS_ROOT else None, timeout=300, start_new_session=True)
            return lbtest.Result(argv, p.returncode, p.stdout, p.stderr, 0)

        self.assertRc(run("init"), 0)
        r = run("--json", "backup", self.src)
        if os.environ.get("LBTEST_DEBUG"):
            print(r.describe())
        self.assertRc(r, 3)
        self.assertIn(locked_file, r.err)
        self.assertIn(locked_dir, r.err)
        self.assertNotIn("lifeboat: error:", r.err)
        summary = r.last_json()
        self.assertGreaterEqual(summary.get("errors", 2), 2)
        self.assertEqual(len(repo.files("snapshots")), 1, "the snapshot is written")
        # The rest of the tree is in the snapshot.
        listed = set(run("ls", "latest", self.src).out.splitlines())
        self.assertIn(os.path.join(self.src, "etc/app.conf"), listed)
        self.assertIn(os.path.join(self.src, "data/blob.bin"), listed)
        self.assertNotIn(locked_file, listed)
        self.assertRc(run("check", "--read-data"), 0)

    def test_vanishing_file_is_not_fatal(self):
        if not inotify_available():
            self.skipTest("inotify is not available")
        vdir = os.path.join(self.src, "vanish")
        os.makedirs(vdir)
        # Read in name order by one worker: while "aaa-big" is read, the
        # small files listed after it are deleted.
        lbtest.write_file(os.path.join(vdir, "aaa-big"), os.urandom(48 * MiB))
        victims = [os.path.join(vdir, "f%02d" % i) for i in range(20)]
        for v in victims:
            lbtest.write_file(v, b"here now, gone soon\n")
        repo = self.new_repo()

        def delete():
            for v in victims:
                os.unlink(v)
        watch = InotifyWatch(vdir, "aaa-big", delete)
        try:
            r = repo.run("--json", "backup", "--workers", "1", self.src)
        finally:
            watch.close()
        if not watch.fired.is_set():
            self.skipTest("the backup never opened the watched file")
        if os.environ.get("LBTEST_DEBUG"):
            print(r.describe())
        self.assertRc(r, (0, 3))
        self.assertNotIn("lifeboat: error:", r.err)
        self.assertEqual(len(repo.files("snapshots")), 1)
        listed = set(repo.run("ls", "latest", vdir).lines())
        self.assertIn(os.path.join(vdir, "aaa-big"), listed)
        for v in victims:
            self.assertNotIn(v, listed, "a file that vanished before it was read is not in the snapshot")
        repo.check("--read-data")
        target = self.path("t")
        repo.restore("latest", target, "--include", os.path.join(vdir, "aaa-big"))
        self.assertEqual(lbtest.file_sha256(os.path.join(lbtest.restored_root(target, vdir), b"aaa-big")),
                         lbtest.file_sha256(os.path.join(vdir, "aaa-big")))


class Locks(CliTestCase):
    def big_source(self, size=64 * MiB):
        src = self.path("bigsrc")
        os.makedirs(src)
        with open(os.path.join(src, "big.bin"), "wb") as f:
            for _ in range(size // (8 * MiB)):
                f.write(os.urandom(8 * MiB))
        return src

    def start_and_wait_for_lock(self, repo, *args, timeout=60):
        """Starts `lifeboat ARGS` and returns (process, lock names) once it has written its lock."""
        p = repo.popen(*args)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # A ".tmp-" name is a lock still being written (renamed into place when complete).
            locks = [n[len("locks/"):] for n in repo.files("locks") if not n.startswith("locks/.tmp-")]
            if locks:
                return p, locks
            if p.poll() is not None:
                break
            time.sleep(0.005)
        lbtest.kill_group(p)
        out, err = p.communicate()
        self.skipTest("the process ended (exit %s) before its lock was seen" % p.returncode)

    def test_exclusive_lock_held_by_live_process_exit_11(self):
        # A backup holds a shared lock and stays alive (stopped, so it cannot
        # finish first). Commands that rewrite the index or the keys need the
        # exclusive lock: exit 11, one line naming the holder, nothing changed.
        # Prune and forget take the delete lock, which backups do not block.
        repo = self.new_repo()
        src = self.big_source()
        p, locks = self.start_and_wait_for_lock(repo, "backup", src)
        try:
            os.killpg(p.pid, signal.SIGSTOP)
            before = repo.listing()
            for args in (("repair", "index"), ("repair", "snapshots"), ("config", "--lock-days", "1")):
                r = repo.run(*args)
                self.assertRc(r, 11, " ".join(args))
                self.assertOneLineError(r, "repository is locked", "PID %d" % p.pid, "backup")
            self.assertEqual(repo.listing(), before)
            r = repo.run("--json", "prune")
            self.assertRc(r, 0, "prune does not wait for backups")
            r = repo.run("forget", "--keep-last", "1")
            self.assertRc(r, 0, "neither does forget")
        finally:
            os.killpg(p.pid, signal.SIGCONT)
            out, err = p.communicate(timeout=300)
        self.assertEqual(p.returncode, 0, err.decode(errors="replace"))
        repo.check("--read-data")

    def test_stale_lock_of_killed_backup(self):
        repo = self.new_repo()
        src = self.big_source()
        p, locks = self.start_and_wait_for_lock(repo, "backup", src)
        lbtest.kill_group(p, signal.SIGKILL)
        self.assertEqual(p.returncode, -signal.SIGKILL, "the backup ended before it was killed")
        self.assertEqual(repo.files("locks"), ["locks/" + l for l in locks], "the dead process's lock stays")
        # The holder is dead (same host, pid gone): the lock does not block.
        _, s = repo.backup(self.src)
        self.assertIsNotNone(s)
        self.assertEqual(repo.files("locks"), ["locks/" + l for l in locks])
        repo.check()
        r = repo.run("unlock")
        self.assertRc(r, 0)
        self.assertIn("removed 1 lock", r.out)
        self.assertEqual(repo.files("locks"), [])
        r = repo.run("unlock")
        self.assertRc(r, 0)
        self.assertIn("removed 0 locks", r.out)
        repo.check("--read-data")

    def test_unlock_keeps_live_lock(self):
        repo = self.new_repo()
        src = self.big_source(128 * MiB)
        p, locks = self.start_and_wait_for_lock(repo, "backup", src)
        try:
            r = repo.run("--json", "unlock")
            still_running = p.poll() is None
        finally:
            out, err = p.communicate(timeout=300)
        self.assertRc(r, 0)
        if still_running:
            self.assertEqual(r.last_json(), {"message_type": "summary", "removed": 0, "kept": 1})
        self.assertEqual(p.returncode, 0, err.decode(errors="replace"))
        self.assertEqual(repo.files("locks"), [])

    def test_interrupt_exit_130_and_consistent(self):
        repo = self.new_repo()
        src = self.big_source()
        p, _ = self.start_and_wait_for_lock(repo, "backup", src)
        time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        if p.returncode == 0:
            self.skipTest("the backup finished before the interrupt")
        self.assertEqual(p.returncode, 130, err.decode(errors="replace"))
        self.assertEqual(repo.files("snapshots"), [])
        self.assertEqual(repo.files("locks"), [], "an interrupted command removes its lock")
        repo.check()


if __name__ == "__main__":
    unittest.main()
