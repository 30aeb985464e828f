#!/usr/bin/env bash
# PostgreSQL: lifeboat and pgBackRest side by side on the same pgbench database, in one run.
#
# Usage: bench/pg.sh            (as root; needs pgbackrest: scripts/setup.sh --bench)
# Env:   SCALE         pgbench scale (default 50, ~800 MB, as ../shared/bench/pg/PG_BASELINE.md)
#        WORK          scratch dir (default /tmp/bench-pg; deleted first)
#        LIFEBOAT_BIN  the binary to measure (default: <checkout>/build/lifeboat)
#
# One cluster archives every WAL segment to both tools (archive_command runs pgbackrest
# archive-push, then lifeboat wal-push), so both hold the same WAL. Steps, each timed with
# /usr/bin/time (wall, CPU):
#   full      pgbackrest --type=full backup          | lifeboat pg basebackup
#   second    after pgbench -T 30 -c 4 -j 2: pgbackrest --type=incr | a second lifeboat
#             pg basebackup; "added" is the growth of each repository
#   walpush   50 WAL segments pushed one call each, sequentially, into fresh repositories
#             (pgbackrest archive-push | lifeboat wal-push); segments/s; then the same
#             asynchronously (archive-async=y, process-max 2 | wal-push --compression-level 3 --async --parallel 2),
#             the files marked ready in archive_status as PostgreSQL does
#   restore   point-in-time restore to T (set after the second backup, then rows deleted),
#             then PostgreSQL started and recovered until promoted; both tools' restores
#             are checked (the deleted rows are back)
# Results: $WORK/results.md (printed at the end).
set -euo pipefail
BENCH_DIR="$(cd "$(dirname "$0")" && pwd)"
CHECKOUT="$(cd "$BENCH_DIR/.." && pwd)"
LB="${LIFEBOAT_BIN:-$CHECKOUT/build/lifeboat}"
W="${WORK:-/tmp/bench-pg}"
SCALE="${SCALE:-50}"
PGBIN=/usr/lib/postgresql/15/bin
PORT=55442
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
command -v pgbackrest >/dev/null || { echo "pgbackrest is missing: scripts/setup.sh --bench" >&2; exit 1; }
[ -x "$LB" ] || { echo "no lifeboat binary at $LB (build first)" >&2; exit 1; }

asp() { runuser -u postgres -- env HOME=$W "$@"; }
psqlc() { asp $PGBIN/psql -h $W -p $PORT -d postgres -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
pgstop() { [ -f "$1/postmaster.pid" ] && asp $PGBIN/pg_ctl -D "$1" -m fast -w stop >/dev/null || true; }
cleanup() { pgstop $W/data; pgstop $W/r-pgbr; pgstop $W/r-lb; }
trap cleanup EXIT
pgstop $W/data 2>/dev/null || true; pgstop $W/r-pgbr 2>/dev/null || true; pgstop $W/r-lb 2>/dev/null || true
rm -rf "$W"; mkdir -p "$W"; chown postgres "$W"; chmod 755 "$W"
cp "$LB" $W/lifeboat; chmod 755 $W/lifeboat; LB=$W/lifeboat
: > $W/results.txt
rec() { echo "$1=$2" | tee -a $W/results.txt >&2; }
# timed NAME cmd...: wall and user+sys CPU of the command (as postgres)
timed() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o $W/time_$name runuser -u postgres -- env HOME=$W "$@" > $W/out_$name 2>&1 ||
    { cat $W/out_$name >&2; exit 1; }
  read -r wall user sys rss < $W/time_$name
  rec ${name}_wall "$wall"; rec ${name}_cpu "$(python3 -c "print(round($user+$sys,2))")"; rec ${name}_rss_kb "$rss"
}
ratio() { python3 -c "a,b=$1,$2; print(f'{a/b:.2f}x' if b else 'n/a')"; }

