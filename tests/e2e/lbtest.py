"""Shared helpers for the end-to-end suites (tests/e2e, tests/crash).

They drive the built `lifeboat` binary (env LIFEBOAT_BIN) against
repositories that each test creates and removes: in temporary directories
under /tmp, or, with LIFEBOAT_TEST_BACKEND=s3 or azure, under a unique prefix
of LIFEBOAT_TEST_S3 or LIFEBOAT_TEST_AZURE (see "backends" below).  Standard
library only.

- `run()` / `Repo.run()` run the binary with a clean environment and return a
  `Result` (exit code, stdout, stderr; bytes and text).
- `LBTestCase` gives every test its own temporary directory (`self.tmp`),
  removed afterwards even when it holds mode-0000 entries, and
  `new_repo()`/`new_location()` on the selected backend, removed afterwards.
- `Repo.files()`, `Repo.listing()` and `Repo.store` (objstore.py: list, read,
  write, delete) inspect and damage a repository on any backend.
- `scan_tree()` takes a metadata-and-content snapshot of a tree without
  disturbing it (lstat before anything else, O_NOATIME opens), and
  `compare_trees()` lists every difference between two snapshots.
"""

import errno
import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest
import uuid

import objstore

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PASSWORD = "correct horse battery staple"
IS_ROOT = os.geteuid() == 0

# Exit codes (docs: README "Exit codes").
EXIT_OK = 0
EXIT_FATAL = 1
EXIT_PARTIAL = 3
EXIT_NO_REPO = 10
EXIT_LOCKED = 11
EXIT_WRONG_PASSWORD = 12
EXIT_INTERRUPTED = 130

MiB = 1024 * 1024


def find_binary():
    """The binary under test: LIFEBOAT_BIN, else a build directory of this checkout."""
    b = os.environ.get("LIFEBOAT_BIN")
    if b:
        return os.path.abspath(b)
    for d in ("build-e2e", "build"):
        p = os.path.join(ROOT, d, "lifeboat")
        if os.access(p, os.X_OK):
            return p
    raise RuntimeError("set LIFEBOAT_BIN to the lifeboat binary")


BIN = find_binary()


