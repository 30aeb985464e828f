// Choosing snapshots: by id, unique id prefix, "latest", or time ("the
// newest snapshot taken at or before T"), within a host/tag/path filter.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "repo/repository.h"
#include "repo/snapshot.h"
#include "util/status.h"

namespace lifeboat::ops {

struct SnapshotFilter {
  std::vector<std::string> hosts;  // any of
  std::vector<std::string> tags;   // any of these entries; "a,b" needs both a and b
  std::vector<std::string> paths;  // the snapshot contains all of these paths

  bool empty() const { return hosts.empty() && tags.empty() && paths.empty(); }
  bool matches(const repo::Snapshot& s) const;
};

// Resolves `ref`: "latest", a 64-hex id, a unique hex prefix (>= 4 chars),
// or a time as parse_time() accepts it. kNotFound / kInvalidArgument with a
// message that says what to do.
Result<repo::Snapshot> find_snapshot(const repo::Repository& repo, std::string_view ref,
                                     const SnapshotFilter& filter = {});
// The newest snapshot with time <= `time_ns`.
Result<repo::Snapshot> find_snapshot_at(const repo::Repository& repo, int64_t time_ns,
                                        const SnapshotFilter& filter = {});
// All snapshots passing the filter, oldest first.
Result<std::vector<repo::Snapshot>> list_snapshots(const repo::Repository& repo, const SnapshotFilter& filter = {});

}  // namespace lifeboat::ops
