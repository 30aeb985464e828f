// Text and JSON renderings shared by several commands.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "ops/snapshot_select.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace CLI {
class App;
}

namespace lifeboat::cli {

nlohmann::json snapshot_json(const repo::Snapshot& s);
nlohmann::json node_json(const std::string& path, const repo::Node& n);
// "drwxr-xr-x  user/group  4096  2024-01-15 14:30:00  /path"
std::string node_long_line(const std::string& path, const repo::Node& n);

// --host, --tag, --path on a command.
void add_filter_options(CLI::App* cmd, ops::SnapshotFilter& filter);

}  // namespace lifeboat::cli
