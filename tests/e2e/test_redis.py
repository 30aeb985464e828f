"""lifeboat redis backup / restore and verify-restore of Redis snapshots,
against real redis-server processes that each test starts on 127.0.0.1 (a
free port, a directory of its own) and stops.

The data is compared through a small RESP client (standard library only):
every key of every database with its type, value and TTL presence.
"""

import os
import random
import shutil
import socket
import subprocess
import time
import unittest

import lbtest
from lbtest import LBTestCase

EXIT_VERIFY_FAILED = 14
REDIS_SERVER = shutil.which("redis-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RespError(Exception):
    pass


class Resp:
    """A minimal RESP2 client."""

    def __init__(self, port=None, password=None, unix=None):
        if unix:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.sock.makefile("rb")
        if password:
            self.cmd("AUTH", password)

    def close(self):
        self.f.close()
        self.sock.close()

    @staticmethod
    def encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, (int, float)):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("connection closed")
        t, body = line[:1], line[1:-2]
        if t == b"+":
            return body.decode()
        if t == b"-":
            raise RespError(body.decode())
        if t == b":":
            return int(body)
        if t == b"$":
            n = int(body)
            if n < 0:
                return None
            return self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(body)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RespError("unexpected reply %r" % line)

    def cmd(self, *args):
        self.sock.sendall(self.encode(args))
        return self.read()

    def pipeline(self, commands):
        self.sock.sendall(b"".join(self.encode(c) for c in commands))
        return [self.read() for _ in commands]


class RedisServer:
    """A redis-server of our own; `extra` are more command-line settings."""

    def __init__(self, directory, password=None, extra=()):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.port = free_port()
        self.password = password
        self.extra = list(extra)
        self.proc = None
        self.clients = []

    def start(self, rdb_dir=None, settings=None):
        args = settings if settings is not None else [
            "--dir", rdb_dir or self.dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--daemonize", "no",
                "--logfile", os.path.join(self.dir, "redis-%d.log" % self.port)] + args + self.extra
        if self.password:
            argv += ["--requirepass", self.password]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                c = self.client()
                try:
                    c.cmd("PING")
                    return self
                finally:
                    c.close()
            except (OSError, RespError) as e:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start: %s" % e)
                time.sleep(0.05)

    def client(self):
        """A connection, closed when the server stops."""
        c = Resp(self.port, self.password)
        self.clients.append(c)
        return c

    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def stop(self):
        for c in self.clients:
            c.close()
        self.clients = []
        if self.proc and self.proc.poll() is None:
            try:
                c = self.client()
                try:
                    c.cmd("SHUTDOWN", "NOSAVE")
                except (ConnectionError, RespError, OSError):
                    pass
                c.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def fill(client, rng, keys=300, big_values=0, value_size=400):
    """Keys of every type in db0, db1 and db5; returns {db: key count}."""
    cmds = [("SELECT", 0)]
    for i in range(keys):
        cmds.append(("SET", "str:%d" % i, rng.randbytes(rng.randint(0, 64))))
    for i in range(big_values):
        cmds.append(("SET", "big:%d" % i, rng.randbytes(value_size)))
    cmds.append(("SET", "greeting", "hello"))
    cmds.append(("SET", "int", 12345))
    cmds.append(("SET", "ttl:long", "x", "EX", 100000))
    cmds.append(("HSET", "hash:small", "a", 1, "b", "two"))
    cmds.append(("HSET", "hash:big") + tuple(x for i in range(300) for x in ("f%d" % i, "v" * (i % 80))))
    cmds.append(("RPUSH", "list:small", "a", "b", "c"))
    cmds.append(("RPUSH", "list:big") + tuple("item%d" % i for i in range(2000)))
    cmds.append(("SADD", "set:ints", 1, 2, 3, 99))
    cmds.append(("SADD", "set:big") + tuple("m%d" % i for i in range(600)))
    cmds.append(("ZADD", "zset:small", 1, "a", 2.5, "b"))
    cmds.append(("ZADD", "zset:big") + tuple(x for i in range(500) for x in (i * 0.5, "z%d" % i)))
    for i in range(20):
        cmds.append(("XADD", "stream", "*", "n", i))
    cmds.append(("XGROUP", "CREATE", "stream", "grp", "0"))
    cmds.append(("XREADGROUP", "GROUP", "grp", "alice", "COUNT", 5, "STREAMS", "stream", ">"))
    cmds.append(("FUNCTION", "LOAD", "REPLACE",
                 "#!lua name=lifeboat_test\nredis.register_function('answer', function() return 42 end)"))
    cmds.append(("SELECT", 1))
    for i in range(50):
        cmds.append(("SET", "db1:%d" % i, i))
    cmds.append(("SELECT", 5))
    cmds.append(("HSET", "db5:h", "k", "v"))
    cmds.append(("SELECT", 0))
    client.pipeline(cmds)
    db0 = keys + big_values + 12
    return {"db0": db0, "db1": 50, "db5": 1}


