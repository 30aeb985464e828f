"""Fidelity: a backup and restore reproduce a tree exactly.

The source tree holds every kind of entry and metadata the format records
(docs/FORMAT.md, "Trees"): regular files (empty, small, multi-MiB, one over
the 8 MiB maximum chunk), nested and empty directories, symlinks (relative,
absolute, dangling), hard links (2 and 3 names), setuid/setgid/sticky and
0000 modes, odd nanosecond mtimes and atimes (also before 1970 and after
2038), user.* xattrs, POSIX ACLs, a 100 MiB sparse file, a FIFO, device
nodes, names that are not UTF-8 or hold newlines and spaces, and foreign
owners.  One backup and one restore are shared by the FullTree tests, each
of which checks one aspect; the other classes use their own repositories
(on the backend LIFEBOAT_TEST_BACKEND selects, see lbtest).
"""

import errno
import os
import random
import shutil
import stat
import subprocess
import time
import unittest

import lbtest
from lbtest import IS_ROOT, MiB

# Odd nanosecond times: every digit matters.
T_MTIME = 1_234_567_890_123_456_789      # 2009-02-13
T_ATIME = 1_111_111_111_987_654_321      # 2005-03-18
T_BEFORE_1970 = -86_400_123_456_789      # 1969-12-31
T_AFTER_2038 = 2_500_000_000_000_000_001  # 2049-03-22

SPARSE_SIZE = 100 * MiB


def symlink_atime_is_stable():
    """readlink(2) updates a symlink's atime (no O_NOATIME exists for it), so
    any reader - this harness and the backup alike - changes it, unless the
    mount's relatime rule leaves an atime that is newer than mtime and ctime
    and less than a day old untouched.  Symlinks therefore get an atime
    slightly in the future; this probe says whether that keeps it stable."""
    d = lbtest.make_tmpdir("lbprobe-")
    try:
        p = os.path.join(d, "l")
        os.symlink("target", p)
        t = time.time_ns() + 3600 * 10**9 + 123
        os.utime(p, ns=(t, T_MTIME), follow_symlinks=False)
        os.readlink(p)
        return os.lstat(p).st_atime_ns == t
    finally:
        shutil.rmtree(d)


