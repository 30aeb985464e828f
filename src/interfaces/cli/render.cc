#include "interfaces/cli/render.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::cli {

nlohmann::json snapshot_json(const repo::Snapshot& s) {
  nlohmann::json paths = nlohmann::json::array(), tags = nlohmann::json::array();
  for (const auto& p : s.paths) paths.push_back(escape_name(p));
  for (const auto& t : s.tags) tags.push_back(escape_name(t));
  const auto& m = s.summary;
  nlohmann::json j = {
      {"id", s.id.hex()},
      {"short_id", s.id.short_hex()},
      {"time", format_rfc3339(s.time_ns)},
      {"hostname", escape_name(s.hostname)},
      {"username", escape_name(s.username)},
      {"kind", s.kind},
      {"paths", paths},
      {"tags", tags},
      {"tree", s.tree.hex()},
      {"program_version", s.program_version},
      {"summary",
       {{"files_new", m.files_new},
        {"files_changed", m.files_changed},
        {"files_unmodified", m.files_unmodified},
        {"total_files_processed", m.total_files_processed},
        {"total_bytes_processed", m.total_bytes_processed},
        {"data_added", m.data_added},
        {"backup_start", format_rfc3339(m.backup_start_ns)},
        {"backup_end", format_rfc3339(m.backup_end_ns)}}},
  };
  if (s.parent) j["parent"] = s.parent->hex();
  // Source-specific metadata (a pg-dump's tables and row counts, ...).
  if (s.source_json != "{}") {
    auto source = nlohmann::json::parse(s.source_json, nullptr, false);
    if (!source.is_discarded()) j["source"] = source;
  }
  return j;
}

nlohmann::json node_json(const std::string& path, const repo::Node& n) {
  nlohmann::json j = {
      {"path", escape_name(path)}, {"name", escape_name(n.name)},   {"type", repo::node_type_name(n.type)},
      {"mode", n.mode},            {"permissions", mode_string(n)}, {"uid", n.uid},
      {"gid", n.gid},              {"user", escape_name(n.user)},   {"group", escape_name(n.group)},
      {"size", n.size},            {"mtime", format_rfc3339(n.mtime_ns)},
      {"atime", format_rfc3339(n.atime_ns)}, {"ctime", format_rfc3339(n.ctime_ns)},
  };
  if (n.type == repo::NodeType::kSymlink) j["link_target"] = escape_name(n.link_target);
  if (n.links > 1) j["links"] = n.links;
  return j;
}

std::string node_long_line(const std::string& path, const repo::Node& n) {
  std::string owner = fmt::format("{}/{}", n.user.empty() ? std::to_string(n.uid) : escape_name(n.user),
                                  n.group.empty() ? std::to_string(n.gid) : escape_name(n.group));
  std::string line = fmt::format("{} {:>17} {:>12} {} {}", mode_string(n), owner, n.size, format_local(n.mtime_ns),
                                 escape_name(path));
  if (n.type == repo::NodeType::kSymlink) line += " -> " + escape_name(n.link_target);
  return line;
}

void add_filter_options(CLI::App* cmd, ops::SnapshotFilter& filter) {
  cmd->add_option("--host", filter.hosts, "Only snapshots from this host (repeatable)");
  cmd->add_option("--tag", filter.tags, "Only snapshots with this tag; \"a,b\" needs both (repeatable: any)");
  cmd->add_option("--path", filter.paths, "Only snapshots that include this path (repeatable)");
}

}  // namespace lifeboat::cli
