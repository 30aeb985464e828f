#include "repo/audit.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/keyed_hash.h"
#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

using json = nlohmann::json;

constexpr std::string_view kPrefix = "log/";

// log/<20-digit time>-<64 hex id>
std::optional<std::pair<int64_t, Id>> parse_name(std::string_view name) {
  if (!name.starts_with(kPrefix)) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  if (name.size() != 20 + 1 + 64 || name[20] != '-') return std::nullopt;
  int64_t t = 0;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    t = t * 10 + (name[i] - '0');
  }
  auto id = Id::from_hex(name.substr(21));
  if (!id) return std::nullopt;
  return std::make_pair(t, *id);
}

std::string sha256_hex(std::string_view text) {
  auto d = crypto::sha256(as_bytes(text));
  return hex_encode(ByteSpan(d.data(), d.size()));
}

std::string encode(const AuditRecord& r) {
  json j = {{"version", 1},           {"time", r.time_ns},   {"hostname", r.hostname},
            {"username", r.username}, {"operation", r.operation}, {"result", r.result},
            {"snapshots", r.snapshots}, {"details", r.details}};
  if (r.prev) {
    j["prev"] = r.prev->hex();
    j["prev_sha256"] = r.prev_sha256;
  }
  return j.dump();
}

Result<AuditRecord> decode(std::string_view text, const std::string& name, const Id& id) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1)
    return Status(ErrorCode::kCorrupt, fmt::format("audit record {} is malformed", id.short_hex()));
  AuditRecord r;
  r.id = id;
  r.name = name;
  r.time_ns = j.value("time", int64_t{0});
  r.hostname = j.value("hostname", "");
  r.username = j.value("username", "");
  r.operation = j.value("operation", "");
  r.result = j.value("result", "");
  r.details = j.value("details", "");
  if (j.contains("snapshots") && j["snapshots"].is_array())
    for (const auto& s : j["snapshots"])
      if (s.is_string()) r.snapshots.push_back(s.get<std::string>());
  if (j.contains("prev") && j["prev"].is_string()) {
    auto prev = Id::from_hex(j["prev"].get<std::string>());
    if (!prev) return Status(ErrorCode::kCorrupt, fmt::format("audit record {} is malformed", id.short_hex()));
    r.prev = *prev;
    r.prev_sha256 = j.value("prev_sha256", "");
  }
  return r;
}

}  // namespace

Status append_audit(Repository& repo, AuditRecord record) {
  LB_ASSIGN_OR_RETURN(auto names, repo.list_names(std::string(kPrefix)));
  // The newest record by name: its time, then its id (names sort so).
  std::optional<std::string> head;
  for (const auto& n : names)
    if (parse_name(n) && (!head || n > *head)) head = n;
  if (head) {
    auto [t, id] = *parse_name(*head);
    auto text = repo.read_sealed(*head, Repository::audit_aad(id));
    if (!text.is_ok()) return text.status().with_context("unable to read the newest audit record");
    record.prev = id;
    record.prev_sha256 = sha256_hex(as_string_view(*text));
    // Keep names ordered even when this host's clock is behind.
    record.time_ns = std::max(repo.clock().now_ns(), t + 1);
  } else {
    record.time_ns = repo.clock().now_ns();
  }
  record.id = Id::random();
  record.name = fmt::format("{}{:020d}-{}", kPrefix, record.time_ns, record.id.hex());
  std::string body = encode(record);
  return repo.write_sealed(record.name, as_bytes(body), Repository::audit_aad(record.id))
      .with_context("unable to append to the audit log");
}

Result<size_t> reseal_audit(Repository& repo) {
  LB_ASSIGN_OR_RETURN(auto names, repo.list_names(std::string(kPrefix)));
  size_t n = 0;
  for (const auto& name : names) {
    auto parsed = parse_name(name);
    if (!parsed) continue;
    LB_ASSIGN_OR_RETURN(bool rewrote, repo.reseal_if_stale(name, Repository::audit_aad(parsed->second)));
    n += rewrote ? 1 : 0;
  }
  return n;
}

Result<AuditLog> load_audit(const Repository& repo) {
  LB_ASSIGN_OR_RETURN(auto names, repo.list_names(std::string(kPrefix)));
  std::sort(names.begin(), names.end());
  AuditLog log;
  std::map<Id, AuditRecord> by_id;
  std::map<Id, std::string> hash_of;
  for (const auto& n : names) {
    auto parsed = parse_name(n);
    if (!parsed) {
      log.problems.push_back(fmt::format("{} is not an audit record name", n));
      continue;
    }
    const Id& id = parsed->second;
    auto text = repo.read_sealed(n, Repository::audit_aad(id));
    if (!text.is_ok()) {
      if (text.status().code() == ErrorCode::kNotFound) continue;
      log.problems.push_back(fmt::format("record {} does not authenticate (altered or not this repository's): {}",
                                         id.short_hex(), text.status().message()));
      continue;
    }
    auto r = decode(as_string_view(*text), n, id);
    if (!r.is_ok()) {
      log.problems.push_back(r.status().message());
      continue;
    }
    if (r->time_ns != parsed->first)
      log.problems.push_back(fmt::format("record {} was renamed (its name's time differs from its content's)",
                                         id.short_hex()));
    hash_of[id] = sha256_hex(as_string_view(*text));
    by_id.emplace(id, std::move(*r));
  }
  // Every link: the predecessor exists, hashes to what the successor holds,
  // and is older. Two successors of one record are a fork.
  std::map<Id, size_t> successors;
  size_t firsts = 0;
  for (const auto& [id, r] : by_id) {
    if (!r.prev) {
      firsts++;
      continue;
    }
    auto p = by_id.find(*r.prev);
    if (p == by_id.end()) {
      log.problems.push_back(fmt::format("record {} ({}) follows record {}, which is missing (removed?)",
                                         id.short_hex(), r.operation, r.prev->short_hex()));
      continue;
    }
    if (hash_of[*r.prev] != r.prev_sha256)
      log.problems.push_back(fmt::format("record {} does not match the hash that record {} holds for it",
                                         r.prev->short_hex(), id.short_hex()));
    if (p->second.time_ns >= r.time_ns)
      log.problems.push_back(fmt::format("record {} is not newer than its predecessor {} (reordered?)",
                                         id.short_hex(), r.prev->short_hex()));
    if (successors[*r.prev]++ > 0) log.forks++;
  }
  if (firsts > 1) log.problems.push_back("more than one record claims to be the first");
  if (firsts == 0 && !by_id.empty()) log.problems.push_back("the first record (written by init) is missing");
  for (auto& [id, r] : by_id) log.records.push_back(std::move(r));
  std::sort(log.records.begin(), log.records.end(), [](const AuditRecord& a, const AuditRecord& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.id < b.id;
  });
  return log;
}

}  // namespace lifeboat::repo
