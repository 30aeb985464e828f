#include "ops/pg_status.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "ops/pg_restore.h"
#include "ops/wal.h"
#include "sources/pg/wal_names.h"

namespace lifeboat::ops {

namespace pg = sources::pg;

std::vector<std::string> wal_gaps(const std::vector<std::string>& names, uint64_t seg_size, const std::string& from) {
  // Segments of each timeline; a timeline's chain starts at its first
  // archived segment (or at `from` for the base backup's timeline).
  std::map<uint32_t, std::vector<uint64_t>> by_tli;
  for (const auto& n : names) {
    auto w = pg::parse_wal_name(n);
    if (w && w->kind == pg::WalKind::kSegment) by_tli[w->timeline].push_back(pg::segno_of(*w, seg_size));
  }
  auto start = pg::parse_wal_name(from);
  std::vector<std::string> gaps;
  for (auto& [tli, segs] : by_tli) {
    std::sort(segs.begin(), segs.end());
    uint64_t expect = segs.front();
    if (start && start->timeline == tli) expect = std::min(expect, pg::segno_of(*start, seg_size));
    for (uint64_t s : segs) {
      if (s < expect) continue;
      if (s > expect)
        gaps.push_back(s - expect == 1 ? fmt::format("{} missing", pg::segment_name(tli, expect, seg_size))
                                       : fmt::format("{} .. {} missing ({} segments)",
                                                     pg::segment_name(tli, expect, seg_size),
                                                     pg::segment_name(tli, s - 1, seg_size), s - expect));
      expect = s + 1;
    }
  }
  return gaps;
}

Result<std::vector<PgClusterStatus>> pg_status(const repo::Repository& repo, std::optional<uint64_t> system_id) {
  LB_ASSIGN_OR_RETURN(auto bases, pg_base_backups(repo, system_id));
  std::vector<uint64_t> ids;
  if (system_id) {
    ids.push_back(*system_id);
  } else {
    LB_ASSIGN_OR_RETURN(ids, list_wal_clusters(repo));
    for (const auto& b : bases) ids.push_back(b.second.system_id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  std::vector<PgClusterStatus> out;
  int64_t now = repo.clock().now_ns();
  for (uint64_t id : ids) {
    PgClusterStatus c;
    c.system_id = id;
    uint64_t seg_size = 16 << 20;
    std::string oldest_start;
    for (const auto& b : bases) {
      if (b.second.system_id != id) continue;
      if (c.base_backups++ == 0) {
        c.window_start_ns = b.second.stop_time_ns;
        oldest_start = b.second.start_wal;
      }
      c.window_start_ns = std::min(c.window_start_ns, b.second.stop_time_ns);
      seg_size = b.second.wal_segment_size;
    }
    LB_ASSIGN_OR_RETURN(auto wal, list_wal(repo, id));
    std::vector<std::string> names;
    for (const auto& w : wal) {
      c.wal_bytes += w.stored;
      c.window_end_ns = std::max(c.window_end_ns, w.mtime_ns);
      auto parsed = pg::parse_wal_name(w.name);
      if (!parsed || parsed->kind != pg::WalKind::kSegment) continue;
      // Only WAL from the oldest base backup on matters for recovery.
      if (!oldest_start.empty() && w.name.substr(8) < oldest_start.substr(8)) continue;
      names.push_back(w.name);
    }
    c.wal_files = wal.size();
    if (!names.empty()) {
      c.oldest_wal = names.front();
      c.newest_wal = names.back();
    }
    if (c.window_end_ns > 0) c.rpo_seconds = static_cast<double>(now - c.window_end_ns) / 1e9;
    if (!names.empty()) c.gaps = wal_gaps(names, seg_size, oldest_start);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace lifeboat::ops
