"""forget: a runbook retention policy over a year of daily snapshots made
with `backup --time`, dry runs that change nothing, refusals, and restores of
what was kept.
"""

import datetime
import os
import unittest

import lbtest

# Snapshot times print in local time; the policies here use --utc.
os.environ["TZ"] = "UTC"


class Forget(lbtest.LBTestCase):
    def setUp(self):
        super().setUp()
        self.src = self.path("src")
        os.makedirs(self.src)
        lbtest.write_file(os.path.join(self.src, "f.txt"), b"content\n")
        self.repo = self.new_repo()

    def backup_at(self, when, *args):
        r, s = self.repo.backup("--time", when.strftime("%Y-%m-%dT%H:%M:%SZ"), *args, self.src)
        return s["snapshot_id"]

    def snapshot_times(self):
        return sorted(s["time"][:10] for s in self.repo.snapshots())

    def test_runbook_policy_over_two_years(self):
        # One snapshot a day at 01:00 UTC for 800 days, written as snapshots
        # directly would be faster, but this is what users do.
        start = datetime.datetime(2023, 1, 1, 1, 0, 0)
        days = 800
        for d in range(0, days, 1):
            # Every day for the last 40 days, every 7th day before: still one
            # per month and one per ISO week throughout.
            if d < days - 40 and d % 7:
                continue
            self.backup_at(start + datetime.timedelta(days=d))
        before = self.snapshot_times()
        policy = ("--keep-daily", "30", "--keep-weekly", "12", "--keep-monthly", "12", "--keep-yearly", "7", "--utc")
        dry = self.repo.run("--json", "forget", "--dry-run", *policy)
        self.assertRc(dry, 0)
        plan = dry.last_json()
        self.assertTrue(plan["dry_run"])
        self.assertEqual(self.snapshot_times(), before, "a dry run removes nothing")
        [group] = plan["groups"]
        kept = sorted(s["time"][:10] for s in group["keep"])
        # Expected by the rules, computed independently: newest of each of
        # the last 30 days, 12 ISO weeks, 12 months, 7 years.
        def newest_per(key, n):
            seen, out = set(), set()
            for t in sorted(before, reverse=True):
                k = key(datetime.date.fromisoformat(t))
                if k in seen:
                    continue
                seen.add(k)
                if len(seen) > n:
                    break
                out.add(t)
            return out
        expect = (newest_per(lambda d: d, 30) | newest_per(lambda d: d.isocalendar()[:2], 12)
                  | newest_per(lambda d: (d.year, d.month), 12) | newest_per(lambda d: d.year, 7))
        self.assertEqual(set(kept), expect)
        reasons = {r["snapshot_id"]: r["matches"] for r in group["reasons"]}
        newest = max(group["keep"], key=lambda s: s["time"])
        self.assertEqual(reasons[newest["id"]], ["daily", "weekly", "monthly", "yearly"])
        # The real run removes exactly what the dry run said.
        r = self.repo.run("--json", "forget", *policy)
        self.assertRc(r, 0)
        self.assertEqual(sorted(r.last_json()["removed"]), sorted(plan["removed"]))
        self.assertEqual(self.snapshot_times(), kept)
        self.repo.check()
        oldest = min(group["keep"], key=lambda s: s["time"])
        self.repo.restore(oldest["id"], self.path("t"))
        self.assertEqual(open(os.path.join(lbtest.restored_root(self.path("t"), self.src), b"f.txt"), "rb").read(),
                         b"content\n")

    def test_groups_tags_and_refusals(self):
        t0 = datetime.datetime(2024, 3, 1, 12)
        for i in range(3):
            self.backup_at(t0 + datetime.timedelta(hours=i), "--host", "web")
            self.backup_at(t0 + datetime.timedelta(hours=i), "--host", "db", "--tag", "pinned" if i == 0 else "auto")
        # Keep-tag only: the "web" group would lose everything.
        r = self.repo.run("forget", "--keep-tag", "pinned")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "would remove all 3 snapshots", "host=web", "--allow-empty")
        self.assertEqual(len(self.repo.snapshots()), 6, "a refused forget removes nothing")
        r = self.repo.run("--json", "forget", "--keep-last", "1", "--keep-tag", "pinned", "--host", "db")
        self.assertRc(r, 0)
        self.assertEqual(len(r.last_json()["removed"]), 1)
        snaps = self.repo.snapshots()
        self.assertEqual(sorted(s["hostname"] for s in snaps), ["db", "db", "web", "web", "web"])
        r = self.repo.run("forget", "--keep-last", "1", "--group-by", "")
        self.assertRc(r, 0)
        self.assertIn("removed 4 snapshots", r.out)
        self.assertEqual(len(self.repo.snapshots()), 1)

    def test_bad_input(self):
        sid = self.backup_at(datetime.datetime(2024, 1, 1))
        for args, needle in ((["--keep-within", "3 weeks"], "--keep-within"),
                             (["--keep-daily", "-5"], "--keep-daily"),
                             (["--group-by", "hostname", "--keep-last", "1"], "--group-by"),
                             ([], "no policy"),
                             (["--keep-last", "1", sid[:8]], "not both"),
                             (["0123abcd"], "0123abcd")):
            r = self.repo.run("forget", *args)
            self.assertRc(r, 1, str(args))
            self.assertOneLineError(r, needle)
        self.assertEqual(len(self.repo.snapshots()), 1)
        r = self.repo.run("forget", sid[:8])
        self.assertRc(r, 0)
        self.assertEqual(self.repo.snapshots(), [])


class RetentionLock(lbtest.LBTestCase):
    def test_lock_days_protects_recent_snapshots(self):
        src = self.path("src")
        os.makedirs(src)
        lbtest.write_file(os.path.join(src, "f"), b"x")
        repo = lbtest.Repo(self.path("repo"), self.path("cache"))
        r = repo.run("init", "--lock-days", "7")
        self.assertRc(r, 0)
        _, old = repo.backup("--time", "2020-01-01T00:00:00Z", src)
        _, new = repo.backup(src)
        r = repo.run("--json", "config")
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["lock_days"], 7)
        # Written just now, so locked although its recorded time is 2020.
        r = repo.run("forget", old["snapshot_id"][:8])
        self.assertRc(r, 1)
        self.assertOneLineError(r, "retention lock", old["snapshot_id"][:8])
        r = repo.run("--json", "forget", "--keep-last", "1")
        self.assertRc(r, 0)
        self.assertEqual(r.last_json()["removed"], [])
        self.assertEqual(len(repo.snapshots()), 2)
        r = repo.run("config", "--lock-days", "1")
        self.assertRc(r, 1)
        self.assertOneLineError(r, "can only be raised")
        r = repo.run("config", "--lock-days", "30")
        self.assertRc(r, 0)
        self.assertIn("retention lock: 30 days", r.out)
        ops = [x["operation"] for x in repo.run("--json", "log").last_json()]
        self.assertEqual(ops[-1], "config")


if __name__ == "__main__":
    unittest.main()