def contents(client):
    """Every key of every database: {db: {key: (type, value, has_ttl)}}."""
    out = {}
    info = client.cmd("INFO", "keyspace").decode()
    dbs = [int(l.split(":")[0][2:]) for l in info.splitlines() if l.startswith("db")]
    for db in dbs:
        client.cmd("SELECT", db)
        keys = []
        cursor = b"0"
        while True:
            cursor, batch = client.cmd("SCAN", cursor, "COUNT", 1000)
            keys += batch
            if cursor == b"0":
                break
        data = {}
        for k in keys:
            t = client.cmd("TYPE", k)
            if t == "string":
                v = client.cmd("GET", k)
            elif t == "hash":
                v = sorted(client.cmd("HGETALL", k))
            elif t == "list":
                v = client.cmd("LRANGE", k, 0, -1)
            elif t == "set":
                v = sorted(client.cmd("SMEMBERS", k))
            elif t == "zset":
                v = client.cmd("ZRANGE", k, 0, -1, "WITHSCORES")
            elif t == "stream":
                v = (client.cmd("XRANGE", k, "-", "+"), client.cmd("XINFO", "GROUPS", k))
            else:
                v = None
            data[k] = (t, v, client.cmd("TTL", k) >= 0)
        out[db] = data
    client.cmd("SELECT", 0)
    out["functions"] = client.cmd("FUNCTION", "LIST")
    return out


