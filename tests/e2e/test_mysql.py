"""lifeboat mysql dump / restore and verify-restore of MariaDB dumps, against
a real MariaDB this suite starts (mariadb-install-db + mariadbd in a
temporary directory, TCP on 127.0.0.1 at a free port, a user with a
password) and stops at the end.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import unittest

import lbtest
from lbtest import LBTestCase, IS_ROOT

EXIT_VERIFY_FAILED = 14
MARIADBD = shutil.which("mariadbd") or next(
    (p for p in ("/usr/sbin/mariadbd", "/usr/local/sbin/mariadbd") if os.access(p, os.X_OK)), None)
INSTALL_DB = shutil.which("mariadb-install-db")
CLIENT = shutil.which("mariadb")
DUMP = shutil.which("mariadb-dump")
USER = "backup"
PASSWORD = "backup pw; with 'quotes'"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MariaDB:
    """A MariaDB server of our own, reached as USER/PASSWORD over TCP."""

    def __init__(self, directory):
        self.dir = directory
        self.port = free_port()
        self.socket = os.path.join(directory, "mysqld.sock")
        self.proc = None

    def start(self):
        data = os.path.join(self.dir, "data")
        user = ["--user=root"] if IS_ROOT else []
        subprocess.run([INSTALL_DB, "--no-defaults", "--datadir=" + data, "--skip-test-db",
                        "--auth-root-authentication-method=socket"] + user,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.proc = subprocess.Popen(
            [MARIADBD, "--no-defaults", "--datadir=" + data, "--socket=" + self.socket, "--port=%d" % self.port,
             "--bind-address=127.0.0.1", "--log-error=" + os.path.join(self.dir, "error.log"),
             "--pid-file=" + os.path.join(self.dir, "mysqld.pid"), "--innodb-buffer-pool-size=64M",
             "--innodb-flush-log-at-trx-commit=0"] + user,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            r = subprocess.run([CLIENT, "--no-defaults", "--socket=" + self.socket, "-uroot", "-e", "SELECT 1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mariadbd did not start; see %s/error.log" % self.dir)
            time.sleep(0.1)
        self.root_sql("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'; GRANT ALL ON *.* TO '%s'@'%%';" % (
            USER, PASSWORD.replace("'", "\\'"), USER))
        return self

    def root_sql(self, sql, db=None):
        argv = [CLIENT, "--no-defaults", "--socket=" + self.socket, "-uroot", "--batch", "--skip-column-names"]
        if db:
            argv.append("--database=" + db)
        r = subprocess.run(argv + ["-e", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError("SQL failed: %s\n%s" % (sql[:300], r.stderr.decode()))
        return r.stdout.decode("utf-8", "surrogateescape")

    def args(self):
        """lifeboat's connection options for this server."""
        return ["--host", "127.0.0.1", "--port", str(self.port), "--user", USER]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


DB = None
TMP = None

SCHEMA = r"""
CREATE DATABASE shop;
USE shop;
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100), note TEXT, photo BLOB) ENGINE=InnoDB;
INSERT INTO customers VALUES
  (1, 'Ann O''Neil', 'likes (parens); and semicolons', 0x00FF10),
  (2, 'Bob "the builder"', 'line one\nline two\ttab \\ backslash', NULL),
  (3, 'Zoë', '', 0x28293B27),
  (4, 'VALUES (5)', NULL, '');
CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, customer INT, total DECIMAL(10,2),
  FOREIGN KEY (customer) REFERENCES customers(id)) ENGINE=InnoDB;
INSERT INTO orders (customer, total) SELECT 1 + seq % 4, seq / 7 FROM seq_1_to_1500;
CREATE TABLE `empty table` (a INT) ENGINE=InnoDB;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(50)) ENGINE=InnoDB;
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
DELIMITER ;;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (what) VALUES ('order');;
CREATE PROCEDURE add_customer(IN n VARCHAR(100)) BEGIN INSERT INTO customers (id, name) VALUES (100, n); END;;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DO INSERT INTO audit (what) VALUES ('event');;
DELIMITER ;
CREATE DATABASE crm;
CREATE TABLE crm.contacts (id INT PRIMARY KEY, email VARCHAR(100)) ENGINE=InnoDB;
INSERT INTO crm.contacts SELECT seq, CONCAT('c', seq, '@example.com') FROM seq_1_to_250;
"""

EXPECTED = {"shop": {"customers": 4, "orders": 1500, "empty table": 0, "audit": 0}, "crm": {"contacts": 250}}


def setUpModule():
    global DB, TMP
    if not (MARIADBD and INSTALL_DB and CLIENT and DUMP):
        raise unittest.SkipTest("MariaDB server and client programs are not installed")
    TMP = lbtest.make_tmpdir("lbmysql-")
    DB = MariaDB(TMP)
    try:
        DB.start()
        DB.root_sql(SCHEMA)
    except Exception:
        DB.stop()
        lbtest.rmtree_force(TMP)
        raise


