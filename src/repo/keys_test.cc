#include "repo/keys.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "crypto/keyed_hash.h"
#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

using json = nlohmann::json;

MasterKey fixed_master() {
  MasterKey m;
  DataKey d;
  d.epoch = 1;
  for (size_t i = 0; i < d.key.size(); ++i) d.key[i] = static_cast<uint8_t>(0x40 + i);
  d.created_ns = 1705329000'000000000;
  m.data_keys.push_back(d);
  for (size_t i = 0; i < m.id_key.size(); ++i) m.id_key[i] = static_cast<uint8_t>(i);
  return m;
}

void expect_same(const MasterKey& a, const MasterKey& b) {
  EXPECT_EQ(a.id_key, b.id_key);
  ASSERT_EQ(a.data_keys.size(), b.data_keys.size());
  for (size_t i = 0; i < a.data_keys.size(); ++i) {
    EXPECT_EQ(a.data_keys[i].epoch, b.data_keys[i].epoch);
    EXPECT_EQ(a.data_keys[i].key, b.data_keys[i].key);
    EXPECT_EQ(a.data_keys[i].created_ns, b.data_keys[i].created_ns);
  }
}

TEST(MasterKey, GenerateMakesFreshKeys) {
  MasterKey a = MasterKey::generate(5), b = MasterKey::generate(5);
  ASSERT_EQ(a.data_keys.size(), 1u);
  EXPECT_EQ(a.data_keys[0].epoch, 1u);
  EXPECT_EQ(a.data_keys[0].created_ns, 5);
  EXPECT_NE(a.id_key, b.id_key);
  EXPECT_NE(a.data_keys[0].key, b.data_keys[0].key);
  EXPECT_NE(a.data_keys[0].key, a.id_key);
}

TEST(MasterKey, JsonRoundTrip) {
  MasterKey m = fixed_master();
  DataKey second = m.data_keys[0];
  second.epoch = 2;
  second.key[0] ^= 0xff;
  second.created_ns += 123;
  m.data_keys.push_back(second);
  std::string j = m.to_json();
  auto back = MasterKey::from_json(j);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  expect_same(m, *back);
  // The documented shape (docs/FORMAT.md).
  json parsed = json::parse(j);
  EXPECT_EQ(parsed["version"], 1);
  EXPECT_EQ(parsed["id_key"], base64_encode(m.id_key));
  EXPECT_EQ(parsed["data_keys"][1]["epoch"], 2);
  EXPECT_EQ(parsed["data_keys"][0]["created"], "2024-01-15T14:30:00.000000000Z");
}

TEST(MasterKey, FromJsonRejectsMalformed) {
  std::string good = fixed_master().to_json();
  json j = json::parse(good);
  auto variant = [&](auto edit) {
    json c = j;
    edit(c);
    return c.dump();
  };
  const std::string bad[] = {
      "",
      "not json",
      "[]",
      variant([](json& c) { c["version"] = 2; }),
      variant([](json& c) { c.erase("id_key"); }),
      variant([](json& c) { c["id_key"] = "AAAA"; }),  // 3 bytes, not 32
      variant([](json& c) { c["id_key"] = "!!!!"; }),
      variant([](json& c) { c["data_keys"] = json::array(); }),
      variant([](json& c) { c["data_keys"][0].erase("key"); }),
      variant([](json& c) { c["data_keys"][0]["epoch"] = -1; }),
      variant([](json& c) { c["data_keys"][0]["epoch"] = "1"; }),
      variant([](json& c) { c["data_keys"][0] = 7; }),
  };
  for (const auto& text : bad) {
    auto r = MasterKey::from_json(text);
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt) << text;
    EXPECT_EQ(r.status().message(), "master key is malformed");
  }
}

TEST(RepoKeys, BlobIdIsHmacOfIdKey) {
  RepoKeys keys(fixed_master());
  // HMAC-SHA-256(00..1f, "hello"), computed independently.
  EXPECT_EQ(keys.blob_id(as_bytes("hello")).hex(),
            "53c40272a70c15ca4ee0af4df1f155fd6c41e00ce2307d8987ecd4bb36a7e990");
  EXPECT_NE(keys.blob_id(as_bytes("hello")), keys.blob_id(as_bytes("hellp")));
}

