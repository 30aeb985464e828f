"""A repository in Azure Blob Storage (Azurite on 127.0.0.1, started by
scripts/test.sh, named by LIFEBOAT_TEST_AZURE, with the AZURE_STORAGE_*
variables of Azurite's env file): the main jobs end to end, with the account
key and with SAS tokens, and the errors an Azure user meets, each one clear
line."""

import base64
import datetime
import email.utils
import hmac
import hashlib
import http.client
import os
import unittest
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import lbtest

AZURE = os.environ.get("LIFEBOAT_TEST_AZURE", "")
SAS_VERSION = "2024-11-04"


def _expiry(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sign(key_b64, string_to_sign):
    mac = hmac.new(base64.b64decode(key_b64), string_to_sign.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def account_sas(account, key_b64, permissions, expires_in=3600):
    """An account SAS for the blob service (the layout of version 2020-12-06
    and later: account, sp, ss, srt, st, se, sip, spr, sv, ses)."""
    se = _expiry(expires_in)
    to_sign = "\n".join([account, permissions, "b", "sco", "", se, "", "https,http", SAS_VERSION, "", ""])
    return urllib.parse.urlencode({"sv": SAS_VERSION, "ss": "b", "srt": "sco", "sp": permissions, "se": se,
                                   "spr": "https,http", "sig": _sign(key_b64, to_sign)})


def container_sas(account, key_b64, container, permissions, expires_in=3600):
    """A service SAS for one container (sr=c; version 2020-12-06 and later:
    sp, st, se, resource, si, sip, spr, sv, sr, snapshot time, ses and the
    five response headers)."""
    se = _expiry(expires_in)
    to_sign = "\n".join([permissions, "", se, "/blob/%s/%s" % (account, container), "", "", "https,http",
                         SAS_VERSION, "c", "", "", "", "", "", "", ""])
    return urllib.parse.urlencode({"sv": SAS_VERSION, "sr": "c", "sp": permissions, "se": se, "spr": "https,http",
                                   "sig": _sign(key_b64, to_sign)})


def blob_tiers(endpoint, account, key_b64, container, prefix):
    """{blob name below `prefix`: its access tier, or None for the account's
    default} from one List Blobs request signed with Shared Key."""
    url = urllib.parse.urlsplit(endpoint)
    path = "%s/%s" % (url.path.rstrip("/"), container)
    query = {"restype": "container", "comp": "list", "prefix": prefix}
    headers = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": SAS_VERSION}
    to_sign = "GET\n" + "\n" * 11 + "".join("%s:%s\n" % (k, headers[k]) for k in sorted(headers))
    to_sign += "/%s%s" % (account, path) + "".join("\n%s:%s" % (k, query[k]) for k in sorted(query))
    headers["Authorization"] = "SharedKey %s:%s" % (account, _sign(key_b64, to_sign))
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.request("GET", path + "?" + urllib.parse.urlencode(query), headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    if resp.status != 200:
        raise AssertionError("List Blobs: HTTP %s %s" % (resp.status, body[:300]))
    tiers = {}
    for blob in ET.fromstring(body).iter("Blob"):
        props = blob.find("Properties")
        inferred = props.findtext("AccessTierInferred") == "true"
        tiers[blob.findtext("Name")[len(prefix):]] = None if inferred else props.findtext("AccessTier")
    return tiers


@unittest.skipUnless(AZURE and os.environ.get("AZURE_STORAGE_KEY"),
                     "LIFEBOAT_TEST_AZURE and AZURE_STORAGE_KEY are not set (scripts/test.sh starts Azurite and "
                     "sets them)")
class AzureRepository(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.account = os.environ["AZURE_STORAGE_ACCOUNT"]
        self.key = os.environ["AZURE_STORAGE_KEY"]
        self.container = AZURE[len("azure:"):].split("/")[0]
        self.src = self.path("src")
        os.makedirs(os.path.join(self.src, "sub"))
        lbtest.write_file(os.path.join(self.src, "a.txt"), b"hello azure\n" * 1000)
        lbtest.write_file(os.path.join(self.src, "sub", "big.bin"), os.urandom(3 * 1024 * 1024))
        lbtest.write_file(os.path.join(self.src, "empty"), b"")
        self.location = "%s/e2e-%s" % (AZURE, uuid.uuid4().hex[:12])
        self.repo = lbtest.Repo(self.location, self.path("cache"))
        self.repo.init()

    def sas_env(self, repo, sas):
        """The environment with a SAS token as the only credential."""
        return repo.env(AZURE_STORAGE_KEY=None, AZURE_STORAGE_CONNECTION_STRING=None, AZURE_STORAGE_SAS_TOKEN=sas)

    def assertRestores(self, repo, name):
        target = self.path(name)
        repo.restore("latest", target)
        self.assertTreesEqual(lbtest.scan_tree(self.src),
                              lbtest.scan_tree(lbtest.restored_root(target, self.src)), ignore_root=True)

    def test_backup_restore_check_forget_prune(self):
        _, first = self.repo.backup(self.src)
        self.assertGreater(first["data_added"], 3 * 1024 * 1024 * 0.9)
        _, again = self.repo.backup(self.src)
        self.assertLess(again["data_added"], 4096, "only the changed root tree: dedup through Azure")
        lbtest.write_file(os.path.join(self.src, "new.bin"), os.urandom(200_000))
        self.repo.backup(self.src)
        self.assertEqual(len(self.repo.snapshots()), 3)
        self.repo.check("--read-data")
        self.assertRestores(self.repo, "restored")
        r = self.repo.run("forget", "--keep-last", "1", "--prune", "--max-unused", "0%")
        self.assertRc(r, 0)
        self.assertEqual(len(self.repo.snapshots()), 1)
        self.repo.check("--read-data")
        self.assertRc(self.repo.run("log", "--verify"), 0)

    def test_connection_string_alone(self):
        cs = "DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;" % (
            self.account, self.key, os.environ["AZURE_STORAGE_BLOB_ENDPOINT"])
        env = self.repo.env(AZURE_STORAGE_ACCOUNT=None, AZURE_STORAGE_KEY=None, AZURE_STORAGE_BLOB_ENDPOINT=None,
                            AZURE_STORAGE_CONNECTION_STRING=cs)
        r = self.repo.run("--json", "backup", self.src, env=env)
        self.assertRc(r, 0)
        self.assertRc(self.repo.run("check", "--read-data", env=env), 0)

    def test_account_sas_token(self):
        repo = lbtest.Repo("%s/e2e-sas-%s" % (AZURE, uuid.uuid4().hex[:12]), self.path("sas-cache"))
        env = self.sas_env(repo, account_sas(self.account, self.key, "rwdlac"))
        self.assertRc(repo.run("init", env=env), 0)
        self.assertRc(repo.run("--json", "backup", self.src, env=env), 0)
        self.assertRc(repo.run("check", "--read-data", env=env), 0)
        target = self.path("sas-restored")
        self.assertRc(repo.run("restore", "latest", "--target", target, env=env), 0)
        self.assertTreesEqual(lbtest.scan_tree(self.src),
                              lbtest.scan_tree(lbtest.restored_root(target, self.src)), ignore_root=True)

    def test_container_sas_token_on_an_existing_container(self):
        # A SAS for one container cannot create containers: init finds the
        # container there (the repository's own setUp made it) and goes on.
        repo = lbtest.Repo("%s/e2e-csas-%s" % (AZURE, uuid.uuid4().hex[:12]), self.path("csas-cache"))
        env = self.sas_env(repo, "?" + container_sas(self.account, self.key, self.container, "racwdl"))
        self.assertRc(repo.run("init", env=env), 0)
        self.assertRc(repo.run("--json", "backup", self.src, env=env), 0)
        self.assertRc(repo.run("check", "--read-data", env=env), 0)

    def tiers(self, repo):
        prefix = repo.path[len("azure:"):].split("/", 1)[1].rstrip("/") + "/"
        return blob_tiers(os.environ["AZURE_STORAGE_BLOB_ENDPOINT"], self.account, self.key, self.container, prefix)

    def test_data_packs_in_the_cool_tier(self):
        env = self.repo.env(LIFEBOAT_AZURE_TIER_DATA="Cool")
        self.assertRc(self.repo.run("--json", "backup", self.src, env=env), 0)
        tiers = self.tiers(self.repo)
        cool = sorted(n for n, t in tiers.items() if t == "Cool")
        self.assertTrue(cool, tiers)
        for name in cool:
            self.assertTrue(name.startswith("data/"), "only data packs are Cool: %s" % tiers)
        for kind in ("config", "keys/", "index/", "snapshots/"):
            names = [n for n in tiers if n.startswith(kind)]
            self.assertTrue(names, "no %s in %s" % (kind, tiers))
            for n in names:
                self.assertIsNone(tiers[n], "%s keeps the default tier: %s" % (n, tiers))
        self.repo.check("--read-data")
        self.assertRestores(self.repo, "restored-cool")

    def test_archived_data_packs_are_thawed_for_a_restore(self):
        env = self.repo.env(LIFEBOAT_AZURE_TIER_DATA="Archive")
        self.assertRc(self.repo.run("--json", "backup", self.src, env=env), 0)
        archived = [n for n, t in self.tiers(self.repo).items() if t == "Archive"]
        self.assertTrue(archived)
        # Azurite rehydrates at once; Azure takes hours, which --thaw-wait allows.
        target = self.path("restored-archive")
        r = self.repo.run("restore", "latest", "--target", target, "--thaw-wait", "1m",
                          env=self.repo.env(LIFEBOAT_THAW_POLL_SECONDS="1"))
        self.assertRc(r, 0)
        self.assertTreesEqual(lbtest.scan_tree(self.src),
                              lbtest.scan_tree(lbtest.restored_root(target, self.src)), ignore_root=True)
        tiers = self.tiers(self.repo)
        self.assertEqual([n for n in archived if tiers[n] != "Cool"], [], "thawed packs move to Cool")

    def test_errors_are_one_clear_line(self):
        self.repo.backup(self.src)
        r = self.repo.run("snapshots", env=self.repo.env(AZURE_STORAGE_KEY=base64.b64encode(b"wrong" * 8).decode()))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "AZURE_STORAGE_KEY")
        r = self.repo.run("snapshots", env=self.repo.env(AZURE_STORAGE_KEY="not base64!"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "AZURE_STORAGE_KEY", "not base64")
        r = self.repo.run("snapshots", env=self.repo.env(AZURE_STORAGE_KEY=None, AZURE_STORAGE_CONNECTION_STRING=None,
                                                          AZURE_STORAGE_SAS_TOKEN=None))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "no Azure credentials", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN")
        # A read-only token reads, and a write says what the token lacks.
        read_only = self.sas_env(self.repo, account_sas(self.account, self.key, "rl"))
        self.assertRc(self.repo.run("snapshots", env=read_only), 0)
        r = self.repo.run("backup", self.src, env=read_only)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "denied", self.container, "SAS token")
        expired = self.sas_env(self.repo, account_sas(self.account, self.key, "rl", expires_in=-3600))
        r = self.repo.run("snapshots", env=expired)
        self.assertRc(r, 1)
        self.assertOneLineError(r, "AZURE_STORAGE_SAS_TOKEN")
        nothing = lbtest.Repo(self.location + "-nothing-here", self.path("c2"))
        r = nothing.run("snapshots")
        self.assertRc(r, 10)
        self.assertOneLineError(r, "no repository")
        no_container = lbtest.Repo("azure:lifeboat-none-%s/x" % uuid.uuid4().hex[:12], self.path("c3"))
        r = no_container.run("snapshots")
        self.assertRc(r, 10)
        self.assertOneLineError(r, "no repository")
        r = self.repo.run("init")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "already exists")
        bad = lbtest.Repo("azure:Bad_Container/x", self.path("c4"))
        r = bad.run("snapshots")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "invalid Azure location", "lower-case")
        r = self.repo.run("snapshots", env=self.repo.env(LIFEBOAT_AZURE_TIER_DATA="Frozen"))
        self.assertRc(r, 1)
        self.assertOneLineError(r, "LIFEBOAT_AZURE_TIER_DATA")


if __name__ == "__main__":
    unittest.main()
