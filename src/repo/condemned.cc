#include "repo/condemned.h"

#include <nlohmann/json.hpp>

#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

constexpr std::string_view kMagic = "LBC1";

Status corrupt(const Id& id, std::string_view what) {
  return Status(ErrorCode::kCorrupt, "condemned/" + id.hex() + " is damaged: " + std::string(what));
}

}  // namespace

Bytes encode_condemned(const CondemnedRecord& record) {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& s : record.lock_sessions) sessions.push_back(s.hex());
  nlohmann::json j = {{"time", record.time_ns},
                      {"hostname", record.hostname},
                      {"complete", record.complete},
                      {"lock_sessions", sessions}};
  std::string text = j.dump();
  Bytes out = to_bytes(kMagic);
  put_varint(out, text.size());
  append(out, as_bytes(text));
  append(out, encode_index(record.packs));
  return out;
}

Result<CondemnedRecord> decode_condemned(ByteSpan body, const Id& id) {
  ByteReader r(body);
  ByteSpan magic, text;
  uint64_t n;
  if (!r.bytes(4, magic) || as_string_view(magic) != kMagic || !r.varint(n) || n > body.size() ||
      !r.bytes(static_cast<size_t>(n), text))
    return corrupt(id, "bad header");
  auto j = nlohmann::json::parse(as_string_view(text), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt(id, "bad JSON");
  CondemnedRecord rec;
  rec.id = id;
  try {
    rec.time_ns = j.at("time").get<int64_t>();
    rec.hostname = j.value("hostname", "");
    rec.complete = j.at("complete").get<bool>();
    for (const auto& s : j.at("lock_sessions")) {
      auto sid = Id::from_hex(s.get<std::string>());
      if (!sid) return corrupt(id, "bad lock session");
      rec.lock_sessions.push_back(*sid);
    }
  } catch (const nlohmann::json::exception& e) {
    return corrupt(id, e.what());
  }
  auto packs = decode_index(body.subspan(body.size() - r.remaining()));
  if (!packs.is_ok()) return corrupt(id, packs.status().message());
  rec.packs = std::move(*packs);
  return rec;
}

}  // namespace lifeboat::repo
