"""lifeboat mongo dump / restore.

MongoDB is not packaged by Debian. What needs the MongoDB programs (mongod,
mongodump, mongorestore, mongosh) runs when they are installed and is
skipped with the reason printed otherwise; what is about their absence (one
line, exit code 1, nothing written) always runs.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import unittest

import lbtest
from lbtest import LBTestCase

MONGOD = shutil.which("mongod")
MONGODUMP = shutil.which("mongodump")
MONGORESTORE = shutil.which("mongorestore")
SHELL = shutil.which("mongosh") or shutil.which("mongo")
MISSING = [name for name, path in (("mongod", MONGOD), ("mongodump", MONGODUMP), ("mongorestore", MONGORESTORE),
                                   ("mongosh", SHELL)) if not path]
SKIP_REASON = ("%s not installed: the MongoDB server and Database Tools are not packaged by Debian "
               "(https://www.mongodb.com/try/download)" % ", ".join(MISSING))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MongoAbsenceTest(LBTestCase):
    """The CLI without the MongoDB tools (PATH without them)."""

    def test_missing_tools_are_one_line_and_write_nothing(self):
        repo = self.new_repo()
        nothing = repo.listing()
        env = repo.env(PATH="/nonexistent")
        r = repo.run("mongo", "dump", "--uri", "mongodb://127.0.0.1:1", env=env)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "mongodump was not found", "MongoDB Database Tools")
        r = repo.run("mongo", "restore", "latest", env=env)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "mongorestore was not found")
        self.assertEqual(repo.listing(), nothing)

    def test_help(self):
        for cmd in (["mongo", "--help"], ["mongo", "dump", "--help"], ["mongo", "restore", "--help"]):
            r = lbtest.run(cmd)
            self.assertRc(r, 0)
            self.assertIn("Usage", r.out)

    def test_collection_needs_db(self):
        if not MONGODUMP:
            self.skipTest("mongodump not installed: the check runs after the tool is found")
        repo = self.new_repo()
        r = repo.run("mongo", "dump", "--collection", "c")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "--collection needs --db")


class Mongod:
    def __init__(self, directory):
        self.dir = directory
        self.port = free_port()
        self.proc = None

    def start(self):
        data = os.path.join(self.dir, "db")
        os.makedirs(data, exist_ok=True)
        self.proc = subprocess.Popen(
            [MONGOD, "--dbpath", data, "--bind_ip", "127.0.0.1", "--port", str(self.port), "--logpath",
             os.path.join(self.dir, "mongod.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.eval("db.runCommand({ping: 1})")
                return self
            except RuntimeError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def uri(self):
        return "mongodb://127.0.0.1:%d" % self.port

    def eval(self, js, db="test"):
        r = subprocess.run([SHELL, "--quiet", "%s/%s" % (self.uri(), db), "--eval", js],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.decode() + r.stdout.decode())
        return r.stdout.decode().strip()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@unittest.skipIf(MISSING, SKIP_REASON)
class MongoTest(LBTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp_server = lbtest.make_tmpdir("lbmongo-")
        cls.mongod = Mongod(cls.tmp_server)
        try:
            cls.mongod.start()
        except Exception:
            cls.mongod.stop()
            lbtest.rmtree_force(cls.tmp_server)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.mongod.stop()
        lbtest.rmtree_force(cls.tmp_server)

    def contents(self):
        return json.loads(self.mongod.eval(
            "JSON.stringify(['orders', 'users', 'empty'].map(c => [c, db[c].find().sort({_id: 1}).toArray()]))",
            db="shop"))

    def test_dump_counts_and_round_trip(self):
        m = self.mongod
        m.eval("db.dropDatabase(); db.createCollection('empty');"
               "for (let i = 0; i < 500; i++) db.orders.insertOne({_id: i, total: i * 1.5, note: 'n' + i});"
               "db.users.insertMany([{_id: 1, name: 'Ann'}, {_id: 2, name: 'Bob', tags: ['a', 'b']}]);",
               db="shop")
        before = self.contents()
        repo = self.new_repo()
        r = repo.run("--json", "mongo", "dump", "--uri", m.uri(), "--db", "shop")
        self.assertRc(r, 0)
        j = r.last_json()
        self.assertEqual(j["kind"], "mongo-dump")
        self.assertEqual(j["collections"]["shop"], {"orders": 500, "users": 2, "empty": 0})
        self.assertEqual(j["documents"], 502)
        m.eval("db.dropDatabase()", db="shop")
        r = repo.run("mongo", "restore", "latest", "--uri", m.uri())
        self.assertRc(r, 0)
        self.assertEqual(self.contents(), before)

    def test_password_from_the_environment_is_not_recorded(self):
        # MONGODB_URI holds the password; it reaches mongodump through a
        # private file, and the snapshot records the URI without it.
        m = self.mongod
        m.eval("if (!db.getUser('bk')) db.createUser({user: 'bk', pwd: 'sekret', roles: ['root']})", db="admin")
        m.eval("db.t.insertOne({_id: 1})", db="pw")
        repo = self.new_repo()
        uri = "mongodb://bk:sekret@127.0.0.1:%d/?authSource=admin" % m.port
        r = repo.run("--json", "mongo", "dump", "--db", "pw", env=repo.env(MONGODB_URI=uri))
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["collections"], {"pw": {"t": 1}})
        snap = repo.snapshots()[0]
        self.assertEqual(snap["source"]["uri"], "mongodb://bk@127.0.0.1:%d/?authSource=admin" % m.port)
        self.assertNotIn("sekret", json.dumps(snap))
        r = repo.run("mongo", "dump", "--db", "pw", env=repo.env(MONGODB_URI=uri.replace("sekret", "wrong")))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "no snapshot was written")

    def test_unreachable_server_is_one_line(self):
        repo = self.new_repo()
        nothing = repo.listing()
        r = repo.run("mongo", "dump", "--uri",
                     "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=1500" % free_port(), timeout=120)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "no snapshot was written")
        self.assertEqual(repo.listing(), nothing)


if __name__ == "__main__":
    unittest.main()
