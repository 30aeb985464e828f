#include "repo/snapshot.h"
#include "repo/snapshot_json.h"

#include <nlohmann/json.hpp>

#include "util/encoding.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::repo {

using json = nlohmann::json;

namespace {

// Paths are bytes; JSON strings must be UTF-8. Non-UTF-8 paths are stored as
// {"base64": "..."}.
json bytes_value(const std::string& s) {
  if (is_valid_utf8(s)) return s;
  return json{{"base64", base64_encode(as_bytes(s))}};
}

std::string bytes_from(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  auto b = base64_decode(j.at("base64").get<std::string>());
  if (!b) throw std::runtime_error("bad base64");
  return to_string(*b);
}

json string_list(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(bytes_value(s));
  return a;
}

std::vector<std::string> string_list_from(const json& j) {
  std::vector<std::string> v;
  for (const auto& e : j) v.push_back(bytes_from(e));
  return v;
}

}  // namespace

json summary_to_json(const SnapshotSummary& m) {
  return {
      {"files_new", m.files_new},
      {"files_changed", m.files_changed},
      {"files_unmodified", m.files_unmodified},
      {"dirs_new", m.dirs_new},
      {"dirs_changed", m.dirs_changed},
      {"dirs_unmodified", m.dirs_unmodified},
      {"data_blobs", m.data_blobs},
      {"tree_blobs", m.tree_blobs},
      {"data_added", m.data_added},
      {"data_added_raw", m.data_added_raw},
      {"total_files_processed", m.total_files_processed},
      {"total_dirs_processed", m.total_dirs_processed},
      {"total_bytes_processed", m.total_bytes_processed},
      {"errors", m.errors},
      {"backup_start", format_rfc3339(m.backup_start_ns, true)},
      {"backup_end", format_rfc3339(m.backup_end_ns, true)},
  };
}

std::string encode_snapshot(const Snapshot& s) {
  json j;
  j["version"] = 1;
  j["time"] = format_rfc3339(s.time_ns, true);
  j["hostname"] = bytes_value(s.hostname);
  j["username"] = bytes_value(s.username);
  j["uid"] = s.uid;
  j["gid"] = s.gid;
  j["kind"] = s.kind;
  j["paths"] = string_list(s.paths);
  j["tags"] = string_list(s.tags);
  j["excludes"] = string_list(s.excludes);
  j["tree"] = s.tree.hex();
  if (s.parent) j["parent"] = s.parent->hex();
  if (s.original) j["original"] = s.original->hex();
  if (s.copied_from)
    j["copied_from"] = {{"repository", s.copied_from->repository.hex()}, {"snapshot", s.copied_from->snapshot.hex()}};
  j["program_version"] = s.program_version;
  json src = json::parse(s.source_json, nullptr, false);
  j["source"] = src.is_discarded() ? json::object() : src;
  j["summary"] = summary_to_json(s.summary);
  return j.dump();
}

Result<Snapshot> decode_snapshot(std::string_view text, const Id& id) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status(ErrorCode::kCorrupt, "snapshot " + id.short_hex() + " is not valid JSON");
  Snapshot s;
  s.id = id;
  try {
    if (j.at("version").get<int>() != 1)
      return Status(ErrorCode::kUnsupported, "snapshot " + id.short_hex() + " has an unknown version");
    auto t = parse_time(j.at("time").get<std::string>());
    if (!t) return t.status();
    s.time_ns = *t;
    s.hostname = bytes_from(j.at("hostname"));
    s.username = bytes_from(j.at("username"));
    s.uid = j.value("uid", 0u);
    s.gid = j.value("gid", 0u);
    s.kind = j.value("kind", "files");
    s.paths = string_list_from(j.at("paths"));
    s.tags = string_list_from(j.value("tags", json::array()));
    s.excludes = string_list_from(j.value("excludes", json::array()));
    auto tree = Id::from_hex(j.at("tree").get<std::string>());
    if (!tree) throw std::runtime_error("bad tree id");
    s.tree = *tree;
    if (j.contains("parent")) s.parent = Id::from_hex(j["parent"].get<std::string>());
    if (j.contains("original")) s.original = Id::from_hex(j["original"].get<std::string>());
    if (j.contains("copied_from")) {
      auto r = Id::from_hex(j["copied_from"].at("repository").get<std::string>());
      auto n = Id::from_hex(j["copied_from"].at("snapshot").get<std::string>());
      if (!r || !n) throw std::runtime_error("bad copied_from");
      s.copied_from = CopiedFrom{*r, *n};
    }
    s.program_version = j.value("program_version", "");
    s.source_json = j.value("source", json::object()).dump();
    if (j.contains("summary")) {
      const json& m = j["summary"];
      SnapshotSummary& o = s.summary;
      o.files_new = m.value("files_new", 0ull);
      o.files_changed = m.value("files_changed", 0ull);
      o.files_unmodified = m.value("files_unmodified", 0ull);
      o.dirs_new = m.value("dirs_new", 0ull);
      o.dirs_changed = m.value("dirs_changed", 0ull);
      o.dirs_unmodified = m.value("dirs_unmodified", 0ull);
      o.data_blobs = m.value("data_blobs", 0ull);
      o.tree_blobs = m.value("tree_blobs", 0ull);
      o.data_added = m.value("data_added", 0ull);
      o.data_added_raw = m.value("data_added_raw", 0ull);
      o.total_files_processed = m.value("total_files_processed", 0ull);
      o.total_dirs_processed = m.value("total_dirs_processed", 0ull);
      o.total_bytes_processed = m.value("total_bytes_processed", 0ull);
      o.errors = m.value("errors", 0ull);
      if (auto b = parse_time(m.value("backup_start", ""))) o.backup_start_ns = *b;
      if (auto e = parse_time(m.value("backup_end", ""))) o.backup_end_ns = *e;
    }
  } catch (const std::exception& e) {
    return Status(ErrorCode::kCorrupt, "snapshot " + id.short_hex() + " is malformed: " + e.what());
  }
  return s;
}

}  // namespace lifeboat::repo
