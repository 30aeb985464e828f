// The JSON form of a snapshot summary, shared by the snapshot document and
// the CLI's --json output.
#pragma once

#include <nlohmann/json.hpp>

#include "repo/snapshot.h"

namespace lifeboat::repo {

nlohmann::json summary_to_json(const SnapshotSummary& m);

}  // namespace lifeboat::repo