def tearDownModule():
    if DB:
        DB.stop()
    if TMP:
        lbtest.rmtree_force(TMP)


def table_data(db):
    """Everything the dumped databases hold, as text, for comparisons."""
    out = {}
    for d, tables in EXPECTED.items():
        for t in tables:
            out[(d, t)] = db.root_sql("SELECT * FROM `%s`.`%s` ORDER BY 1" % (d, t))
    out["routines"] = db.root_sql("SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES "
                                  "WHERE ROUTINE_SCHEMA IN ('shop', 'crm') ORDER BY 2")
    out["triggers"] = db.root_sql("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop'")
    out["events"] = db.root_sql("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = 'shop'")
    out["views"] = db.root_sql("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'shop'")
    return out


class MysqlTest(LBTestCase):

    def setUp(self):
        super().setUp()
        self.repo = self.new_repo()

    def env(self, **kw):
        return self.repo.env(**dict({"MYSQL_PWD": PASSWORD}, **kw))

    def dump(self, *args, expect=0, env=None):
        r = self.repo.run("--json", "mysql", "dump", *DB.args(), *args, env=env or self.env())
        self.assertRc(r, expect)
        return r, (r.last_json() if expect == 0 else None)

    def test_dump_records_rows_and_restores_into_fresh_databases(self):
        before = table_data(DB)
        r, j = self.dump("--database", "shop", "--database", "crm", "--tag", "nightly")
        self.assertEqual(j["kind"], "mysql-dump")
        self.assertEqual(j["tables"], EXPECTED)
        self.assertEqual(j["rows"], 1754)
        self.assertEqual(j["tool"], "mariadb-dump")
        snap = self.repo.snapshots()[0]
        self.assertEqual(snap["tags"], ["nightly"])
        try:
            DB.root_sql("DROP DATABASE shop; DROP DATABASE crm;")
            r = self.repo.run("mysql", "restore", "latest", *DB.args(), env=self.env())
            self.assertRc(r, 0)
            self.assertIn("restored into 127.0.0.1:%d" % DB.port, r.out)
            self.assertEqual(table_data(DB), before)
        finally:
            # Leave the databases as the other tests expect them.
            if "shop" not in DB.root_sql("SHOW DATABASES"):
                DB.root_sql(SCHEMA)

    def test_restore_refuses_databases_that_hold_tables(self):
        self.dump("--database", "crm")
        before = table_data(DB)
        r = self.repo.run("mysql", "restore", "latest", *DB.args(), env=self.env())
        self.assertRc(r, 1)
        self.assertOneLineError(r, 'database "crm"', "already holds 1 tables", "--force")
        self.assertEqual(table_data(DB), before)
        DB.root_sql("UPDATE crm.contacts SET email = 'changed' WHERE id = 1")
        r = self.repo.run("mysql", "restore", "latest", *DB.args(), "--force", env=self.env())
        self.assertRc(r, 0)
        self.assertEqual(table_data(DB), before)

    def test_second_dump_dedups(self):
        DB.root_sql("CREATE DATABASE IF NOT EXISTS bulk; CREATE TABLE bulk.t (id INT PRIMARY KEY, a CHAR(64), "
                    "b CHAR(64)); USE bulk; INSERT INTO bulk.t SELECT seq, SHA2(seq, 256), SHA2(seq * 7, 256) "
                    "FROM seq_1_to_80000;")
        try:
            _, first = self.dump("--database", "bulk")
            self.assertGreater(first["dump_bytes"], 9 * lbtest.MiB)
            self.assertEqual(first["tables"], {"bulk": {"t": 80000}})
            DB.root_sql("UPDATE bulk.t SET a = 'changed' WHERE id = 40000")
            _, second = self.dump("--database", "bulk")
            self.assertLess(second["data_added"], first["data_added"] / 3)
        finally:
            DB.root_sql("DROP DATABASE bulk")

    def test_verify_restore_pass_and_fail(self):
        _, j = self.dump("--database", "shop", "--database", "crm")
        scratch = self.path("scratch")
        os.makedirs(scratch)
        r = self.repo.run("verify-restore", "latest", "--scratch-dir", scratch,
                          "--sql", "SELECT COUNT(*) FROM shop.orders", "--expect", "=1500",
                          "--sql", "SELECT name FROM shop.customers WHERE id = 3", "--expect", "Zoë",
                          timeout=300)
        self.assertRc(r, 0)
        self.assertIn("5 tables in 2 databases, 1754 rows, as in the dump", r.out)
        self.assertIn("PASS", r.out)
        self.assertEqual(os.listdir(scratch), [], "the scratch server is removed")

        r = self.repo.run("--json", "verify-restore", j["snapshot_id"], "--scratch-dir", scratch,
                          "--sql", "SELECT COUNT(*) FROM shop.audit", "--expect", ">0", timeout=300)
        self.assertRc(r, EXIT_VERIFY_FAILED)
        report = r.last_json()
        self.assertFalse(report["passed"])
        steps = {s["name"]: s for s in report["steps"]}
        for name in ("start", "restore", "counts", "stop"):
            self.assertTrue(steps[name]["passed"], steps[name])
        self.assertFalse(steps["assert: SELECT COUNT(*) FROM shop.audit"]["passed"])
        self.assertEqual(os.listdir(scratch), [])

    def test_verify_restore_default_database_and_sql_error(self):
        self.dump("--database", "crm")
        scratch = self.path("scratch")
        os.makedirs(scratch)
        r = self.repo.run("verify-restore", "latest", "--scratch-dir", scratch,
                          "--sql", "SELECT COUNT(*) FROM contacts", "--expect", "=250",
                          "--sql", "SELECT nonsense FROM nowhere", "--expect", "=1", timeout=300)
        self.assertRc(r, EXIT_VERIFY_FAILED)
        self.assertRegex(r.out, r"pass .*assert: SELECT COUNT\(\*\) FROM contacts: 250")
        self.assertRegex(r.out, r"FAIL .*assert: SELECT nonsense FROM nowhere: .*doesn't exist")

    def test_bad_input_is_one_line_and_writes_nothing(self):
        nothing = self.repo.listing()
        port = free_port()
        r = self.repo.run("mysql", "dump", "--host", "127.0.0.1", "--port", str(port), "--user", USER,
                          "--database", "shop", env=self.env())
        self.assertRc(r, 1)
        self.assertOneLineError(r, "is the server running", "--port")

        r = self.repo.run("mysql", "dump", *DB.args(), "--database", "shop", env=self.env(MYSQL_PWD="wrong"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "Access denied", "MYSQL_PWD")

        r = self.repo.run("mysql", "dump", *DB.args(), "--database", "nope", env=self.env())
        self.assertRc(r, 1)
        self.assertOneLineError(r, 'database "nope" does not exist', "--database")

        r = self.repo.run("mysql", "dump", *DB.args(), env=self.env())
        self.assertRc(r, 1)
        self.assertOneLineError(r, "--database", "--all-databases")

        r = self.repo.run("mysql", "dump", *DB.args(), "--database", "shop", env=self.env(PATH="/nonexistent"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "mariadb-dump (or mysqldump) was not found", "install")
        self.assertEqual(self.repo.listing(), nothing, "no snapshot, no data, no lock left")

        r = self.repo.run("mysql", "restore", "latest", *DB.args(), env=self.env())
        self.assertRc(r, 1)
        self.assertOneLineError(r, "no MariaDB/MySQL dump snapshot")

    def test_restore_and_verify_need_their_programs(self):
        self.dump("--database", "crm")
        r = self.repo.run("mysql", "restore", "latest", *DB.args(), env=self.env(PATH="/nonexistent"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "mariadb (or mysql) was not found")
        r = self.repo.run("verify-restore", "latest", env=self.env(PATH="/nonexistent"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "was not found", "install")
        r = self.repo.run("backup", "--stdin", "--stdin-filename", "x", input=b"data")
        r = self.repo.run("mysql", "restore", r.lines()[-1].split()[1], *DB.args(), env=self.env())
        self.assertRc(r, 1)
        self.assertOneLineError(r, "not a MariaDB/MySQL dump")

    def test_all_databases_and_option_file(self):
        cnf = self.path("client.cnf")
        with open(cnf, "w") as f:
            f.write("[client]\nuser=%s\npassword=\"%s\"\nhost=127.0.0.1\nport=%d\n" % (
                USER, PASSWORD.replace('"', '\\"'), DB.port))
        os.chmod(cnf, 0o600)
        r = self.repo.run("--json", "mysql", "dump", "--defaults-file", cnf, "--all-databases",
                          env=self.repo.env(MYSQL_PWD=None))
        self.assertRc(r, 0)
        j = r.last_json()
        for db, tables in EXPECTED.items():
            self.assertEqual(j["tables"][db], tables)
        self.assertIn("mysql", j["tables"])
        # The system schemas restore into the scratch server too; their
        # counts are not compared (the server keeps its own statistics there).
        r = self.repo.run("verify-restore", "latest", "--sql", "SELECT COUNT(*) FROM crm.contacts", "--expect",
                          "=250", timeout=300)
        self.assertRc(r, 0)
        self.assertIn("5 tables in 2 databases, 1754 rows", r.out)

    def test_help_and_text_output(self):
        for cmd in (["mysql", "--help"], ["mysql", "dump", "--help"], ["mysql", "restore", "--help"]):
            r = lbtest.run(cmd)
            self.assertRc(r, 0)
            self.assertIn("Usage", r.out)
        r = self.repo.run("mysql", "dump", *DB.args(), "--database", "crm", env=self.env())
        self.assertRc(r, 0)
        self.assertIn("1 database, 1 table, 250 rows", r.out)
        self.assertRegex(r.lines()[-1], r"^snapshot [0-9a-f]{8} saved$")


if __name__ == "__main__":
    unittest.main()
