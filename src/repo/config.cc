#include "repo/config.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/time_format.h"

namespace lifeboat::repo {

using json = nlohmann::json;

std::string RepoConfig::to_json() const {
  json j;
  j["version"] = version;
  j["id"] = id.hex();
  j["created"] = format_rfc3339(created_ns, true);
  j["chunker"] = {{"algorithm", "fastcdc"},
                  {"min_size", chunker.min_size},
                  {"avg_size", chunker.avg_size},
                  {"max_size", chunker.max_size},
                  {"normalization", chunker.normalization}};
  j["compression"] = {{"algorithm", "zstd"}, {"level", compression_level}};
  j["cipher"] = "aes-256-gcm";
  j["blob_id"] = "hmac-sha256";
  j["pack_size"] = pack_size;
  if (lock_days > 0) j["lock_days"] = lock_days;
  return j.dump();
}

Result<RepoConfig> RepoConfig::from_json(std::string_view text) {
  auto bad = [](std::string_view what) {
    return Status(ErrorCode::kCorrupt, fmt::format("repository config is malformed ({})", what));
  };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not JSON");
  RepoConfig c;
  try {
    c.version = j.at("version").get<uint32_t>();
    if (c.version != kFormatVersion)
      return Status(ErrorCode::kUnsupported,
                    fmt::format("repository format version {} is not supported by this lifeboat (it reads version {}); "
                                "upgrade lifeboat",
                                c.version, kFormatVersion));
    auto id = Id::from_hex(j.at("id").get<std::string>());
    if (!id) return bad("id");
    c.id = *id;
    auto t = parse_time(j.at("created").get<std::string>());
    if (t) c.created_ns = *t;
    const json& ch = j.at("chunker");
    if (ch.at("algorithm").get<std::string>() != "fastcdc") return bad("chunker");
    c.chunker.min_size = ch.at("min_size").get<uint32_t>();
    c.chunker.avg_size = ch.at("avg_size").get<uint32_t>();
    c.chunker.max_size = ch.at("max_size").get<uint32_t>();
    c.chunker.normalization = ch.at("normalization").get<uint32_t>();
    if (!chunk::validate(c.chunker).is_ok()) return bad("chunker parameters");
    const json& co = j.at("compression");
    if (co.at("algorithm").get<std::string>() != "zstd") return bad("compression");
    c.compression_level = co.at("level").get<int>();
    if (j.at("cipher").get<std::string>() != "aes-256-gcm" || j.at("blob_id").get<std::string>() != "hmac-sha256")
      return bad("algorithms");
    c.pack_size = j.at("pack_size").get<uint32_t>();
    if (c.pack_size < 4096) return bad("pack_size");
    c.lock_days = j.value("lock_days", uint32_t{0});
  } catch (const json::exception& e) {
    return bad(e.what());
  }
  return c;
}

}  // namespace lifeboat::repo