echo lifeboat > $W/pw; chown postgres $W/pw; chmod 600 $W/pw
# zstd level 3 on both sides, as pgBackRest is configured below (lifeboat's own default is 2).
LBR="$LB --repo $W/lb-repo --password-file $W/pw --cache-dir $W/lb-cache"
conf() { cat <<EOF
[global]
repo1-path=$1
repo1-retention-full=2
compress-type=zst
compress-level=3
process-max=2
log-path=$W/pgbr-log
lock-path=$W/pgbr-lock
start-fast=y
log-level-console=warn
log-level-file=off
archive-async=n

[$2]
pg1-path=$W/data
pg1-port=$PORT
pg1-socket-path=$W
EOF
}
conf $W/pgbr-repo bench > $W/pgbr.conf; conf $W/pgbr-throw throw > $W/pgbr-throw.conf
mkdir -p $W/pgbr-log $W/pgbr-lock $W/pgbr-repo $W/pgbr-throw $W/walcopy; chown -R postgres $W

echo "[pg.sh] initdb, pgbench -i -s $SCALE" >&2
asp $PGBIN/initdb -D $W/data -U postgres --auth=trust -E UTF8 --locale=C > /dev/null
cat >> $W/data/postgresql.conf <<EOF
port = $PORT
unix_socket_directories = '$W'
listen_addresses = ''
wal_level = replica
archive_mode = on
max_wal_size = 1GB
archive_command = 'pgbackrest --config=$W/pgbr.conf --stanza=bench archive-push %p && $LBR wal-push --compression-level 3 %p'
EOF
asp $LB --repo $W/lb-repo --password-file $W/pw init -q --compression-level 3
asp $PGBIN/pg_ctl -D $W/data -l $W/pg.log -w start > /dev/null
asp pgbackrest --config=$W/pgbr.conf --stanza=bench stanza-create
asp $PGBIN/pgbench -h $W -p $PORT -i -s $SCALE -q postgres > /dev/null 2>&1
wait_archived() {
  local seg; seg=$(psqlc "select pg_walfile_name(pg_switch_wal())")
  until [ -e $W/data/pg_wal/archive_status/$seg.done ]; do sleep 0.1; done
}
wait_archived; psqlc checkpoint
rec db_bytes "$(psqlc "select pg_database_size('postgres')")"

echo "[pg.sh] full" >&2
timed full_pgbr pgbackrest --config=$W/pgbr.conf --stanza=bench --type=full backup
timed full_lb $LBR pg basebackup --dsn "host=$W port=$PORT user=postgres"
rec full_pgbr_bytes "$(du -sb $W/pgbr-repo/backup | cut -f1)"
rec full_lb_bytes "$(du -sb --exclude=wal $W/lb-repo | cut -f1)"

echo "[pg.sh] pgbench -T 30, second backup" >&2
asp $PGBIN/pgbench -h $W -p $PORT -T 30 -c 4 -j 2 postgres > $W/pgbench.log 2>&1
wait_archived
b0=$(du -sb $W/pgbr-repo/backup | cut -f1); l0=$(du -sb --exclude=wal $W/lb-repo | cut -f1)
timed second_pgbr pgbackrest --config=$W/pgbr.conf --stanza=bench --type=incr backup
timed second_lb $LBR pg basebackup --dsn "host=$W port=$PORT user=postgres"
rec second_pgbr_added "$(( $(du -sb $W/pgbr-repo/backup | cut -f1) - b0 ))"
rec second_lb_added "$(( $(du -sb --exclude=wal $W/lb-repo | cut -f1) - l0 ))"

