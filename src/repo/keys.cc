#include "repo/keys.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/random.h"
#include "util/encoding.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::repo {
namespace {

using json = nlohmann::json;

constexpr std::string_view kKeyAad = "lifeboat key v1";

// The associated data of a key file binds every field of it, so changing
// any byte of a key file (even its host name) makes it fail to open.
std::string key_file_aad(const json& j) {
  json bound = json::array({j.value("version", 0), j.value("created", ""), j.value("hostname", ""),
                            j.value("username", ""), j["kdf"].value("name", ""), j["kdf"].value("n", 0),
                            j["kdf"].value("r", 0), j["kdf"].value("p", 0), j["kdf"].value("salt", "")});
  return std::string(kKeyAad) + bound.dump();
}

std::string b64(ByteSpan b) { return base64_encode(b); }

bool key_from_b64(const json& j, crypto::Key256& out) {
  if (!j.is_string()) return false;
  auto b = base64_decode(j.get<std::string>());
  if (!b || b->size() != out.size()) return false;
  std::copy(b->begin(), b->end(), out.begin());
  return true;
}

}  // namespace

MasterKey MasterKey::generate(int64_t now_ns) {
  MasterKey m;
  DataKey d;
  d.epoch = 1;
  crypto::random_fill(d.key);
  d.created_ns = now_ns;
  m.data_keys.push_back(d);
  crypto::random_fill(m.id_key);
  return m;
}

std::string MasterKey::to_json() const {
  json j;
  j["version"] = 1;
  j["id_key"] = b64(id_key);
  j["data_keys"] = json::array();
  for (const auto& d : data_keys)
    j["data_keys"].push_back({{"epoch", d.epoch}, {"key", b64(d.key)}, {"created", format_rfc3339(d.created_ns, true)}});
  return j.dump();
}

Result<MasterKey> MasterKey::from_json(std::string_view text) {
  auto bad = [] { return Status(ErrorCode::kCorrupt, "master key is malformed"); };
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1) return bad();
  MasterKey m;
  if (!j.contains("id_key") || !key_from_b64(j["id_key"], m.id_key)) return bad();
  if (!j.contains("data_keys") || !j["data_keys"].is_array() || j["data_keys"].empty()) return bad();
  for (const auto& dk : j["data_keys"]) {
    DataKey d;
    if (!dk.is_object() || !dk.contains("epoch") || !dk["epoch"].is_number_unsigned() || !dk.contains("key") ||
        !key_from_b64(dk["key"], d.key))
      return bad();
    d.epoch = dk["epoch"].get<uint32_t>();
    if (dk.contains("created") && dk["created"].is_string()) {
      auto t = parse_time(dk["created"].get<std::string>());
      if (t) d.created_ns = *t;
    }
    m.data_keys.push_back(d);
  }
  return m;
}

RepoKeys::RepoKeys(MasterKey master) : master_(std::move(master)), id_hash_(master_.id_key) {
  for (const auto& d : master_.data_keys) aeads_.emplace_back(d.epoch, crypto::Aead(d.key));
}

Id RepoKeys::blob_id(ByteSpan plaintext) const {
  Id id;
  id.bytes = id_hash_.hash(plaintext);
  return id;
}

void RepoKeys::seal(ByteSpan plaintext, ByteSpan aad, Bytes& out) const {
  const auto& [epoch, aead] = aeads_.back();
  out.push_back(kEnvelopeVersion);
  put_fixed32(out, epoch);
  aead.seal(plaintext, aad, out);
}

void RepoKeys::seal_in_place(Bytes& buf, size_t start, ByteSpan aad) const {
  const auto& [epoch, aead] = aeads_.back();
  buf[start] = kEnvelopeVersion;
  for (int i = 0; i < 4; ++i) buf[start + 1 + static_cast<size_t>(i)] = static_cast<uint8_t>(epoch >> (8 * i));
  aead.seal_in_place(buf, start + 5, aad);
}

Status RepoKeys::open(ByteSpan sealed, ByteSpan aad, Bytes& out) const {
  if (sealed.size() < kEnvelopeOverhead) return Status(ErrorCode::kCorrupt, "sealed object too short");
  if (sealed[0] != kEnvelopeVersion)
    return Status(ErrorCode::kCorrupt, fmt::format("unknown envelope version {}", sealed[0]));
  uint32_t epoch = get_fixed32(sealed.data() + 1);
  for (const auto& [e, aead] : aeads_)
    if (e == epoch) return aead.open(sealed.subspan(5), aad, out);
  return Status(ErrorCode::kCorrupt, fmt::format("sealed with unknown key epoch {}", epoch));
}

chunk::GearTable RepoKeys::gear_table() const {
  // gear[i] = first 8 bytes (LE) of HMAC-SHA-256(id_key, "lifeboat fastcdc gear v1" || i as u32 LE)
  chunk::GearTable t;
  for (uint32_t i = 0; i < t.size(); ++i) {
    Bytes msg = to_bytes("lifeboat fastcdc gear v1");
    put_fixed32(msg, i);
    auto d = crypto::hmac_sha256(master_.id_key, msg);
    t[i] = get_fixed64(d.data());
  }
  return t;
}

crypto::Key256 keyring_key(const MasterKey& master) {
  return crypto::hmac_sha256(master.data_keys.front().key, as_bytes(std::string_view("lifeboat keyring v1")));
}