// gear[i] = first 8 bytes (LE) of HMAC-SHA-256(id_key, "lifeboat fastcdc gear v1" || i as u32 LE),
// pinned from an independent computation: the table is part of the format.
TEST(RepoKeys, GearTableGolden) {
  auto gear = RepoKeys(fixed_master()).gear_table();
  EXPECT_EQ(gear[0], 0x2adef18df089e7eaULL);
  EXPECT_EQ(gear[1], 0x12ceb81757757922ULL);
  EXPECT_EQ(gear[255], 0xa8aa72b6ca461cf5ULL);
  MasterKey other = fixed_master();
  other.id_key[0] ^= 1;
  EXPECT_NE(RepoKeys(other).gear_table(), gear);
}

TEST(RepoKeys, EnvelopeLayout) {
  MasterKey m = fixed_master();
  m.data_keys[0].epoch = 0x01020304;
  RepoKeys keys(m);
  Bytes sealed = to_bytes("pre");
  keys.seal(as_bytes("payload"), as_bytes("aad"), sealed);
  ASSERT_EQ(sealed.size(), 3 + 7 + kEnvelopeOverhead);
  EXPECT_EQ(sealed[3], kEnvelopeVersion);
  EXPECT_EQ(get_fixed32(sealed.data() + 4), 0x01020304u);
  // The rest is plain AES-256-GCM under the data key.
  Bytes plain;
  ASSERT_TRUE(crypto::Aead(m.data_keys[0].key).open(ByteSpan(sealed).subspan(8), as_bytes("aad"), plain).is_ok());
  EXPECT_EQ(as_string_view(plain), "payload");
  Bytes out;
  ASSERT_TRUE(keys.open(ByteSpan(sealed).subspan(3), as_bytes("aad"), out).is_ok());
  EXPECT_EQ(as_string_view(out), "payload");
}

TEST(RepoKeys, SealInPlaceMatchesEnvelope) {
  RepoKeys keys(fixed_master());
  Bytes buf = to_bytes("xy");
  buf.resize(2 + kEnvelopeHeader);
  append(buf, "in place payload");
  keys.seal_in_place(buf, 2, as_bytes("aad"));
  ASSERT_EQ(buf.size(), 2 + 16 + kEnvelopeOverhead);
  EXPECT_EQ(as_string_view(ByteSpan(buf).first(2)), "xy");
  EXPECT_EQ(buf[2], kEnvelopeVersion);
  EXPECT_EQ(get_fixed32(buf.data() + 3), 1u);
  Bytes out;
  ASSERT_TRUE(keys.open(ByteSpan(buf).subspan(2), as_bytes("aad"), out).is_ok());
  EXPECT_EQ(as_string_view(out), "in place payload");
}

TEST(RepoKeys, OpenRejectsDamage) {
  RepoKeys keys(fixed_master());
  Bytes sealed;
  keys.seal(as_bytes("payload"), as_bytes("aad"), sealed);
  Bytes out;
  EXPECT_EQ(keys.open(sealed, as_bytes("aae"), out).code(), ErrorCode::kCorrupt);
  Status short_status = keys.open(ByteSpan(sealed).first(kEnvelopeOverhead - 1), as_bytes("aad"), out);
  EXPECT_EQ(short_status.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(short_status.message(), "sealed object too short");
  Bytes v2 = sealed;
  v2[0] = 2;
  EXPECT_EQ(keys.open(v2, as_bytes("aad"), out).message(), "unknown envelope version 2");
  Bytes epoch = sealed;
  epoch[1] = 9;
  Status e = keys.open(epoch, as_bytes("aad"), out);
  EXPECT_EQ(e.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(e.message(), "sealed with unknown key epoch 9");
  for (size_t i = 5; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x80;
    EXPECT_EQ(keys.open(bad, as_bytes("aad"), out).code(), ErrorCode::kCorrupt) << i;
  }
  EXPECT_TRUE(out.empty());
}

// New objects use the newest data key; objects sealed under an older epoch
// still open.
TEST(RepoKeys, KeyEpochs) {
  MasterKey old_only = fixed_master();
  Bytes old_sealed;
  RepoKeys(old_only).seal(as_bytes("old"), {}, old_sealed);

  MasterKey both = old_only;
  DataKey newer;
  newer.epoch = 2;
  newer.key.fill(0x99);
  both.data_keys.push_back(newer);
  RepoKeys keys(both);
  Bytes sealed;
  keys.seal(as_bytes("new"), {}, sealed);
  EXPECT_EQ(get_fixed32(sealed.data() + 1), 2u);
  Bytes out;
  ASSERT_TRUE(keys.open(old_sealed, {}, out).is_ok());
  EXPECT_EQ(as_string_view(out), "old");
  EXPECT_EQ(RepoKeys(old_only).open(sealed, {}, out).message(), "sealed with unknown key epoch 2");
}

// ------------------------------------------------------------ key files
//
// Opening a key file runs scrypt at N >= 2^16 (~0.2 s): one file is made
// for the suite and each test opens it at most once.

class KeyFile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    KeyFileInfo info;
    info.id = Id::random();
    info.created_ns = 1705329000'000000000;
    info.hostname = "host-a";
    info.username = "alice";
    auto f = create_key_file(fixed_master(), "correct horse", info);
    ASSERT_TRUE(f.is_ok()) << f.status().message();
    file_ = new std::string(to_string(*f));
  }
  static void TearDownTestSuite() {
    delete file_;
    file_ = nullptr;
  }
  static json parsed() { return json::parse(*file_); }
  static std::string* file_;
};
std::string* KeyFile::file_ = nullptr;

