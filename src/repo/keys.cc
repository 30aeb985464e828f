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
  // Bound only when present, so key files from before write-only keys open.
  if (j.contains("kind")) bound.push_back(j["kind"]);
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
  if (write_only()) {
    j["kind"] = "write-only";
    j["shared_key"] = b64(*shared_key);
    j["recovery_public"] = b64(recovery_public);
    return j.dump();
  }
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
  if (j.value("kind", "") == "write-only") {
    crypto::Key256 shared;
    if (!j.contains("shared_key") || !key_from_b64(j["shared_key"], shared) || !j.contains("recovery_public") ||
        !key_from_b64(j["recovery_public"], m.recovery_public))
      return bad();
    m.shared_key = shared;
    return m;
  }
  if (!j.contains("data_keys") || !j["data_keys"].is_array() || j["data_keys"].empty()) return bad();
  for (const auto& dk : j["data_keys"]) {
    DataKey d;
    if (!dk.is_object() || !dk.contains("epoch") || !dk["epoch"].is_number_unsigned() || !dk.contains("key") ||
        !key_from_b64(dk["key"], d.key))
      return bad();
    d.epoch = dk["epoch"].get<uint32_t>();
    if (d.epoch == kSharedEpoch || d.epoch == kBoxEpoch) return bad();
    if (dk.contains("created") && dk["created"].is_string()) {
      auto t = parse_time(dk["created"].get<std::string>());
      if (t) d.created_ns = *t;
    }
    m.data_keys.push_back(d);
  }
  return m;
}

RepoKeys::RepoKeys(MasterKey master, bool seal_shared)
    : master_(std::move(master)), seal_shared_(seal_shared), id_hash_(master_.id_key) {
  for (const auto& d : master_.data_keys) aeads_.emplace_back(d.epoch, crypto::Aead(d.key));
  if (master_.shared_key) shared_.emplace(*master_.shared_key);
  if (master_.write_only()) recovery_.public_key = master_.recovery_public;
  else recovery_ = recovery_key_pair(master_);
}

Id RepoKeys::blob_id(ByteSpan plaintext) const {
  Id id;
  id.bytes = id_hash_.hash(plaintext);
  return id;
}

namespace {

// This thread's box sealer for `recipient` (one ephemeral key for many boxes).
crypto::BoxSealer& box_sealer(const crypto::Key256& recipient) {
  thread_local std::optional<crypto::BoxSealer> sealer;
  if (!sealer || sealer->recipient() != recipient) sealer.emplace(recipient);
  return *sealer;
}

Status open_box_cached(const crypto::X25519KeyPair& recipient, ByteSpan box, ByteSpan aad, Bytes& out) {
  thread_local crypto::BoxOpener opener;
  return opener.open(recipient, box, aad, out);
}

void put_envelope_header(uint8_t* p, uint32_t epoch) {
  p[0] = kEnvelopeVersion;
  for (int i = 0; i < 4; ++i) p[1 + i] = static_cast<uint8_t>(epoch >> (8 * i));
}
}  // namespace

uint32_t RepoKeys::data_epoch() const { return write_only() ? kBoxEpoch : aeads_.back().first; }

uint32_t RepoKeys::shared_epoch() const { return sealing_shared() || write_only() ? kSharedEpoch : data_epoch(); }

void RepoKeys::seal(ByteSpan plaintext, ByteSpan aad, Bytes& out) const {
  out.push_back(kEnvelopeVersion);
  put_fixed32(out, data_epoch());
  if (write_only()) box_sealer(recovery_.public_key).seal(plaintext, aad, out);
  else aeads_.back().second.seal(plaintext, aad, out);
}

size_t RepoKeys::seal_header_size() const {
  return write_only() ? 1 + 4 + crypto::kBoxHeader : kEnvelopeHeader;
}