def try_setfacl(args):
    if not shutil.which("setfacl"):
        return False
    p = subprocess.run(["setfacl"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode == 0


def build_tree(src, rng):
    """Creates the fidelity tree at `src` (str); returns a dict of which
    optional features it holds."""
    feat = {"xattr": False, "acl": False, "sparse": False, "devices": False, "chown": False,
            "negative_time": False, "symlink_atime": symlink_atime_is_stable()}
    b = os.fsencode(src)
    P = lambda *parts: os.path.join(b, *[os.fsencode(x) for x in parts])

    os.makedirs(src)
    # Regular files.
    lbtest.write_file(P("empty"), b"")
    lbtest.write_file(P("small.txt"), b"hello, lifeboat\n")
    lbtest.write_file(P("random-3m.bin"), rng.randbytes(3 * MiB + 17))
    big = rng.randbytes(5 * MiB) + rng.randbytes(4 * MiB) + bytes(1 * MiB) + rng.randbytes(2 * MiB + 3)
    lbtest.write_file(P("big-12m.bin"), big)  # > 8 MiB max chunk: several chunks
    lbtest.write_file(P("text.txt"), b"".join(b"line %06d of some compressible text\n" % i for i in range(30000)))
    # Directories.
    os.makedirs(P("nested", "a", "b", "c", "d"))
    lbtest.write_file(P("nested", "a", "b", "c", "d", "deep.txt"), b"deep\n")
    lbtest.write_file(P("nested", "a", "mid.txt"), b"mid\n")
    os.makedirs(P("emptydir"))
    os.makedirs(P("emptydirs", "inner", "innermost"))
    # Symlinks.
    os.makedirs(P("links"))
    os.symlink(b"../small.txt", P("links", "relative"))
    os.symlink(P("small.txt"), P("links", "absolute"))
    os.symlink(b"does/not/exist", P("links", "dangling"))
    os.symlink(b"../nested", P("links", "to-dir"))
    # Hard links: 2 names (in two directories) and 3 names.
    os.makedirs(P("hard"))
    lbtest.write_file(P("hard", "two-a"), b"two names\n" * 100)
    os.link(P("hard", "two-a"), P("nested", "two-b"))
    lbtest.write_file(P("hard", "three-a"), rng.randbytes(200_000))
    os.link(P("hard", "three-a"), P("hard", "three-b"))
    os.link(P("hard", "three-a"), P("hard", "three-c"))
    # Special permission bits.
    os.makedirs(P("perms"))
    modes = {"setuid": 0o4755, "setgid": 0o2750, "all-bits": 0o7777, "private": 0o600, "exec": 0o711,
             "setuid-noexec": 0o4644}
    if IS_ROOT:
        modes["zero"] = 0o000  # unreadable for anyone but root
    for name, mode in modes.items():
        lbtest.write_file(P("perms", name), name.encode() * 10)
    os.makedirs(P("perms", "sticky-dir"))
    lbtest.write_file(P("perms", "sticky-dir", "inside"), b"x")
    os.makedirs(P("perms", "setgid-dir"))
    if IS_ROOT:
        os.makedirs(P("perms", "zero-dir"))
        lbtest.write_file(P("perms", "zero-dir", "hidden"), b"behind a 0000 directory\n")
    # Extended attributes.
    os.makedirs(P("xattr"))
    lbtest.write_file(P("xattr", "file"), b"with xattrs\n")
    try:
        os.setxattr(P("xattr", "file"), "user.comment", b"a comment")
        os.setxattr(P("xattr", "file"), "user.binary", bytes(range(256)))
        os.setxattr(P("xattr", "file"), "user.empty", b"")
        os.setxattr(P("xattr"), "user.on-a-dir", b"dir value")
        feat["xattr"] = True
    except OSError as e:
        if e.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    # POSIX ACLs (setfacl from the system; nothing is installed).
    os.makedirs(P("acl", "dir"))
    lbtest.write_file(P("acl", "file"), b"with an ACL\n")
    if try_setfacl(["-m", "u:1234:rw-,g:5678:r--", os.path.join(src, "acl", "file")]) and \
            try_setfacl(["-m", "u:1234:rwx", "-d", "-m", "u:1234:r-x,g:5678:r-x", os.path.join(src, "acl", "dir")]):
        feat["acl"] = True
    # A sparse file: 100 MiB with three written blocks.
    os.makedirs(P("sparse"))
    sp = P("sparse", "disk.img")
    with open(sp, "wb") as f:
        for off in (0, 33 * MiB + 4096, SPARSE_SIZE - 4096):
            f.seek(off)
            f.write(rng.randbytes(4096))
        f.truncate(SPARSE_SIZE)
    feat["sparse"] = os.lstat(sp).st_blocks * 512 < 1 * MiB
    # FIFO and device nodes.
    os.makedirs(P("special"))
    os.mkfifo(P("special", "fifo"), 0o640)
    if IS_ROOT:
        try:
            os.mknod(P("special", "chardev"), stat.S_IFCHR | 0o620, os.makedev(1, 3))  # /dev/null: harmless if anything reads it
            os.mknod(P("special", "blockdev"), stat.S_IFBLK | 0o660, os.makedev(7, 250))
            feat["devices"] = True
        except PermissionError:
            pass
    # File names: not UTF-8, newlines, spaces, tabs, leading dashes.
    os.makedirs(P("names"))
    for name in (b"\xff\xfe", b"line\nbreak", b" with  spaces ", b"caf\xc3\xa9", b"tab\there", b"-dash",
                 b"star*question?", b"latin1-\xe9t\xe9"):
        lbtest.write_file(os.path.join(P("names"), name), name + b"\n")
    os.makedirs(os.path.join(P("names"), b"dir\xff\nname"))
    lbtest.write_file(os.path.join(P("names"), b"dir\xff\nname", b"inner"), b"inner\n")
    # Foreign owners (root only).
    os.makedirs(P("owned", "dir"))
    lbtest.write_file(P("owned", "file"), b"owned by someone else\n")
    lbtest.write_file(P("owned", "setuid-other"), b"setuid, foreign owner\n")
    os.symlink(b"file", P("owned", "link"))
    if IS_ROOT:
        os.chown(P("owned", "file"), 1234, 5678)
        os.chown(P("owned", "dir"), 1234, 5678)
        os.chown(P("owned", "setuid-other"), 1234, 5678)
        os.chown(P("owned", "link"), 1234, 5678, follow_symlinks=False)
        os.chown(P("hard", "three-a"), 4321, 8765)
        feat["chown"] = True

    # Modes last but one (chown clears setuid bits), times last (everything
    # above changed the directories' mtimes).
    for name, mode in modes.items():
        os.chmod(P("perms", name), mode)
    os.chmod(P("perms", "sticky-dir"), 0o1777)
    os.chmod(P("perms", "setgid-dir"), 0o2775)
    os.chmod(P("owned", "setuid-other"), 0o4750)
    os.chmod(P("owned", "dir"), 0o750)
    if IS_ROOT:
        os.chmod(P("perms", "zero-dir"), 0o000)

    symlink_atime = time.time_ns() + 6 * 3600 * 10**9 + 987_654_321
    entries = []
    for d, dirs, files in os.walk(b, topdown=False):
        for n in sorted(files) + sorted(x for x in dirs if os.path.islink(os.path.join(d, x))):
            entries.append(os.path.join(d, n))
        entries.append(d)
    # Hard-linked names share one inode: set their times once.
    seen = set()
    for i, p in enumerate(entries):
        st = os.lstat(p)
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        mtime = T_MTIME + i * 1_000_000_007
        atime = T_ATIME + i * 999_999_937
        if stat.S_ISLNK(st.st_mode):
            os.utime(p, ns=(symlink_atime + i, mtime), follow_symlinks=False)
        else:
            os.utime(p, ns=(atime, mtime))
    try:
        os.utime(P("nested", "a", "mid.txt"), ns=(T_ATIME + 1, T_BEFORE_1970))
        os.utime(P("text.txt"), ns=(T_AFTER_2038 + 2, T_AFTER_2038))
        feat["negative_time"] = os.lstat(P("nested", "a", "mid.txt")).st_mtime_ns == T_BEFORE_1970
    except OSError:
        pass
    return feat


class FullTree(lbtest.LBTestCase):
    """One backup and one restore of the fidelity tree, checked aspect by aspect."""

    @classmethod
    def setUpClass(cls):
        cls.ctmp = lbtest.make_tmpdir("lbfidelity-")
        try:
            cls._prepare()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _prepare(cls):
        seed = lbtest.random_seed()
        print("\nFullTree seed: %d (LIFEBOAT_TEST_SEED to repeat)" % seed)
        rng = random.Random(seed)
        cls.src = os.path.join(cls.ctmp, "src tree")  # a space in the source path too
        cls.feat = build_tree(cls.src, rng)
        print("features: %s" % cls.feat)
        cls.repo = lbtest.new_repo_at(os.path.join(cls.ctmp, "repo"), os.path.join(cls.ctmp, "cache"))
        cls.before = lbtest.scan_tree(cls.src)
        cls.before_again = lbtest.scan_tree(cls.src)
        cls.backup_result, cls.summary = cls.repo.backup(cls.src, expect=None)
        cls.after = lbtest.scan_tree(cls.src)
        cls.target = os.path.join(cls.ctmp, "target")
        cls.restore_result = cls.repo.run("restore", "latest", "--target", cls.target)
        root = lbtest.restored_root(cls.target, cls.src)
        cls.restored = lbtest.scan_tree(root) if os.path.isdir(root) else {}

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "repo", None):
            cls.repo.remove()
        lbtest.rmtree_force(cls.ctmp)

    def compare(self, only=None, **kw):
        kw.setdefault("ignore_symlink_atime", not self.feat["symlink_atime"])
        kw.setdefault("ignore_ids", not IS_ROOT)
        self.assertTreesEqual(self.before, self.restored, only=only, **kw)

    # --- the runs themselves ---

    def test_00_harness_scan_is_repeatable(self):
        """The harness itself reads the tree without changing it."""
        self.assertTreesEqual(self.before, self.before_again, ignore=())

    def test_01_backup_succeeds(self):
        self.assertEqual(self.backup_result.rc, 0, self.backup_result.describe())
        self.assertIsNotNone(self.summary, self.backup_result.describe())

    def test_02_restore_succeeds(self):
        self.assertEqual(self.restore_result.rc, 0, self.restore_result.describe())

    def test_source_unmodified_by_backup(self):
        """Backup changes nothing in the source: no atime (files and
        directories), ctime, mode, content or xattr."""
        self.assertTreesEqual(self.before, self.after, ignore=(),
                              ignore_symlink_atime=not self.feat["symlink_atime"])

    # --- aspects of the restored tree ---

    def test_whole_tree_identical(self):
        self.compare()

    def test_types_and_names(self):
        self.compare(only={"type"})
        names = {k for k in self.restored if k.startswith(b"names/")}
        for n in (b"names/\xff\xfe", b"names/line\nbreak", b"names/ with  spaces ", b"names/dir\xff\nname/inner",
                  b"names/latin1-\xe9t\xe9"):
            self.assertIn(n, names)

    def test_file_contents(self):
        self.compare(only={"type", "size", "sha256"})

    def test_large_file_has_several_chunks(self):
        r = self.repo.run("--json", "stats")
        self.assertEqual(r.rc, 0, r.describe())
        # 12 MiB of random data cannot fit in one chunk of at most 8 MiB.
        self.assertEqual(self.before[b"big-12m.bin"]["sha256"], self.restored[b"big-12m.bin"]["sha256"])
        self.assertGreaterEqual(r.last_json().get("unique_blob_count", 0), 3, r.out)

    def test_modes(self):
        self.compare(only={"type", "mode"})
        self.assertEqual(self.restored[b"perms/all-bits"]["mode"], 0o7777)
        self.assertEqual(self.restored[b"perms/sticky-dir"]["mode"], 0o1777)
        if IS_ROOT:
            self.assertEqual(self.restored[b"perms/zero"]["mode"], 0)
            self.assertEqual(self.restored[b"perms/zero-dir"]["mode"], 0)

    def test_owners(self):
        if not IS_ROOT:
            self.skipTest("owners are restored only when running as root")
        self.compare(only={"uid", "gid"})
        self.assertEqual((self.restored[b"owned/file"]["uid"], self.restored[b"owned/file"]["gid"]), (1234, 5678))
        self.assertEqual(self.restored[b"owned/link"]["uid"], 1234)
        # chown clears setuid: the restorer must set the mode after the owner.
        self.assertEqual(self.restored[b"owned/setuid-other"]["mode"], 0o4750)

    def test_mtimes(self):
        self.compare(only={"mtime_ns"})
        self.assertEqual(self.restored[b"text.txt"]["mtime_ns"], T_AFTER_2038)
        if self.feat["negative_time"]:
            self.assertEqual(self.restored[b"nested/a/mid.txt"]["mtime_ns"], T_BEFORE_1970)

    def test_atimes(self):
        self.compare(only={"atime_ns"})

    def test_directory_times(self):
        dirs_before = {k: v for k, v in self.before.items() if v["type"] == "dir"}
        dirs_after = {k: v for k, v in self.restored.items() if v["type"] == "dir"}
        self.assertTreesEqual(dirs_before, dirs_after, only={"mtime_ns", "atime_ns"})

    def test_symlinks(self):
        self.compare(only={"type", "target"})
        src_b = os.fsencode(self.src)
        self.assertEqual(self.restored[b"links/absolute"]["target"], os.path.join(src_b, b"small.txt"))
        self.assertEqual(self.restored[b"links/dangling"]["target"], b"does/not/exist")

    def test_hard_links(self):
        self.compare(only={"hardlinks", "nlink"}, ignore_dir_nlink=True)
        root = lbtest.restored_root(self.target, self.src)
        ino = lambda rel: os.lstat(os.path.join(root, rel)).st_ino
        self.assertEqual(ino(b"hard/two-a"), ino(b"nested/two-b"))
        self.assertEqual(ino(b"hard/three-a"), ino(b"hard/three-b"))
        self.assertEqual(ino(b"hard/three-a"), ino(b"hard/three-c"))
        self.assertNotEqual(ino(b"hard/two-a"), ino(b"hard/three-a"))
        self.assertEqual(os.lstat(os.path.join(root, b"hard/three-c")).st_nlink, 3)

    def test_xattrs(self):
        if not self.feat["xattr"]:
            self.skipTest("the file system does not support user xattrs")
        self.compare(only={"xattrs"})
        x = self.restored[b"xattr/file"]["xattrs"]
        self.assertEqual(x.get("user.binary"), bytes(range(256)))
        self.assertEqual(x.get("user.empty"), b"")
        self.assertEqual(self.restored[b"xattr"]["xattrs"].get("user.on-a-dir"), b"dir value")

    def test_acls(self):
        if not self.feat["acl"]:
            self.skipTest("setfacl is missing or the file system has no POSIX ACLs")
        for rel in (b"acl/file", b"acl/dir"):
            self.assertEqual(self.before[rel]["xattrs"], self.restored[rel]["xattrs"], rel)
        self.assertIn("system.posix_acl_default", self.restored[b"acl/dir"]["xattrs"])
        root = lbtest.restored_root(self.target, self.src)

        def getfacl(p):
            r = subprocess.run(["getfacl", "-c", "-n", p], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            return r.stdout
        for rel in (b"acl/file", b"acl/dir"):
            self.assertEqual(getfacl(os.path.join(os.fsencode(self.src), rel)), getfacl(os.path.join(root, rel)))

    def test_sparse_file_keeps_holes(self):
        if not self.feat["sparse"]:
            self.skipTest("the file system does not keep holes")
        e = self.restored.get(b"sparse/disk.img")
        self.assertIsNotNone(e)
        self.assertEqual(e["size"], SPARSE_SIZE)
        self.assertEqual(e["sha256"], self.before[b"sparse/disk.img"]["sha256"])
        self.assertLess(e["blocks"] * 512, 2 * MiB,
                        "restored sparse file uses %d bytes of disk for %d bytes" % (e["blocks"] * 512, SPARSE_SIZE))

    def test_fifo_and_devices(self):
        self.assertEqual(self.restored.get(b"special/fifo", {}).get("type"), "fifo")
        if not self.feat["devices"]:
            self.skipTest("device nodes need root")
        for rel, t, rdev in ((b"special/chardev", "chardev", (1, 3)), (b"special/blockdev", "blockdev", (7, 250))):
            e = self.restored.get(rel)
            self.assertIsNotNone(e, rel)
            self.assertEqual((e["type"], e["rdev"], e["mode"]), (t, rdev, self.before[rel]["mode"]))

    def test_restore_over_existing_target(self):
        """Restoring again into a target where files were changed, removed,
        replaced by other types or re-linked gives the snapshot back exactly."""
        target = os.path.join(self.ctmp, "target-again")
        r = self.repo.run("restore", "latest", "--target", target)
        self.assertEqual(r.rc, 0, r.describe())
        root = lbtest.restored_root(target, self.src)
        j = lambda rel: os.path.join(root, rel)
        lbtest.write_file(j(b"small.txt"), b"something else, and longer than before\n")
        os.unlink(j(b"empty"))
        os.chmod(j(b"perms/setuid"), 0o644)
        os.unlink(j(b"links/dangling"))
        lbtest.write_file(j(b"links/dangling"), b"a file where a symlink was\n")
        with open(j(b"big-12m.bin"), "ab") as f:
            f.write(b"appended")
        os.unlink(j(b"links/relative"))
        os.symlink(b"elsewhere", j(b"links/relative"))
        os.unlink(j(b"hard/three-b"))
        lbtest.write_file(j(b"hard/three-b"), b"no longer a link\n")
        lbtest.write_file(j(b"emptydir/stray"), b"not in the snapshot\n")
        r = self.repo.run("restore", "latest", "--target", target)
        self.assertEqual(r.rc, 0, r.describe())
        again = lbtest.scan_tree(root)
        # A file that is not in the snapshot may stay (as with restic); all else must match.
        again.pop(b"emptydir/stray", None)
        self.assertTreesEqual(self.before, again, ignore_symlink_atime=not self.feat["symlink_atime"],
                              ignore_ids=not IS_ROOT)

    def test_restore_with_directory_in_the_way(self):
        """A directory where the snapshot has a file (a leftover, or another
        snapshot restored before): either it is replaced by the file, or the
        restore fails naming the path and leaves the directory alone.  What
        must not happen is a silent success without the file."""
        target = os.path.join(self.ctmp, "target-type")
        root = lbtest.restored_root(target, self.src)
        os.makedirs(os.path.join(root, b"nested/a/mid.txt/inside"))
        lbtest.write_file(os.path.join(root, b"nested/a/mid.txt/inside/f"), b"in the way\n")
        os.makedirs(os.path.join(root, b"small.txt"))
        r = self.repo.run("restore", "latest", "--target", target, "--include",
                          os.path.join(self.src, "nested"), "--include", os.path.join(self.src, "small.txt"))
        again = lbtest.scan_tree(root)
        for rel in (b"nested/a/mid.txt", b"small.txt"):
            if r.rc == 0:
                self.assertEqual(again[rel]["type"], "file", rel)
                self.assertEqual(again[rel]["sha256"], self.before[rel]["sha256"], rel)
            else:
                self.assertEqual(r.rc, 1, r.describe())
                self.assertIn(os.path.join(root, rel).decode(), r.err)
                self.assertEqual(again[rel]["type"], "dir")
        if r.rc != 0:
            self.assertIn(b"nested/a/mid.txt/inside/f", again)
        # Everything else was restored either way.
        self.assertEqual(again[b"nested/a/b/c/d/deep.txt"]["sha256"], self.before[b"nested/a/b/c/d/deep.txt"]["sha256"])

    def test_snapshot_summary_counts(self):
        n_files = sum(1 for e in self.before.values() if e["type"] == "file")
        n_distinct = len({e["hardlinks"] or k for k, e in self.before.items() if e["type"] == "file"})
        self.assertIn(self.summary["files_new"], (n_files, n_distinct), self.summary)
        self.assertEqual(self.summary["files_changed"], 0)


class PartialRestore(lbtest.LBTestCase):
    """restore --include: an anchored path, a name, a glob, and several at once."""

    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        for rel, data in (("etc/nginx/nginx.conf", b"worker_processes 2;\n"),
                          ("etc/nginx/sites/default", b"server {}\n"),
                          ("etc/app.conf", b"a=1\n"),
                          ("home/alice/doc.txt", b"alice\n"),
                          ("home/alice/notes/todo.md", b"- test\n"),
                          ("home/bob/x.conf", b"b=2\n"),
                          ("home/bob/alice", b"not a directory named alice\n")):
            p = os.path.join(self.src, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            lbtest.write_file(p, data)
        self.repo = self.new_repo()
        self.repo.backup(self.src)
        self.before = lbtest.scan_tree(self.src)

    def restore_files(self, *includes):
        target = self.path("t%d" % len(os.listdir(self.tmp)))
        r = self.repo.restore("latest", target, *[a for i in includes for a in ("--include", i)])
        root = lbtest.restored_root(target, self.src)
        tree = lbtest.scan_tree(root) if os.path.isdir(root) else {}
        return r, {k for k, e in tree.items() if e["type"] == "file"}, tree

    def test_anchored_path(self):
        _, files, tree = self.restore_files(os.path.join(self.src, "etc/nginx"))
        self.assertEqual(files, {b"etc/nginx/nginx.conf", b"etc/nginx/sites/default"})
        self.assertTreesEqual(lbtest.subtree(self.before, b"etc/nginx"), lbtest.subtree(tree, b"etc/nginx"))

    def test_anchored_single_file(self):
        _, files, tree = self.restore_files(os.path.join(self.src, "home/alice/doc.txt"))
        self.assertEqual(files, {b"home/alice/doc.txt"})
        self.assertEqual(tree[b"home/alice/doc.txt"]["sha256"], self.before[b"home/alice/doc.txt"]["sha256"])

    def test_glob_anywhere(self):
        _, files, _ = self.restore_files("*.conf")
        self.assertEqual(files, {b"etc/nginx/nginx.conf", b"etc/app.conf", b"home/bob/x.conf"})

    def test_name_anywhere(self):
        _, files, _ = self.restore_files("alice")
        self.assertEqual(files, {b"home/alice/doc.txt", b"home/alice/notes/todo.md", b"home/bob/alice"})

    def test_several_includes(self):
        _, files, _ = self.restore_files(os.path.join(self.src, "etc/app.conf"), os.path.join(self.src, "home/bob"))
        self.assertEqual(files, {b"etc/app.conf", b"home/bob/x.conf", b"home/bob/alice"})

    def test_include_matching_nothing_fails_clearly(self):
        target = self.path("nothing")
        r = self.repo.restore("latest", target, "--include", os.path.join(self.src, "no/such/path"), expect=None)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "include")
        root = lbtest.restored_root(target, self.src)
        files = [f for _, _, fs in os.walk(root) for f in fs]
        self.assertEqual(files, [])


class SnapshotSelection(lbtest.LBTestCase):
    """restore by `latest`, id prefix, --at (local and RFC 3339 times) among
    snapshots whose recorded times differ from the order they were written."""

    # (content, recorded time) in the order the backups run.
    PLAN = (("v1", "2020-03-01T12:00:00Z"),
            ("v3", "2022-03-01T12:00:00.5Z"),
            ("v2", "2021-03-01T12:00:00+02:00"))  # = 10:00:00Z, written last

    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        os.makedirs(self.src)
        self.repo = self.new_repo()
        self.ids = {}
        for content, when in self.PLAN:
            lbtest.write_file(os.path.join(self.src, "version.txt"), content.encode())
            _, s = self.repo.backup("--time", when, self.src)
            self.ids[content] = s["snapshot_id"]

    def restored_version(self, *args, env=None, expect=0):
        target = self.path("t%d" % len(os.listdir(self.tmp)))
        r = self.repo.run("restore", "--target", target, *args, env=env)
        self.assertEqual(r.rc, expect, r.describe())
        p = os.path.join(lbtest.restored_root(target, self.src), b"version.txt")
        if not os.path.exists(p):
            return None
        with open(p, "rb") as f:
            return f.read().decode()

    def test_recorded_times(self):
        snaps = {s["id"]: s["time"] for s in self.repo.snapshots()}
        self.assertTrue(snaps[self.ids["v1"]].startswith("2020-03-01T12:00:00"), snaps)
        self.assertTrue(snaps[self.ids["v2"]].startswith("2021-03-01T10:00:00"), snaps)
        self.assertTrue(snaps[self.ids["v3"]].startswith("2022-03-01T12:00:00.5"), snaps)

    def test_latest_is_newest_time_not_last_written(self):
        self.assertEqual(self.restored_version("latest"), "v3")

    def test_id_prefix(self):
        for v in ("v1", "v2", "v3"):
            self.assertEqual(self.restored_version(self.ids[v][:8]), v)
        self.assertEqual(self.restored_version(self.ids["v2"]), "v2")

    def test_unknown_id_fails(self):
        bogus = "0" * 8 if not any(i.startswith("0" * 8) for i in self.ids.values()) else "f" * 8
        self.assertIsNone(self.restored_version(bogus, expect=1))

    def test_at_rfc3339(self):
        self.assertEqual(self.restored_version("--at", "2021-03-01T10:30:00Z"), "v2")
        self.assertEqual(self.restored_version("--at", "2021-03-01T10:00:00Z"), "v2")  # at, inclusive
        self.assertEqual(self.restored_version("--at", "2021-03-01T11:59:59+02:00"), "v1")  # 09:59:59Z
        self.assertEqual(self.restored_version("--at", "2022-03-01T12:00:00Z"), "v2")  # .5 s before v3
        self.assertEqual(self.restored_version("--at", "2030-01-01T00:00:00Z"), "v3")

    def test_at_local_time(self):
        # "YYYY-MM-DD HH:MM:SS" is local time; in UTC+2, 12:15 local is 10:15Z.
        env = self.repo.env(TZ="XYZ-2")
        self.assertEqual(self.restored_version("--at", "2021-03-01 12:15:00", env=env), "v2")
        self.assertEqual(self.restored_version("--at", "2021-03-01 11:45:00", env=env), "v1")
        self.assertEqual(self.restored_version("--at", "2021-03-01 12:00:00", env=env), "v2")
        env_utc = self.repo.env(TZ="UTC")
        self.assertEqual(self.restored_version("--at", "2021-03-01 11:45:00", env=env_utc), "v2")

    def test_at_date_alone_means_end_of_day(self):
        env = self.repo.env(TZ="UTC")
        self.assertEqual(self.restored_version("--at", "2021-03-01", env=env), "v2")
        self.assertEqual(self.restored_version("--at", "2021-02-28", env=env), "v1")

    def test_at_before_every_snapshot_fails(self):
        self.assertIsNone(self.restored_version("--at", "2019-01-01 00:00:00", expect=1))

    def test_backup_time_in_local_format(self):
        env = self.repo.env(TZ="XYZ-2")
        lbtest.write_file(os.path.join(self.src, "version.txt"), b"v0")
        r = self.repo.run("--json", "backup", "--time", "2019-05-05 12:00:00", self.src, env=env)
        self.assertEqual(r.rc, 0, r.describe())
        sid = r.last_json()["snapshot_id"]
        snaps = {s["id"]: s["time"] for s in self.repo.snapshots()}
        self.assertTrue(snaps[sid].startswith("2019-05-05T10:00:00"), snaps[sid])
        self.assertEqual(self.restored_version("--at", "2019-12-31T00:00:00Z"), "v0")


if __name__ == "__main__":
    unittest.main()