TEST_F(KeyFile, OpensWithRightPassword) {
  auto m = open_key_file(as_bytes(*file_), "correct horse");
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  expect_same(*m, fixed_master());
}

TEST_F(KeyFile, WrongPassword) {
  auto m = open_key_file(as_bytes(*file_), "correct horsf");
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kWrongPassword);
  EXPECT_EQ(m.status().message(), "wrong password");
  EXPECT_EQ(m.status().exit_code(), 12);
}

TEST_F(KeyFile, DocumentedLayout) {
  EXPECT_EQ(file_->find_first_of(" \n\t"), std::string::npos) << "key files are compact JSON";
  json j = parsed();
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["created"], "2024-01-15T14:30:00.000000000Z");
  EXPECT_EQ(j["hostname"], "host-a");
  EXPECT_EQ(j["username"], "alice");
  EXPECT_EQ(j["kdf"]["name"], "scrypt");
  EXPECT_EQ(j["kdf"]["n"], 65536);
  EXPECT_EQ(j["kdf"]["r"], 8);
  EXPECT_EQ(j["kdf"]["p"], 1);
  auto salt = base64_decode(j["kdf"]["salt"].get<std::string>());
  ASSERT_TRUE(salt);
  EXPECT_EQ(salt->size(), 32u);
  auto data = base64_decode(j["data"].get<std::string>());
  ASSERT_TRUE(data);
  EXPECT_EQ(data->size(), fixed_master().to_json().size() + crypto::kAeadOverhead);
}

TEST_F(KeyFile, InfoIsReadableWithoutPassword) {
  auto info = parse_key_file_info(as_bytes(*file_));
  ASSERT_TRUE(info.is_ok()) << info.status().message();
  EXPECT_EQ(info->hostname, "host-a");
  EXPECT_EQ(info->username, "alice");
  EXPECT_EQ(info->created_ns, 1705329000'000000000);
  EXPECT_EQ(info->kdf.n, uint64_t{1} << 16);
  EXPECT_EQ(info->kdf.r, 8u);
  EXPECT_EQ(info->kdf.p, 1u);
}

// Every field is bound by the associated data: a key file whose host name
// was edited no longer opens, even with the right password.
TEST_F(KeyFile, TamperedFieldDoesNotOpen) {
  json j = parsed();
  j["hostname"] = "host-b";
  auto m = open_key_file(as_bytes(j.dump()), "correct horse");
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kWrongPassword);
}

TEST_F(KeyFile, TamperedDataDoesNotOpen) {
  json j = parsed();
  auto data = *base64_decode(j["data"].get<std::string>());
  data[20] ^= 1;
  j["data"] = base64_encode(data);
  auto m = open_key_file(as_bytes(j.dump()), "correct horse");
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kWrongPassword);
}