echo "[pg.sh] WAL push, 50 segments" >&2
n=0
for f in $(ls $W/data/pg_wal | grep -E '^[0-9A-F]{24}$' | sort | head -n 50); do cp $W/data/pg_wal/$f $W/walcopy/; n=$((n+1)); done
chown -R postgres $W/walcopy
asp pgbackrest --config=$W/pgbr-throw.conf --stanza=throw stanza-create >/dev/null 2>&1 || true
asp $LB --repo $W/lb-throw --password-file $W/pw init -q --compression-level 3
cat > $W/push_pgbr.sh <<EOF
for f in $W/walcopy/*; do pgbackrest --config=$W/pgbr-throw.conf --stanza=throw archive-push \$f || exit 1; done
EOF
cat > $W/push_lb.sh <<EOF
for f in $W/walcopy/*; do $LB --repo $W/lb-throw --password-file $W/pw --cache-dir $W/lb-cache wal-push --compression-level 3 --system-id \$(cat $W/sysid) \$f || exit 1; done
EOF
asp $PGBIN/pg_controldata $W/data | awk -F': *' '/Database system identifier/{print $2}' > $W/sysid
# (pgbackrest's throwaway stanza checks the system id of its own cluster; segments here are real WAL of it)
timed walpush_pgbr bash $W/push_pgbr.sh
timed walpush_lb bash $W/push_lb.sh
rec walpush_segments "$n"
# Asynchronous: the same files announced as ready (as PostgreSQL does before archive_command); each
# call returns once its file is stored, while a background pusher stores the others ahead, 2 at once.
# (pgBackRest wants the files in <pg1-path>/pg_wal, with the cluster's pg_control beside it.)
conf $W/pgbr-throw3 throw3 | sed "s|archive-async=n|archive-async=y\nspool-path=$W/pgbr-spool|; s|pg1-path=.*|pg1-path=$W/walroot|" > $W/pgbr-throw3.conf
mkdir -p $W/pgbr-throw3 $W/pgbr-spool $W/walroot/global $W/walroot/pg_wal/archive_status
cp $W/data/global/pg_control $W/walroot/global/; cp $W/data/PG_VERSION $W/walroot/
cp $W/walcopy/* $W/walroot/pg_wal/
for f in $W/walroot/pg_wal/0*; do touch $W/walroot/pg_wal/archive_status/$(basename $f).ready; done
chown -R postgres $W/pgbr-throw3 $W/pgbr-spool $W/walroot
conf $W/pgbr-throw3 throw3 > $W/pgbr-throw3-create.conf  # stanza-create talks to the running cluster
chown postgres $W/pgbr-throw3-create.conf
asp pgbackrest --config=$W/pgbr-throw3-create.conf --stanza=throw3 stanza-create
asp $LB --repo $W/lb-throw2 --password-file $W/pw init -q --compression-level 3
echo "for f in $W/walroot/pg_wal/0*; do pgbackrest --config=$W/pgbr-throw3.conf --stanza=throw3 archive-push \$f || exit 1; done" > $W/push_pgbr_async.sh
echo "for f in $W/walroot/pg_wal/0*; do $LB --repo $W/lb-throw2 --password-file $W/pw --cache-dir $W/lb-cache wal-push --compression-level 3 --async --parallel 2 --system-id $(cat $W/sysid) \$f || exit 1; done" > $W/push_lb_async.sh
if ! ( timed walpush_async_pgbr bash $W/push_pgbr_async.sh ); then rec walpush_async_pgbr_wall 0; fi
timed walpush_async_lb bash $W/push_lb_async.sh

echo "[pg.sh] PITR" >&2
psqlc "create table marker(v text); insert into marker values ('before')"
sleep 1; T=$(psqlc "select now()"); sleep 1
psqlc "insert into marker values ('after'); delete from pgbench_accounts where aid <= 1000"
wait_archived
pgstop $W/data
check() { # check PORT
  local m c
  m=$(asp $PGBIN/psql -h $W -p $1 -d postgres -XAtq -c "select string_agg(v, ',') from marker")
  c=$(asp $PGBIN/psql -h $W -p $1 -d postgres -XAtq -c "select count(*) from pgbench_accounts where aid <= 1000")
  [ "$m" = before ] && [ "$c" = 1000 ] || { echo "restore check failed on port $1: $m $c" >&2; exit 1; }
}
# pgBackRest: restore, then start and wait until promoted (as PG_BASELINE.md measures it).
mkdir -p $W/r-pgbr; chown postgres $W/r-pgbr; chmod 700 $W/r-pgbr
t0=$(date +%s.%N)
timed restore_pgbr pgbackrest --config=$W/pgbr.conf --stanza=bench --type=time "--target=$T" \
  --target-action=promote --archive-mode=off restore --pg1-path=$W/r-pgbr
echo "port = $((PORT+1))" >> $W/r-pgbr/postgresql.auto.conf
asp $PGBIN/pg_ctl -D $W/r-pgbr -l $W/r-pgbr.log -w -t 600 start > /dev/null
until [ "$(asp $PGBIN/psql -h $W -p $((PORT+1)) -d postgres -XAtq -c 'select pg_is_in_recovery()' 2>/dev/null)" = f ]; do sleep 0.1; done
t1=$(date +%s.%N)
rec pitr_pgbr_total "$(python3 -c "print(round($t1-$t0,2))")"
check $((PORT+1)); pgstop $W/r-pgbr
t0=$(date +%s.%N)
timed restore_lb $LBR pg restore --pgdata $W/r-lb --target-time "$T" --archive-mode off --port $((PORT+2)) --start
t1=$(date +%s.%N)
rec pitr_lb_total "$(python3 -c "print(round($t1-$t0,2))")"
check $((PORT+2)); pgstop $W/r-lb
grep -E "restore|recover" $W/out_restore_lb >&2 || true

. /dev/stdin <<EOF
$(sed 's/^/R_/' $W/results.txt)
EOF
{
  echo "# PostgreSQL: lifeboat vs pgBackRest ($(pgbackrest version)), pgbench scale $SCALE, $(date -u +%F)"
  echo
  echo "| step | pgBackRest | lifeboat | pgBackRest/lifeboat |"
  echo "|---|---|---|---|"
  echo "| full base backup, wall s | $R_full_pgbr_wall | $R_full_lb_wall | $(ratio $R_full_pgbr_wall $R_full_lb_wall) |"
  echo "| full base backup, CPU s | $R_full_pgbr_cpu | $R_full_lb_cpu | |"
  echo "| full base backup, stored MB | $((R_full_pgbr_bytes/1000000)) | $((R_full_lb_bytes/1000000)) | |"
  echo "| second backup, wall s | $R_second_pgbr_wall (incr) | $R_second_lb_wall | $(ratio $R_second_pgbr_wall $R_second_lb_wall) |"
  echo "| second backup, added MB | $((R_second_pgbr_added/1000000)) | $((R_second_lb_added/1000000)) | $(ratio $R_second_pgbr_added $R_second_lb_added) |"
  echo "| wal push x$R_walpush_segments, sequential, s | $R_walpush_pgbr_wall | $R_walpush_lb_wall | $(ratio $R_walpush_pgbr_wall $R_walpush_lb_wall) |"
  echo "| wal push, segments/s | $(python3 -c "print(round($R_walpush_segments/$R_walpush_pgbr_wall,1))") | $(python3 -c "print(round($R_walpush_segments/$R_walpush_lb_wall,1))") | |"
  echo "| async wal push x$R_walpush_segments (2 at once), s | $R_walpush_async_pgbr_wall | $R_walpush_async_lb_wall | $(ratio $R_walpush_async_pgbr_wall $R_walpush_async_lb_wall) |"
  echo "| async wal push, segments/s | $(python3 -c "print(round($R_walpush_segments/$R_walpush_async_pgbr_wall,1) if $R_walpush_async_pgbr_wall else 'failed')") | $(python3 -c "print(round($R_walpush_segments/$R_walpush_async_lb_wall,1))") | |"
  echo "| PITR restore + recovery until promoted, s | $R_pitr_pgbr_total | $R_pitr_lb_total | $(ratio $R_pitr_pgbr_total $R_pitr_lb_total) |"
  echo "| restore step alone, s | $R_restore_pgbr_wall | (in the line above) | |"
} > $W/results.md
cat $W/results.md
