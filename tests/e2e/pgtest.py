"""A throwaway PostgreSQL cluster for the end-to-end suites.

    pg = pgtest.Cluster(tmpdir)                 # nothing runs yet
    pg.start(["wal_level = replica"])           # initdb + start; extra postgresql.conf lines
    pg.psql("CREATE TABLE t (a int)", db="postgres")
    pg.dsn("app")                               # "host=127.0.0.1 port=54321 dbname=app user=postgres"
    pg.stop()                                   # fast shutdown; start() again reuses the data
    pg.remove()                                 # stop and delete everything

Everything lives in the directory given (data directory, unix socket
directory, log); the server listens on 127.0.0.1 at a free port and on a unix
socket in that directory, nowhere else.  Run as root, the server runs as the
`postgres` OS user (initdb refuses root) and the directory is handed to it.

With `password=...` the superuser gets that password and TCP connections
must give it (scram-sha-256); unix-socket connections are trusted.  Without
one, everything is trusted.

Binaries come from PGTEST_BINDIR, else the newest /usr/lib/postgresql/N/bin.
Standard library only.
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time

SUPERUSER = "postgres"


def find_bindir():
    d = os.environ.get("PGTEST_BINDIR")
    if d:
        return d
    found = []
    for cand in glob.glob("/usr/lib/postgresql/*/bin"):
        try:
            found.append((int(cand.split("/")[-2]), cand))
        except ValueError:
            pass
    if found:
        return max(found)[1]
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return os.path.dirname(pg_ctl)
    return None


BINDIR = find_bindir()


def available():
    """True when initdb, pg_ctl and postgres are installed (suites skip otherwise)."""
    return bool(BINDIR) and all(os.access(os.path.join(BINDIR, p), os.X_OK) for p in ("initdb", "pg_ctl", "postgres"))


def quote(value):
    """A libpq conninfo value, quoted when it needs it."""
    v = str(value)
    if v and all(c.isalnum() or c in "_-./:" for c in v):
        return v
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_user():
    """(uid, gid) the server runs as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam(os.environ.get("PGTEST_USER", "postgres"))
    return pw.pw_uid, pw.pw_gid


def _demote(ids):
    if ids is None:
        return None

    def fn():
        os.setgid(ids[1])
        os.setgroups([])
        os.setuid(ids[0])
    return fn