// A tampered key file must not make brute force cheap: weakened parameters
// are refused before any key derivation.
TEST_F(KeyFile, WeakenedKdfParametersAreRefused) {
  for (auto edit : {+[](json& k) { k["n"] = 1024; }, +[](json& k) { k["n"] = 32768; }, +[](json& k) { k["r"] = 1; },
                    +[](json& k) { k["p"] = 0; }, +[](json& k) { k["n"] = uint64_t{1} << 25; },
                    +[](json& k) { k["r"] = 65; }, +[](json& k) { k["p"] = 17; }}) {
    json j = parsed();
    edit(j["kdf"]);
    auto info = parse_key_file_info(as_bytes(j.dump()));
    ASSERT_FALSE(info.is_ok()) << j["kdf"].dump();
    EXPECT_EQ(info.status().code(), ErrorCode::kCorrupt);
    EXPECT_EQ(info.status().message(), "key file has unacceptable KDF parameters");
    auto m = open_key_file(as_bytes(j.dump()), "correct horse");
    EXPECT_EQ(m.status().message(), "key file has unacceptable KDF parameters");
  }
}

// A cheap key file can be written (tests use that) but not opened.
TEST_F(KeyFile, CheapKeyFileIsWrittenButRefusedOnOpen) {
  KeyFileInfo info;
  info.kdf = {1024, 8, 1};
  auto f = create_key_file(fixed_master(), "pw", info);
  ASSERT_TRUE(f.is_ok());
  auto m = open_key_file(*f, "pw");
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kCorrupt);
}

TEST_F(KeyFile, MalformedFilesAreCorrupt) {
  auto edited = [](auto edit) {
    json j = parsed();
    edit(j);
    return j.dump();
  };
  const std::string bad[] = {
      "",
      "{",
      "[1,2]",
      file_->substr(0, file_->size() - 1),
      edited([](json& j) { j["version"] = 2; }),
      edited([](json& j) { j.erase("kdf"); }),
      edited([](json& j) { j["kdf"]["name"] = "argon2id"; }),
      edited([](json& j) { j["kdf"]["n"] = "65536"; }),
      edited([](json& j) { j["kdf"].erase("salt"); }),
      edited([](json& j) { j["kdf"]["salt"] = "not base64!"; }),
      edited([](json& j) { j.erase("data"); }),
      edited([](json& j) { j["data"] = 5; }),
  };
  for (const auto& text : bad) {
    auto m = open_key_file(as_bytes(text), "correct horse");
    ASSERT_FALSE(m.is_ok()) << text;
    EXPECT_EQ(m.status().code(), ErrorCode::kCorrupt) << text;
    EXPECT_EQ(m.status().message(), "key file is malformed") << text;
  }
}

// n must be a power of two; a key file that says otherwise is damaged
// (kCorrupt, like any other malformed key file), not a usage error.
TEST_F(KeyFile, NonPowerOfTwoNIsCorrupt) {
  json j = parsed();
  j["kdf"]["n"] = 65537;
  auto m = open_key_file(as_bytes(j.dump()), "correct horse");
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kCorrupt) << m.status().message();
}

TEST(KeyFileNames, NonUtf8HostnameIsEscaped) {
  KeyFileInfo info;
  info.kdf = {1024, 8, 1};
  info.hostname = "bad\xffhost";
  auto f = create_key_file(fixed_master(), "pw", info);
  ASSERT_TRUE(f.is_ok());
  json j = json::parse(as_string_view(*f));
  EXPECT_EQ(j["hostname"], "bad\\xffhost");
}

}  // namespace
}  // namespace lifeboat::repo