std::string keyring_name(uint32_t epoch) { return fmt::format("keyring/{:010d}", epoch); }

namespace {
Bytes keyring_aad(uint32_t epoch) {
  Bytes aad = to_bytes("keyring");
  put_fixed32(aad, epoch);
  return aad;
}
}  // namespace

Bytes seal_keyring_entry(const crypto::Key256& key, const DataKey& d) {
  std::string plain =
      json{{"epoch", d.epoch}, {"key", b64(d.key)}, {"created", format_rfc3339(d.created_ns, true)}}.dump();
  Bytes out;
  crypto::Aead(key).seal(as_bytes(plain), keyring_aad(d.epoch), out);
  return out;
}

Result<DataKey> open_keyring_entry(const crypto::Key256& key, uint32_t epoch, ByteSpan sealed) {
  auto bad = [&](std::string_view what) {
    return Status(ErrorCode::kCorrupt, fmt::format("{} is damaged: {}", keyring_name(epoch), what));
  };
  Bytes plain;
  if (!crypto::Aead(key).open(sealed, keyring_aad(epoch), plain).is_ok()) return bad("it does not authenticate");
  json j = json::parse(as_string_view(plain), nullptr, false);
  DataKey d;
  if (j.is_discarded() || !j.is_object() || j.value("epoch", 0u) != epoch || !j.contains("key") ||
      !key_from_b64(j["key"], d.key))
    return bad("malformed");
  d.epoch = epoch;
  if (j.contains("created") && j["created"].is_string())
    if (auto t = parse_time(j["created"].get<std::string>())) d.created_ns = *t;
  return d;
}

Result<Bytes> create_key_file(const MasterKey& master, std::string_view password, const KeyFileInfo& info) {
  Bytes salt = crypto::random_bytes(32);
  crypto::Key256 kek;
  LB_RETURN_IF_ERROR(crypto::scrypt(password, salt, info.kdf, kek));
  json j;
  j["version"] = 1;
  j["created"] = format_rfc3339(info.created_ns, true);
  j["hostname"] = is_valid_utf8(info.hostname) ? info.hostname : escape_name(info.hostname);
  j["username"] = is_valid_utf8(info.username) ? info.username : escape_name(info.username);
  j["kdf"] = {{"name", "scrypt"}, {"n", info.kdf.n}, {"r", info.kdf.r}, {"p", info.kdf.p}, {"salt", b64(salt)}};
  Bytes sealed;
  std::string plain = master.to_json();
  crypto::Aead(kek).seal(as_bytes(plain), as_bytes(key_file_aad(j)), sealed);
  j["data"] = b64(sealed);
  // Compact: no byte of the file is free whitespace, so any change to it
  // either breaks the JSON or changes a bound field.
  return to_bytes(j.dump());
}

Result<KeyFileInfo> parse_key_file_info(ByteSpan file) {
  auto bad = [] { return Status(ErrorCode::kCorrupt, "key file is malformed"); };
  json j = json::parse(as_string_view(file), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != 1 || !j.contains("kdf") ||
      !j["kdf"].is_object())
    return bad();
  KeyFileInfo info;
  const json& k = j["kdf"];
  if (k.value("name", "") != "scrypt" || !k.contains("n") || !k["n"].is_number_unsigned() || !k.contains("r") ||
      !k["r"].is_number_unsigned() || !k.contains("p") || !k["p"].is_number_unsigned())
    return bad();
  info.kdf.n = k["n"].get<uint64_t>();
  info.kdf.r = k["r"].get<uint32_t>();
  info.kdf.p = k["p"].get<uint32_t>();
  // Refuse weakened parameters: a tampered key file must not make brute force cheap.
  if (info.kdf.n < (1u << 16) || info.kdf.r < 8 || info.kdf.p < 1 || info.kdf.n > (1u << 24) || info.kdf.r > 64 ||
      info.kdf.p > 16 || (info.kdf.n & (info.kdf.n - 1)) != 0)
    return Status(ErrorCode::kCorrupt, "key file has unacceptable KDF parameters");
  info.hostname = j.value("hostname", "");
  info.username = j.value("username", "");
  if (j.contains("created") && j["created"].is_string()) {
    auto t = parse_time(j["created"].get<std::string>());
    if (t) info.created_ns = *t;
  }
  return info;
}

Result<MasterKey> open_key_file(ByteSpan file, std::string_view password) {
  LB_ASSIGN_OR_RETURN(KeyFileInfo info, parse_key_file_info(file));
  json j = json::parse(as_string_view(file), nullptr, false);
  if (!j["kdf"].contains("salt") || !j["kdf"]["salt"].is_string() || !j.contains("data") || !j["data"].is_string())
    return Status(ErrorCode::kCorrupt, "key file is malformed");
  auto salt = base64_decode(j["kdf"]["salt"].get<std::string>());
  auto sealed = base64_decode(j["data"].get<std::string>());
  if (!salt || !sealed) return Status(ErrorCode::kCorrupt, "key file is malformed");
  crypto::Key256 kek;
  LB_RETURN_IF_ERROR(crypto::scrypt(password, *salt, info.kdf, kek));
  Bytes plain;
  if (!crypto::Aead(kek).open(*sealed, as_bytes(key_file_aad(j)), plain).is_ok())
    return Status(ErrorCode::kWrongPassword, "wrong password");
  return MasterKey::from_json(as_string_view(plain));
}

}  // namespace lifeboat::repo