void RepoKeys::seal_in_place(Bytes& buf, size_t start, ByteSpan aad) const {
  put_envelope_header(buf.data() + start, data_epoch());
  if (write_only()) box_sealer(recovery_.public_key).seal_in_place(buf, start + 5, aad);
  else aeads_.back().second.seal_in_place(buf, start + 5, aad);
}

void RepoKeys::seal_shared(ByteSpan plaintext, ByteSpan aad, Bytes& out) const {
  if (shared_epoch() != kSharedEpoch) return seal(plaintext, aad, out);
  out.push_back(kEnvelopeVersion);
  put_fixed32(out, kSharedEpoch);
  shared_->seal(plaintext, aad, out);
}

Status RepoKeys::open(ByteSpan sealed, ByteSpan aad, Bytes& out) const {
  if (sealed.size() < kEnvelopeOverhead) return Status(ErrorCode::kCorrupt, "sealed object too short");
  if (sealed[0] != kEnvelopeVersion)
    return Status(ErrorCode::kCorrupt, fmt::format("unknown envelope version {}", sealed[0]));
  uint32_t epoch = get_fixed32(sealed.data() + 1);
  ByteSpan body = sealed.subspan(5);
  if (epoch == kSharedEpoch) {
    if (!shared_) return Status(ErrorCode::kCorrupt, "sealed with the shared key, which is not in the keyring");
    return shared_->open(body, aad, out);
  }
  if (epoch == kBoxEpoch) {
    if (write_only())
      return Status(ErrorCode::kPermission, "sealed for the recovery key: a write-only key cannot open it");
    return open_box_cached(recovery_, body, aad, out);
  }
  for (const auto& [e, aead] : aeads_)
    if (e == epoch) return aead.open(body, aad, out);
  if (write_only())
    return Status(ErrorCode::kPermission,
                  fmt::format("sealed with data key epoch {}, which a write-only key does not hold", epoch));
  return Status(ErrorCode::kCorrupt, fmt::format("sealed with unknown key epoch {}", epoch));
}

crypto::X25519KeyPair recovery_key_pair(const MasterKey& master) {
  return crypto::x25519_from_seed(
      crypto::hmac_sha256(master.data_keys.front().key, as_bytes(std::string_view("lifeboat recovery v1"))));
}

MasterKey write_only_key(const MasterKey& master) {
  MasterKey w;
  w.id_key = master.id_key;
  w.shared_key = master.shared_key;
  w.recovery_public = recovery_key_pair(master).public_key;
  return w;
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

namespace {
constexpr std::string_view kSharedAad = "keyring shared";
}

Bytes seal_shared_key(const crypto::Key256& keyring_key, const crypto::Key256& shared) {
  Bytes out;
  crypto::Aead(keyring_key).seal(ByteSpan(shared.data(), shared.size()), as_bytes(kSharedAad), out);
  return out;
}

Result<crypto::Key256> open_shared_key(const crypto::Key256& keyring_key, ByteSpan sealed) {
  Bytes plain;
  if (!crypto::Aead(keyring_key).open(sealed, as_bytes(kSharedAad), plain).is_ok() || plain.size() != 32)
    return Status(ErrorCode::kCorrupt, fmt::format("{} is damaged: it does not authenticate", kSharedKeyName));
  crypto::Key256 k;
  std::copy(plain.begin(), plain.end(), k.begin());
  return k;
}

Status check_new_password(std::string_view password) {
  if (password.empty()) return Status(ErrorCode::kInvalidArgument, "empty password: choose a non-empty passphrase");
  return Status::ok();
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
  if (master.write_only()) j["kind"] = "write-only";
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
  info.write_only = j.contains("kind") && j["kind"] == "write-only";
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
  LB_ASSIGN_OR_RETURN(MasterKey master, MasterKey::from_json(as_string_view(plain)));
  if (master.write_only() != info.write_only) return Status(ErrorCode::kCorrupt, "key file is malformed");
  return master;
}

}  // namespace lifeboat::repo