namespace lifeboat::repo {
namespace {

MasterKey with_shared_key() {
  MasterKey m = MasterKey::generate(1);
  crypto::Key256 s;
  s.fill(7);
  m.shared_key = s;
  return m;
}

TEST(WriteOnlyKey, JsonRoundTripHoldsNoDataKey) {
  MasterKey full = with_shared_key();
  MasterKey w = write_only_key(full);
  EXPECT_TRUE(w.write_only());
  EXPECT_EQ(w.id_key, full.id_key);
  EXPECT_EQ(*w.shared_key, *full.shared_key);
  EXPECT_EQ(w.recovery_public, recovery_key_pair(full).public_key);
  std::string text = w.to_json();
  EXPECT_EQ(text.find("data_keys"), std::string::npos);
  for (const auto& d : full.data_keys) EXPECT_EQ(text.find(base64_encode(d.key)), std::string::npos);
  auto back = MasterKey::from_json(text);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_TRUE(back->write_only());
  EXPECT_EQ(back->recovery_public, w.recovery_public);
  EXPECT_EQ(*back->shared_key, *w.shared_key);
  json j = json::parse(text);
  j.erase("recovery_public");
  EXPECT_FALSE(MasterKey::from_json(j.dump()).is_ok());
}

TEST(WriteOnlyKey, SealsDataForTheRecoveryKeyAndMetadataUnderTheSharedKey) {
  RepoKeys full(with_shared_key());
  RepoKeys wo(write_only_key(full.master()));
  EXPECT_TRUE(wo.write_only());
  EXPECT_EQ(wo.blob_id(as_bytes("x")), full.blob_id(as_bytes("x"))) << "the same blob ids: dedup works";
  Bytes data, meta, full_data, full_meta;
  wo.seal(as_bytes("blob"), as_bytes("aad"), data);
  wo.seal_shared(as_bytes("index"), as_bytes("aad"), meta);
  full.seal(as_bytes("blob"), as_bytes("aad"), full_data);
  full.seal_shared(as_bytes("index"), as_bytes("aad"), full_meta);
  EXPECT_EQ(get_fixed32(data.data() + 1), kBoxEpoch);
  EXPECT_EQ(data.size(), 4 + kEnvelopeOverhead + crypto::kX25519KeySize);
  EXPECT_EQ(get_fixed32(meta.data() + 1), kSharedEpoch);
  EXPECT_EQ(get_fixed32(full_data.data() + 1), 1u);
  EXPECT_EQ(get_fixed32(full_meta.data() + 1), kSharedEpoch);
  Bytes out;
  // The full key opens everything; the write-only key only metadata.
  for (const Bytes* b : {&data, &full_data}) {
    out.clear();
    ASSERT_TRUE(full.open(*b, as_bytes("aad"), out).is_ok());
    EXPECT_EQ(as_string_view(out), "blob");
    out.clear();
    EXPECT_EQ(wo.open(*b, as_bytes("aad"), out).code(), ErrorCode::kPermission);
    EXPECT_TRUE(out.empty());
  }
  for (const Bytes* b : {&meta, &full_meta}) {
    out.clear();
    ASSERT_TRUE(wo.open(*b, as_bytes("aad"), out).is_ok());
    EXPECT_EQ(as_string_view(out), "index");
  }
  // In place, as packs are written.
  Bytes buf = to_bytes("xx");
  buf.resize(2 + wo.seal_header_size());
  append(buf, as_bytes(std::string(100, 'z')));
  wo.seal_in_place(buf, 2, as_bytes("aad"));
  out.clear();
  ASSERT_TRUE(full.open(ByteSpan(buf).subspan(2), as_bytes("aad"), out).is_ok());
  EXPECT_EQ(as_string_view(out), std::string(100, 'z'));
  // Without the shared key (stop_sharing), metadata goes under the data key.
  RepoKeys unshared(full.master(), false);
  Bytes m2;
  unshared.seal_shared(as_bytes("index"), as_bytes("aad"), m2);
  EXPECT_EQ(get_fixed32(m2.data() + 1), 1u);
  out.clear();
  EXPECT_TRUE(unshared.open(meta, as_bytes("aad"), out).is_ok()) << "still opens what the shared key sealed";
}

TEST(WriteOnlyKey, KeyFileNamesItsKindAndBindsIt) {
  KeyFileInfo info;
  info.created_ns = 1;
  auto f = create_key_file(write_only_key(with_shared_key()), "pw", info);
  ASSERT_TRUE(f.is_ok());
  auto parsed = parse_key_file_info(*f);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_TRUE(parsed->write_only);
  auto opened = open_key_file(*f, "pw");
  ASSERT_TRUE(opened.is_ok()) << opened.status().message();
  EXPECT_TRUE(opened->write_only());
  json j = json::parse(as_string_view(*f));
  EXPECT_EQ(j["kind"], "write-only");
  j.erase("kind");  // posing as a full key
  EXPECT_FALSE(open_key_file(as_bytes(j.dump()), "pw").is_ok());
}

}  // namespace
}  // namespace lifeboat::repo