class Cluster:
    def __init__(self, root, password=None, bindir=None):
        self.root = os.path.abspath(root)
        self.bindir = bindir or BINDIR
        self.password = password
        self.data_dir = os.path.join(self.root, "data")
        self.socket_dir = os.path.join(self.root, "sock")
        self.log_path = os.path.join(self.root, "server.log")
        self.host = "127.0.0.1"
        self.port = None
        self.user = SUPERUSER
        self._ids = _server_user()
        self.running = False

    # --- life cycle -------------------------------------------------------------

    def bin(self, name):
        return os.path.join(self.bindir, name)

    def _run_as_server(self, argv, check=True, timeout=120):
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           preexec_fn=_demote(self._ids), cwd=self.root, stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(argv), p.returncode,
                                                          p.stdout.decode(errors="replace"),
                                                          p.stderr.decode(errors="replace")))
        return p

    def _give(self, path):
        if self._ids is not None:
            os.chown(path, self._ids[0], self._ids[1])

    def initdb(self):
        os.makedirs(self.root, exist_ok=True)
        self._give(self.root)
        os.makedirs(self.socket_dir, mode=0o700, exist_ok=True)
        self._give(self.socket_dir)
        argv = [self.bin("initdb"), "-D", self.data_dir, "-U", SUPERUSER, "--no-sync", "-E", "UTF8",
                "--locale=C", "--auth-local=trust"]
        pwfile = None
        if self.password:
            pwfile = os.path.join(self.root, "pwfile")
            with open(pwfile, "w") as f:
                f.write(self.password + "\n")
            self._give(pwfile)
            argv += ["--pwfile", pwfile, "--auth-host=scram-sha-256"]
        else:
            argv += ["--auth-host=trust"]
        self._run_as_server(argv)
        if pwfile:
            os.unlink(pwfile)

    def start(self, conf_extra_lines=(), port=None):
        """initdb (first time only) and start; `conf_extra_lines` are appended
        to postgresql.conf (each start appends again; later lines win)."""
        if self.running:
            return
        if not os.path.exists(os.path.join(self.data_dir, "PG_VERSION")):
            self.initdb()
        last = None
        for _ in range(3):
            self.port = port or free_port()
            lines = ["listen_addresses = '127.0.0.1'", "port = %d" % self.port,
                     "unix_socket_directories = '%s'" % self.socket_dir, "fsync = off",
                     "shared_buffers = 16MB", "max_connections = 30", "log_min_messages = warning"]
            lines += list(conf_extra_lines)
            with open(os.path.join(self.data_dir, "postgresql.conf"), "a") as f:
                f.write("\n# pgtest\n" + "\n".join(lines) + "\n")
            p = self._run_as_server([self.bin("pg_ctl"), "-D", self.data_dir, "-l", self.log_path, "-w",
                                     "-t", "60", "start"], check=False)
            if p.returncode == 0:
                self.running = True
                return
            last = p
            if port:
                break
        raise RuntimeError("pg_ctl start failed:\n%s\n--- log\n%s" % (
            last.stderr.decode(errors="replace"), self.log_tail()))

    def stop(self, mode="fast"):
        if not self.running:
            return
        self._run_as_server([self.bin("pg_ctl"), "-D", self.data_dir, "-m", mode, "-w", "-t", "60", "stop"],
                            check=False)
        self.running = False

    def remove(self):
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # --- clients --------------------------------------------------------------------

    def dsn(self, db="postgres", user=None, password=None, host=None, port=None):
        """A libpq key=value connection string over TCP (the password only when given)."""
        parts = ["host=%s" % (host or self.host), "port=%d" % (port or self.port), "dbname=%s" % quote(db),
                 "user=%s" % quote(user or self.user)]
        if password is not None:
            parts.append("password=%s" % quote(password))
        return " ".join(parts)

    def socket_dsn(self, db="postgres"):
        return "host=%s port=%d dbname=%s user=%s" % (quote(self.socket_dir), self.port, quote(db), self.user)

    def client_env(self, **extra):
        """Environment for client programs (psql, pg_dump): PGPASSWORD when set."""
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("PG"):
                del env[k]
        if self.password:
            env["PGPASSWORD"] = self.password
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def psql(self, sql, db="postgres", check=True, csv=False):
        """Runs `sql` (several statements allowed) with psql over the unix socket
        and returns stdout (unaligned, tuples only, '|' between columns)."""
        argv = [self.bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", self.socket_dsn(db)]
        if csv:
            argv.append("--csv")
        p = subprocess.run(argv, input=sql.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=self.client_env(), timeout=300)
        if check and p.returncode != 0:
            raise RuntimeError("psql failed (%d): %s\nSQL: %s" % (p.returncode, p.stderr.decode(errors="replace"),
                                                                sql[:2000]))
        return p.stdout.decode()

    def scalar(self, sql, db="postgres"):
        return self.psql(sql, db=db).strip()

    def copy_out(self, sql_or_table, db="postgres", fmt="csv"):
        """COPY ... TO STDOUT as bytes: a table name or a (SELECT ...)."""
        return self.psql("COPY %s TO STDOUT WITH (FORMAT %s)" % (sql_or_table, fmt), db=db).encode()

    def createdb(self, name):
        self.psql('CREATE DATABASE "%s"' % name)

    def dropdb(self, name):
        self.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

    def table_counts(self, db):
        """{"schema.table": rows} for every ordinary table outside the system schemas."""
        rows = self.psql(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1", db=db).split()
        out = {}
        for name in rows:
            schema, table = name.split(".", 1)
            out[name] = int(self.scalar('SELECT count(*) FROM ONLY "%s"."%s"' % (schema, table), db=db))
        return out

    def pgbench_init(self, db, scale=1):
        p = subprocess.run([self.bin("pgbench"), "-i", "-q", "-s", str(scale), "-d", self.socket_dsn(db)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.client_env(), timeout=300)
        if p.returncode != 0:
            raise RuntimeError("pgbench -i failed: " + p.stderr.decode(errors="replace"))
