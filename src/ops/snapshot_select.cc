#include "ops/snapshot_select.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/time_format.h"

namespace lifeboat::ops {

bool SnapshotFilter::matches(const repo::Snapshot& s) const {
  if (!hosts.empty() && std::find(hosts.begin(), hosts.end(), s.hostname) == hosts.end()) return false;
  if (!tags.empty()) {
    bool any = false;
    for (const auto& entry : tags) {
      bool all = true;
      size_t start = 0;
      while (start <= entry.size()) {
        size_t end = entry.find(',', start);
        if (end == std::string::npos) end = entry.size();
        std::string tag = entry.substr(start, end - start);
        if (!tag.empty() && std::find(s.tags.begin(), s.tags.end(), tag) == s.tags.end()) all = false;
        start = end + 1;
      }
      any = any || all;
    }
    if (!any) return false;
  }
  for (const auto& p : paths)
    if (std::find(s.paths.begin(), s.paths.end(), p) == s.paths.end()) return false;
  return true;
}

Result<std::vector<repo::Snapshot>> list_snapshots(const repo::Repository& repo, const SnapshotFilter& filter) {
  LB_ASSIGN_OR_RETURN(auto all, repo.load_snapshots());
  std::vector<repo::Snapshot> out;
  for (auto& s : all)
    if (filter.matches(s)) out.push_back(std::move(s));
  return out;
}

Result<repo::Snapshot> find_snapshot_at(const repo::Repository& repo, int64_t time_ns, const SnapshotFilter& filter) {
  LB_ASSIGN_OR_RETURN(auto snaps, list_snapshots(repo, filter));
  for (auto it = snaps.rbegin(); it != snaps.rend(); ++it)
    if (it->time_ns <= time_ns) return std::move(*it);
  if (snaps.empty()) return Status(ErrorCode::kNotFound, "no snapshot found: the repository has none that match");
  return Status(ErrorCode::kNotFound,
                fmt::format("no snapshot was taken at or before {}; the oldest is {} from {}", format_local(time_ns),
                            snaps.front().id.short_hex(), format_local(snaps.front().time_ns)));
}

Result<repo::Snapshot> find_snapshot(const repo::Repository& repo, std::string_view ref, const SnapshotFilter& filter) {
  if (ref == "latest") {
    LB_ASSIGN_OR_RETURN(auto snaps, list_snapshots(repo, filter));
    if (snaps.empty())
      return Status(ErrorCode::kNotFound, filter.empty() ? "no snapshot found: the repository is empty"
                                                         : "no snapshot matches the given --host/--tag/--path");
    return std::move(snaps.back());
  }
  bool hex = !ref.empty() && std::all_of(ref.begin(), ref.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
  if (hex) {
    if (ref.size() < 4)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("snapshot id prefix \"{}\" is too short: give at least 4 hex digits", ref));
    std::string prefix(ref);
    std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
    LB_ASSIGN_OR_RETURN(auto ids, repo.list_snapshot_ids());
    std::vector<repo::Id> found;
    for (const auto& id : ids)
      if (id.hex().starts_with(prefix)) found.push_back(id);
    if (found.empty())
      return Status(ErrorCode::kNotFound,
                    fmt::format("no snapshot with id {}: see `lifeboat snapshots` for the ids", ref));
    if (found.size() > 1)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("snapshot id prefix {} is ambiguous ({} snapshots): give more digits", ref,
                                found.size()));
    return repo.load_snapshot(found[0]);
  }
  auto t = parse_time(ref);
  if (t.is_ok()) return find_snapshot_at(repo, *t, filter);
  return Status(ErrorCode::kInvalidArgument,
                fmt::format("\"{}\" is not a snapshot: give an id, an id prefix, \"latest\", or a time such as "
                            "\"2024-01-15 14:30:00\"",
                            ref));
}

}  // namespace lifeboat::ops