def base_env(**extra):
    """The inherited environment without any LIFEBOAT_* setting, plus `extra`
    (a value of None removes the variable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEBOAT_")}
    env["LC_ALL"] = "C.UTF-8"
    for k, v in extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


class Result:
    def __init__(self, args, rc, out_b, err_b, duration):
        self.args = args
        self.rc = rc
        self.out_b = out_b
        self.err_b = err_b
        self.out = out_b.decode("utf-8", "surrogateescape")
        self.err = err_b.decode("utf-8", "surrogateescape")
        self.duration = duration

    def lines(self):
        return self.out.splitlines()

    def json_lines(self):
        """Every stdout line that parses as JSON."""
        out = []
        for line in self.out.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def last_json(self):
        lines = [l for l in self.out.splitlines() if l.strip()]
        if not lines:
            raise AssertionError("no output; stderr: %s" % self.err)
        return json.loads(lines[-1])

    def error_lines(self):
        return [l for l in self.err.splitlines() if l.startswith("lifeboat: error:")]

    def describe(self):
        def show(s, limit=3000):
            return s if len(s) <= limit else s[:limit] + "...[%d more chars]" % (len(s) - limit)
        return "command: %s\nexit code: %s\n--- stdout\n%s\n--- stderr\n%s" % (
            " ".join(os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in self.args),
            self.rc, show(self.out), show(self.err))

    def __repr__(self):
        return "<Result rc=%s>" % self.rc


def run(args, env=None, input=None, timeout=600, cwd=None):
    """Run the binary with `args`; stdin is /dev/null unless `input` is given.
    A new session keeps the binary away from any controlling terminal."""
    argv = [BIN] + list(args)
    t0 = time.monotonic()
    p = subprocess.run(argv, env=env if env is not None else base_env(), cwd=cwd,
                       input=input if input is not None else b"",
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, start_new_session=True)
    return Result(argv, p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


# --- backends -------------------------------------------------------------------------
#
# LIFEBOAT_TEST_BACKEND=local (default) | s3 | azure puts the repositories of
# new_repo()/new_location() on that backend, each under a prefix of its own
# below the base location the backend's variable names.  The core suites
# (test_cli, test_fidelity, test_tamper) run unchanged on every backend; the
# other suites use repository paths as directories and run on local only.

BACKEND = os.environ.get("LIFEBOAT_TEST_BACKEND", "") or "local"
BACKEND_VARS = {"s3": "LIFEBOAT_TEST_S3", "azure": "LIFEBOAT_TEST_AZURE"}


def _backend_base():
    """The base location of the selected backend.  A backend selected without
    its variable fails at import: CI selects it on purpose, and a suite that
    quietly ran on local instead would claim coverage it does not have."""
    if BACKEND == "local":
        return None
    if BACKEND not in BACKEND_VARS:
        raise RuntimeError("LIFEBOAT_TEST_BACKEND=%r: expected local, %s" % (BACKEND, ", ".join(BACKEND_VARS)))
    base = os.environ.get(BACKEND_VARS[BACKEND], "").rstrip("/")
    if not base:
        raise RuntimeError("LIFEBOAT_TEST_BACKEND=%s but %s is not set (scripts/test.sh starts the server and "
                           "sets it)" % (BACKEND, BACKEND_VARS[BACKEND]))
    return base


BACKEND_BASE = _backend_base()


def new_location(local_path):
    """A repository location that holds nothing yet: `local_path` on the
    local backend, a fresh prefix "<base>/e2e-<uuid>" on the others."""
    if BACKEND == "local":
        return local_path
    return "%s/e2e-%s" % (BACKEND_BASE, uuid.uuid4().hex)


def remove_location(location):
    """Removes every object at a location we created (best effort: a failure
    is printed, not raised, so that it does not hide the test's result)."""
    try:
        objstore.open_store(location).delete_all()
    except Exception as e:  # noqa: BLE001 - cleanup only
        print("warning: could not remove %s: %s" % (location, e))


def local_only(why):
    """Runs a test (or class) on the local backend only; `why` says what about
    it is inherently a local directory, and shows in the skip message."""
    return unittest.skipUnless(BACKEND == "local", "local backend only: " + why)


def new_repo_at(local_path, cache_dir, password=PASSWORD, init=True):
    """A repository for a class fixture (setUpClass): at `local_path`, or at a
    fresh location on the selected backend.  The caller removes it with
    `repo.remove()`."""
    r = Repo(new_location(local_path), cache_dir, password)
    if init:
        r.init()
    return r


class Repo:
    """A repository location with its password and its own cache directory.

    `path` is the location as --repo takes it: a directory, or s3:..., azure:...
    Use `store`, `files()` and `listing()` to look at the objects, so that a
    test runs on every backend; `local_path` is the directory (None elsewhere)."""

    def __init__(self, path, cache_dir, password=PASSWORD):
        self.path = path
        self.cache_dir = cache_dir
        self.password = password
        self._store = None

    @property
    def store(self):
        if self._store is None:
            self._store = objstore.open_store(self.path)
        return self._store

    @property
    def local_path(self):
        return self.path if isinstance(self.store, objstore.LocalStore) else None

    def remove(self):
        remove_location(self.path)

    def env(self, **extra):
        e = {"LIFEBOAT_PASSWORD": self.password}
        e.update(extra)
        return base_env(**e)

    def argv(self, args):
        return ["--repo", self.path, "--cache-dir", self.cache_dir] + list(args)

    def run(self, *args, env=None, **kw):
        return run(self.argv(args), env=env if env is not None else self.env(), **kw)

    def popen(self, *args, env=None, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        return subprocess.Popen([BIN] + self.argv(args), env=env if env is not None else self.env(),
                                start_new_session=True, **kw)

    def init(self):
        r = self.run("init")
        if r.rc != 0:
            raise AssertionError("init failed\n" + r.describe())
        return r

    def backup(self, *args, expect=0):
        """`backup --json ARGS`; returns (result, summary dict or None)."""
        r = self.run("--json", "backup", *args)
        if expect is not None and r.rc != expect:
            raise AssertionError("backup: expected exit %s\n%s" % (expect, r.describe()))
        summary = None
        for j in reversed(r.json_lines()):
            if isinstance(j, dict) and "snapshot_id" in j:
                summary = j
                break
        return r, summary

    def snapshots(self, *args):
        r = self.run("--json", "snapshots", *args)
        if r.rc != 0:
            raise AssertionError("snapshots failed\n" + r.describe())
        return r.last_json()

    def restore(self, snapshot, target, *args, expect=0):
        r = self.run("restore", snapshot, "--target", target, *args)
        if expect is not None and r.rc != expect:
            raise AssertionError("restore: expected exit %s\n%s" % (expect, r.describe()))
        return r

    def check(self, *args, expect=0):
        r = self.run("check", *args)
        if expect is not None and r.rc != expect:
            raise AssertionError("check: expected exit %s\n%s" % (expect, r.describe()))
        return r

    def files(self, sub=""):
        """Names (relative paths) of the repository's objects below the folder `sub`."""
        return self.store.names(sub.rstrip("/") + "/" if sub else "")

    def listing(self):
        """Every object with its size and what changes when it is written
        (locally every entry, directories too, with type, mode, size, mtime
        and inode): equal listings mean nothing was written, removed or touched."""
        return self.store.state()


# --- temporary directories ------------------------------------------------------------

def rmtree_force(path):
    """Remove a tree we created, also when it holds mode-0000 directories."""
    if not os.path.lexists(path):
        return
    if os.path.isdir(path) and not os.path.islink(path):
        try:
            os.chmod(path, 0o700)
        except OSError:
            pass
        # Top-down: each directory is opened up before the walk enters it.
        for d, dirs, _ in os.walk(path):
            for x in dirs:
                p = os.path.join(d, x)
                if not os.path.islink(p):
                    try:
                        os.chmod(p, 0o700)
                    except OSError:
                        pass

    def onerror(func, p, exc_info):
        if not isinstance(exc_info[1], FileNotFoundError):
            raise exc_info[1]
    shutil.rmtree(path, onerror=onerror)


def make_tmpdir(prefix="lbtest-"):
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")


class LBTestCase(unittest.TestCase):
    """Every test gets `self.tmp` (removed afterwards) and helpers for repositories."""

    maxDiff = 20000

    def setUp(self):
        self.tmp = make_tmpdir()
        self.addCleanup(rmtree_force, self.tmp)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def new_location(self, name):
        """A fresh repository location on the selected backend (locally
        `self.path(name)`), removed after the test."""
        loc = new_location(self.path(name))
        if loc != self.path(name):
            self.addCleanup(remove_location, loc)
        return loc

    def new_repo(self, name="repo", init=True, password=PASSWORD):
        r = Repo(self.new_location(name), self.path(name + "-cache"), password)
        if init:
            r.init()
        return r

    def assertRc(self, result, expected, msg=""):
        if isinstance(expected, int):
            ok = result.rc == expected
        else:
            ok = result.rc in expected
        if not ok:
            self.fail("expected exit code %s, got %s %s\n%s" % (expected, result.rc, msg, result.describe()))

    def assertOneLineError(self, result, *needles):
        """stderr has exactly one line, "lifeboat: error: ...", containing every needle."""
        lines = [l for l in result.err.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "expected one stderr line\n" + result.describe())
        self.assertTrue(lines[0].startswith("lifeboat: error: "), result.describe())
        for n in needles:
            self.assertIn(n.lower(), lines[0].lower(), result.describe())

    def assertTreesEqual(self, a, b, **kw):
        diffs = compare_trees(a, b, **kw)
        if diffs:
            shown = diffs[:40]
            self.fail("%d difference(s):\n  %s%s" % (len(diffs), "\n  ".join(shown),
                                                     "\n  ..." if len(diffs) > len(shown) else ""))


# --- tree snapshots -----------------------------------------------------------------

O_NOATIME = getattr(os, "O_NOATIME", 0)


def open_noatime(path, flags):
    """open() with O_NOATIME where the kernel allows it (owner or CAP_FOWNER)."""
    try:
        return os.open(path, flags | O_NOATIME | os.O_NOFOLLOW)
    except PermissionError:
        return os.open(path, flags | os.O_NOFOLLOW)


def file_sha256(path):
    fd = open_noatime(path, os.O_RDONLY)
    try:
        h = hashlib.sha256()
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            h.update(b)
        return h.hexdigest()
    finally:
        os.close(fd)


def list_dir(path):
    """Names in a directory, read through an O_NOATIME descriptor so that
    listing does not change the directory's atime."""
    fd = open_noatime(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return sorted(os.fsencode(n) for n in os.listdir(fd))
    finally:
        os.close(fd)


def read_xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return {}
        raise
    out = {}
    for n in sorted(names):
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False)
        except OSError as e:
            if e.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
                continue
            raise
    return out


TYPE_NAMES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink", stat.S_IFIFO: "fifo",
              stat.S_IFCHR: "chardev", stat.S_IFBLK: "blockdev", stat.S_IFSOCK: "socket"}


def scan_tree(root, content=True, xattrs=True):
    """A snapshot of the tree at `root` (bytes or str): {relpath bytes: entry}.

    An entry holds type, mode, uid, gid, mtime_ns, atime_ns, ctime_ns, size,
    blocks, nlink, rdev, link target, xattrs, sha256 (files) and `hardlinks`:
    the sorted relpaths within the tree sharing the entry's inode (None when
    the file has one name).  Metadata is read with lstat before anything
    else touches the entry; files and directories are read through O_NOATIME
    descriptors.  The root itself has relpath b"."."""
    root = os.fsencode(root)
    entries = {}
    inodes = {}

    def visit(path, rel):
        st = os.lstat(path)
        t = stat.S_IFMT(st.st_mode)
        e = {
            "type": TYPE_NAMES.get(t, "unknown"),
            "mode": stat.S_IMODE(st.st_mode),
            "uid": st.st_uid,
            "gid": st.st_gid,
            "mtime_ns": st.st_mtime_ns,
            "atime_ns": st.st_atime_ns,
            "ctime_ns": st.st_ctime_ns,
            "nlink": st.st_nlink,
            "blocks": st.st_blocks,
        }
        if t == stat.S_IFREG:
            e["size"] = st.st_size
        if t in (stat.S_IFCHR, stat.S_IFBLK):
            e["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
        if t != stat.S_IFDIR and st.st_nlink > 1:
            inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            e["_ino"] = (st.st_dev, st.st_ino)
        if xattrs and t in (stat.S_IFREG, stat.S_IFDIR):
            e["xattrs"] = read_xattrs(path)
        entries[rel] = e
        if t == stat.S_IFLNK:
            e["target"] = os.readlink(path)
        elif t == stat.S_IFREG and content:
            e["sha256"] = file_sha256(path)
        elif t == stat.S_IFDIR:
            for name in list_dir(path):
                visit(os.path.join(path, name), name if rel == b"." else rel + b"/" + name)

    visit(root, b".")
    for e in entries.values():
        ino = e.pop("_ino", None)
        e["hardlinks"] = tuple(sorted(inodes[ino])) if ino is not None else None
    return entries


DEFAULT_IGNORE = ("ctime_ns", "blocks")


def compare_trees(a, b, ignore=DEFAULT_IGNORE, ignore_symlink_atime=False, ignore_root=False,
                  ignore_ids=False, ignore_dir_nlink=False, only=None):
    """Differences between two scan_tree() snapshots, as readable strings.
    `only` limits the comparison to those fields (and presence)."""
    diffs = []
    ignore = set(ignore)
    if ignore_ids:
        ignore |= {"uid", "gid"}
    for rel in sorted(set(a) | set(b)):
        if ignore_root and rel == b".":
            continue
        name = rel.decode("utf-8", "backslashreplace")
        if rel not in b:
            diffs.append("%r: missing from the second tree (%s)" % (name, a[rel]["type"]))
            continue
        if rel not in a:
            diffs.append("%r: only in the second tree (%s)" % (name, b[rel]["type"]))
            continue
        ea, eb = a[rel], b[rel]
        for k in sorted(set(ea) | set(eb)):
            if k in ignore or (only is not None and k not in only):
                continue
            if k == "atime_ns" and ignore_symlink_atime and ea["type"] == "symlink":
                continue
            if k == "nlink" and ignore_dir_nlink and ea["type"] == "dir":
                continue
            va, vb = ea.get(k), eb.get(k)
            if va != vb:
                if k == "mode":
                    va, vb = oct(va) if va is not None else va, oct(vb) if vb is not None else vb
                elif isinstance(va, dict) and isinstance(vb, dict):
                    keys = sorted(x for x in set(va) | set(vb) if va.get(x) != vb.get(x))
                    va = {x: va.get(x) for x in keys}
                    vb = {x: vb.get(x) for x in keys}
                diffs.append("%r: %s %r != %r" % (name, k, va, vb))
    return diffs


def subtree(entries, rel_prefix):
    """The entries below `rel_prefix` (bytes), re-rooted there."""
    rel_prefix = rel_prefix.rstrip(b"/")
    out = {}
    for rel, e in entries.items():
        if rel == rel_prefix:
            out[b"."] = dict(e)
        elif rel.startswith(rel_prefix + b"/"):
            out[rel[len(rel_prefix) + 1:]] = dict(e)
    for e in out.values():
        if e.get("hardlinks"):
            e["hardlinks"] = tuple(sorted(h[len(rel_prefix) + 1:] for h in e["hardlinks"]
                                          if h.startswith(rel_prefix + b"/")))
    return out


def restored_root(target, source):
    """Where `restore --target target` puts the source path `source`."""
    source = os.path.abspath(os.fsencode(source))
    return os.path.join(os.fsencode(target), source.lstrip(b"/"))


# --- source trees ---------------------------------------------------------------------

def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def make_random_tree(root, rng, n_small=200, small_max=16 * 1024, large_sizes=(), dirs=8,
                     compressible_share=0.3):
    """A tree of `n_small` small files spread over `dirs` nested directories
    and one random file per size in `large_sizes`; returns total bytes."""
    os.makedirs(root, exist_ok=True)
    dirnames = []
    for i in range(dirs):
        d = os.path.join(root, "d%02d" % i, "sub%d" % (i % 3))
        os.makedirs(d, exist_ok=True)
        dirnames.append(d)
    total = 0
    for i in range(n_small):
        size = rng.randint(0, small_max)
        if rng.random() < compressible_share:
            data = (b"line %d of a compressible file\n" % i) * (size // 30 + 1)
            data = data[:size]
        else:
            data = rng.randbytes(size)
        write_file(os.path.join(dirnames[i % len(dirnames)], "f%04d.dat" % i), data)
        total += size
    big = os.path.join(root, "big")
    os.makedirs(big, exist_ok=True)
    for i, size in enumerate(large_sizes):
        with open(os.path.join(big, "large%02d.bin" % i), "wb") as f:
            left = size
            while left:
                n = min(left, 4 * MiB)
                f.write(rng.randbytes(n))
                left -= n
        total += size
    return total


def age_tree(root, seconds=3600):
    """Move every mtime/atime in the tree `seconds` into the past, so that the
    files cache does not treat the files as just modified."""
    now = time.time_ns()
    t = now - seconds * 1_000_000_000
    for d, dirs, files in os.walk(root, topdown=False):
        for n in files:
            p = os.path.join(d, n)
            if not os.path.islink(p):
                os.utime(p, ns=(t, t))
        os.utime(d, ns=(t, t))


def wait_past_ctime(seconds=1.1):
    """The files cache ignores files changed within a second of the backup's
    start (ctime cannot be set), so a test that needs cache hits waits."""
    time.sleep(seconds)


def random_seed(env_name="LIFEBOAT_TEST_SEED"):
    s = os.environ.get(env_name)
    return int(s) if s else random.SystemRandom().randrange(1, 2**31)


def kill_group(proc, sig=signal.SIGKILL):
    """Kill a process we started, by its pid, and reap it."""
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.communicate(timeout=60)
    except (subprocess.TimeoutExpired, ValueError):
        pass