@unittest.skipUnless(REDIS_SERVER, "redis-server is not installed")
class RedisTest(LBTestCase):

    def setUp(self):
        super().setUp()
        self.servers = []
        self.repo = self.new_repo()

    def server(self, name="src", **kw):
        s = RedisServer(self.path(name), **kw)
        self.servers.append(s)
        self.addCleanup(s.stop)
        return s

    def backup(self, url, *args, env=None, expect=0):
        r = self.repo.run("--json", "redis", "backup", "--url", url, *args, env=env)
        self.assertRc(r, expect)
        return r, (r.last_json() if expect == 0 else None)

    def test_round_trip_restores_every_key(self):
        src = self.server().start()
        c = src.client()
        counts = fill(c, random.Random(1))
        before = contents(c)
        r, j = self.backup(src.url(), "--tag", "nightly")
        self.assertEqual(j["keys"], counts)
        self.assertEqual(j["kind"], "redis")
        self.assertFalse(j["aof_stored"])
        snap = self.repo.snapshots()[0]
        self.assertEqual(snap["tags"], ["nightly"])

        target = self.path("restored")
        r = self.repo.run("redis", "restore", "latest", "--dir", target)
        self.assertRc(r, 0)
        self.assertIn("redis-server --dir %s --dbfilename dump.rdb --appendonly no" % target, r.out)
        self.assertEqual(sorted(os.listdir(target)), ["dump.rdb"])
        dst = self.server("dst").start(rdb_dir=target)
        self.assertEqual(contents(dst.client()), before)

    def test_snapshot_records_key_counts_and_versions(self):
        src = self.server().start()
        c = src.client()
        counts = fill(c, random.Random(2), keys=10)
        self.backup(src.url())
        r = self.repo.run("--json", "snapshots")
        snap = r.last_json()[0]
        self.assertEqual(snap["kind"], "redis")
        src_json = snap.get("source") or snap.get("source_json")
        if isinstance(src_json, str):
            import json
            src_json = json.loads(src_json)
        self.assertEqual(src_json["keys"], counts)
        self.assertEqual(src_json["expires"]["db0"], 1)
        self.assertEqual(src_json["keys_source"], "rdb")
        self.assertTrue(src_json["redis_version"])
        self.assertEqual(src_json["keys_info"], counts)

    def test_disk_based_replication_form(self):
        # repl-diskless-sync no: the server writes the RDB to its disk and
        # sends it with its length ($<len>) instead of an EOF mark.
        src = self.server()
        src.start(settings=["--dir", src.dir, "--save", "", "--appendonly", "no", "--repl-diskless-sync", "no"])
        counts = fill(src.client(), random.Random(3), keys=50)
        r, j = self.backup(src.url())
        self.assertEqual(j["keys"], counts)

    def test_second_backup_dedups(self):
        src = self.server().start()
        c = src.client()
        fill(c, random.Random(4), keys=100, big_values=20000, value_size=600)
        # Redis grows its key table by incremental rehashing, which changes
        # the order keys are saved in until it ends (a few cron ticks): a
        # server at rest saves them in the same order every time.
        time.sleep(1.5)
        _, first = self.backup(src.url())
        self.assertGreater(first["rdb_bytes"], 11 * lbtest.MiB)
        # One changed value; the RDB's header (ctime, used-mem) and its
        # checksum change anyway: about three of its ~1 MiB chunks are new
        # (a quarter of the first backup's here).
        c.cmd("SET", "big:10000", b"changed" * 80)
        _, second = self.backup(src.url())
        self.assertLess(second["data_added"], first["data_added"] / 2,
                        "the second backup of a barely changed server adds little")

    def test_password_from_environment_and_url(self):
        src = self.server(password="s3cret pass").start()
        fill(src.client(), random.Random(5), keys=5)
        self.backup(src.url(), env=self.repo.env(REDISCLI_AUTH="s3cret pass"))
        self.backup("redis://:s3cret%%20pass@127.0.0.1:%d" % src.port)
        self.assertEqual(len(self.repo.snapshots()), 2)

    def test_aof_directory_is_stored_and_restored(self):
        src = self.server()
        src.start(settings=["--dir", src.dir, "--save", "", "--appendonly", "yes",
                            "--repl-diskless-sync-delay", "0"])
        c = src.client()
        fill(c, random.Random(6), keys=30)
        c.cmd("BGREWRITEAOF")
        time.sleep(0.5)
        c.cmd("SET", "after-rewrite", "in the incr file")
        before = contents(c)
        r, j = self.backup(src.url())
        self.assertTrue(j["aof_stored"], r.describe())
        target = self.path("restored")
        r = self.repo.run("redis", "restore", "latest", "--dir", target)
        self.assertRc(r, 0)
        self.assertEqual(sorted(os.listdir(target)), ["appendonlydir", "dump.rdb"])
        with open(os.path.join(target, "appendonlydir", "appendonly.aof.manifest")) as f:
            manifest = f.read()
        for line in manifest.splitlines():
            self.assertTrue(os.path.exists(os.path.join(target, "appendonlydir", line.split()[1])), line)
        # A server started from the AOF (as the printed line says) has the data.
        dst = self.server("dst")
        dst.start(settings=["--dir", target, "--save", "", "--appendonly", "yes", "--appenddirname",
                            "appendonlydir"])
        self.assertEqual(contents(dst.client()), before)
        # So does one started from dump.rdb alone.
        only_rdb = self.path("only-rdb")
        self.assertRc(self.repo.run("redis", "restore", "latest", "--dir", only_rdb, "--no-aof"), 0)
        self.assertEqual(os.listdir(only_rdb), ["dump.rdb"])

    def test_restore_refuses_an_occupied_directory(self):
        src = self.server().start()
        fill(src.client(), random.Random(7), keys=5)
        self.backup(src.url())
        target = self.path("occupied")
        os.makedirs(target)
        lbtest.write_file(os.path.join(target, "dump.rdb"), b"precious")
        r = self.repo.run("redis", "restore", "latest", "--dir", target)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "dump.rdb already exists", "--force")
        with open(os.path.join(target, "dump.rdb"), "rb") as f:
            self.assertEqual(f.read(), b"precious")
        self.assertEqual(os.listdir(target), ["dump.rdb"])
        r = self.repo.run("redis", "restore", "latest", "--dir", target, "--force")
        self.assertRc(r, 0)
        with open(os.path.join(target, "dump.rdb"), "rb") as f:
            self.assertTrue(f.read().startswith(b"REDIS"))

    def test_verify_restore_pass_and_fail(self):
        src = self.server().start()
        counts = fill(src.client(), random.Random(8), keys=40)
        _, j = self.backup(src.url())
        scratch = self.path("scratch")
        os.makedirs(scratch)
        r = self.repo.run("verify-restore", "latest", "--scratch-dir", scratch,
                          "--sql", "DBSIZE", "--expect", "=%d" % counts["db0"],
                          "--sql", "GET greeting", "--expect", "hello",
                          "--sql", "HGET hash:small b", "--expect", "two",
                          "--sql", "FCALL answer 0", "--expect", "=42", timeout=300)
        self.assertRc(r, 0)
        self.assertIn("PASS", r.out)
        self.assertIn("db0 %d keys, db1 50 keys, db5 1 key" % counts["db0"], r.out)
        self.assertEqual(os.listdir(scratch), [], "the scratch server is removed")

        r = self.repo.run("--json", "verify-restore", j["snapshot_id"], "--scratch-dir", scratch,
                          "--sql", "GET greeting", "--expect", "goodbye", timeout=300)
        self.assertRc(r, EXIT_VERIFY_FAILED)
        report = r.last_json()
        self.assertFalse(report["passed"])
        names = {s["name"]: s for s in report["steps"]}
        self.assertTrue(names["start"]["passed"])
        self.assertTrue(names["counts"]["passed"])
        self.assertFalse(names["assert: GET greeting"]["passed"])
        self.assertIn("hello, expected goodbye", names["assert: GET greeting"]["detail"])
        self.assertTrue(names["stop"]["passed"])
        self.assertEqual(os.listdir(scratch), [])

    def test_verify_restore_reports_a_failing_command(self):
        # An assertion whose command the server refuses is a failed step
        # with the server's own words, not an error of verify-restore.
        src = self.server().start()
        fill(src.client(), random.Random(9), keys=3)
        self.backup(src.url())
        scratch = self.path("scratch")
        os.makedirs(scratch)
        r = self.repo.run("verify-restore", "latest", "--scratch-dir", scratch, "--sql", "NOSUCHCOMMAND",
                          "--expect", "=1", timeout=300)
        self.assertRc(r, EXIT_VERIFY_FAILED)
        self.assertIn("FAIL", r.out)
        self.assertIn("unknown command", r.out)
        self.assertEqual(os.listdir(scratch), [])

    def test_bad_input_is_one_line_and_writes_nothing(self):
        nothing = self.repo.listing()
        port = free_port()
        r = self.repo.run("redis", "backup", "--url", "redis://127.0.0.1:%d" % port)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "unable to connect to Redis", "check --url")

        src = self.server(password="right").start()
        r = self.repo.run("redis", "backup", "--url", src.url(), env=self.repo.env(REDISCLI_AUTH="wrong"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "refused the credentials", "REDISCLI_AUTH")
        r = self.repo.run("redis", "backup", "--url", src.url())
        self.assertRc(r, 1)
        self.assertOneLineError(r, "requires a password", "REDISCLI_AUTH")

        for url, needle in (("http://x", "invalid Redis URL"), ("redis://h:99999", "port"),
                            ("rediss://127.0.0.1:%d" % src.port, "TLS")):
            r = self.repo.run("redis", "backup", "--url", url)
            self.assertRc(r, 1)
            self.assertOneLineError(r, needle)
        self.assertEqual(self.repo.listing(), nothing, "no snapshot, no data, no lock left")

        r = self.repo.run("redis", "restore", "latest", "--dir", self.path("x"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "no Redis snapshot")

    def test_missing_redis_server_for_verify(self):
        src = self.server().start()
        fill(src.client(), random.Random(10), keys=3)
        self.backup(src.url())
        r = self.repo.run("verify-restore", "latest", env=self.repo.env(PATH="/nonexistent"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "redis-server was not found", "install")

    def test_restore_of_another_kind_is_refused(self):
        r = self.repo.run("backup", "--stdin", "--stdin-filename", "x", input=b"data")
        self.assertRc(r, 0)
        r = self.repo.run("redis", "restore", r.lines()[-1].split()[1], "--dir", self.path("d"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "not a Redis one")

    def test_help_and_quiet_output(self):
        for cmd in (["redis", "--help"], ["redis", "backup", "--help"], ["redis", "restore", "--help"]):
            r = lbtest.run(cmd)
            self.assertRc(r, 0)
            self.assertIn("Usage", r.out)
        src = self.server().start()
        src.client().cmd("SET", "a", "b")
        r = self.repo.run("redis", "backup", "--url", src.url())
        self.assertRc(r, 0)
        self.assertIn("1 key (db0 1)", r.out)
        self.assertRegex(r.lines()[-1], r"^snapshot [0-9a-f]{8} saved$")
        self.assertNotIn("\r", r.out, "no progress line in a pipe")


if __name__ == "__main__":
    unittest.main()
