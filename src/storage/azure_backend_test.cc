// Azure location, connection-string and configuration parsing and the Shared
// Key signature (no server), then — with LIFEBOAT_TEST_AZURE set
// (scripts/services.sh starts Azurite) — listing pages, staged blocks, access
// tiers, SAS tokens and the errors a user meets, against the emulator. The
// conformance suite in backend_test.cc runs the driver's contract there too.
#include "storage/azure_backend.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <random>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "crypto/keyed_hash.h"
#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat::storage {
namespace {

using lifeboat::testing::ScopedEnv;

constexpr const char* kDevKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// Every Azure variable unset, so a test sees only what it sets.
ScopedEnv clean_azure_env() {
  return ScopedEnv({{"AZURE_STORAGE_ACCOUNT", nullptr},
                    {"AZURE_STORAGE_KEY", nullptr},
                    {"AZURE_STORAGE_SAS_TOKEN", nullptr},
                    {"AZURE_STORAGE_CONNECTION_STRING", nullptr},
                    {"AZURE_STORAGE_BLOB_ENDPOINT", nullptr},
                    {"LIFEBOAT_AZURE_CA_BUNDLE", nullptr},
                    {"LIFEBOAT_AZURE_TIER_DATA", nullptr},
                    {"LIFEBOAT_AZURE_THAW_PRIORITY", nullptr},
                    {"LIFEBOAT_CONNECTIONS", nullptr}});
}

TEST(AzureLocation, ContainerAndPrefix) {
  auto c = parse_azure_location("azure:backups/host-a/repo/");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->container, "backups");
  EXPECT_EQ(c->prefix, "host-a/repo/");
  auto bare = parse_azure_location("azure:my-backups-2");
  ASSERT_TRUE(bare.is_ok()) << bare.status().message();
  EXPECT_EQ(bare->container, "my-backups-2");
  EXPECT_EQ(bare->prefix, "");
  auto longest = parse_azure_location("azure:" + std::string(63, 'a'));
  EXPECT_TRUE(longest.is_ok());
}

TEST(AzureLocation, MalformedIsOneClearError) {
  for (std::string bad : std::vector<std::string>{"azure:", "azure:/x", "azure:ab", "azure:Backups", "azure:a--b", "azure:-abc", "azure:abc-",
                          "azure:under_score", "azure:dot.ted", "azure:https://acct.blob.core.windows.net/c",
                          "azure:" + std::string(64, 'a')}) {
    auto c = parse_azure_location(bad);
    ASSERT_FALSE(c.is_ok()) << bad;
    EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_TRUE(c.status().message().starts_with("invalid Azure location \"" + bad + "\": "))
        << c.status().message();
    EXPECT_EQ(c.status().message().find('\n'), std::string::npos);
  }
  EXPECT_NE(parse_azure_location("azure:Backups").status().message().find("lower-case letters"), std::string::npos);
}

TEST(AzureConnectionString, KeyValuePartsKeepTheirEquals) {
  auto f = parse_azure_connection_string(
      " DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5a2V5==;"
      "BlobEndpoint=http://127.0.0.1:10000/acct;;SharedAccessSignature=sv=2024-11-04&sig=x%3D; ");
  ASSERT_TRUE(f.is_ok()) << f.status().message();
  using V = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*f, (V{{"DefaultEndpointsProtocol", "http"},
                   {"AccountName", "acct"},
                   {"AccountKey", "a2V5a2V5=="},
                   {"BlobEndpoint", "http://127.0.0.1:10000/acct"},
                   {"SharedAccessSignature", "sv=2024-11-04&sig=x%3D"}}));
  auto bad = parse_azure_connection_string("AccountName=acct;AccountKey");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("AZURE_STORAGE_CONNECTION_STRING is malformed"), std::string::npos);
}

TEST(AzureConfig, FromTheConnectionString) {
  auto clean = clean_azure_env();
  ScopedEnv env({{"AZURE_STORAGE_CONNECTION_STRING",
                  "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn"}});
  auto c = parse_azure_location("azure:backups/p");
  ASSERT_TRUE(azure_config_from_environment(*c).is_ok());
  EXPECT_EQ(c->account, "acct");
  EXPECT_EQ(to_string(c->key), "key");
  EXPECT_EQ(c->sas, "");
  EXPECT_EQ(c->endpoint, "https://acct.blob.core.chinacloudapi.cn");
  EXPECT_EQ(c->connections, 5);
  AzureBackend b(*c);
  EXPECT_EQ(b.location(), "azure:backups/p/");
}

TEST(AzureConfig, DevelopmentStorageIsAzurite) {
  auto clean = clean_azure_env();
  ScopedEnv env({{"AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true"}});
  auto c = parse_azure_location("azure:backups");
  ASSERT_TRUE(azure_config_from_environment(*c).is_ok());
  EXPECT_EQ(c->account, "devstoreaccount1");
  EXPECT_EQ(c->key, *base64_decode(kDevKey));
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:10000/devstoreaccount1");
}

TEST(AzureConfig, VariablesWinOverTheConnectionString) {
  auto clean = clean_azure_env();
  ScopedEnv env({{"AZURE_STORAGE_CONNECTION_STRING",
                  "AccountName=acct;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/acct/"},
                 {"AZURE_STORAGE_ACCOUNT", "other"},
                 {"AZURE_STORAGE_KEY", "b3RoZXI="},
                 {"AZURE_STORAGE_BLOB_ENDPOINT", "http://127.0.0.1:1/other/"},
                 {"LIFEBOAT_AZURE_CA_BUNDLE", "/etc/ssl/x.pem"},
                 {"LIFEBOAT_AZURE_TIER_DATA", "cool"},
                 {"LIFEBOAT_AZURE_THAW_PRIORITY", "high"},
                 {"LIFEBOAT_CONNECTIONS", "9"}});
  auto c = parse_azure_location("azure:backups");
  Status s = azure_config_from_environment(*c);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(c->account, "other");
  EXPECT_EQ(to_string(c->key), "other");
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:1/other") << "the trailing slash goes";
  EXPECT_EQ(c->http.ca_bundle, "/etc/ssl/x.pem");
  EXPECT_EQ(c->data_tier, "Cool");
  EXPECT_EQ(c->thaw_priority, "High");
  EXPECT_EQ(c->connections, 9);
}

TEST(AzureConfig, SasTokenWithoutAKey) {
  auto clean = clean_azure_env();
  ScopedEnv env({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_SAS_TOKEN", "?sv=2024-11-04&sp=rl&sig=abc%2B"}});
  auto c = parse_azure_location("azure:backups");
  ASSERT_TRUE(azure_config_from_environment(*c).is_ok());
  EXPECT_TRUE(c->key.empty());
  EXPECT_EQ(c->sas, "sv=2024-11-04&sp=rl&sig=abc%2B") << "the leading '?' goes";
  EXPECT_EQ(c->endpoint, "https://acct.blob.core.windows.net");
}

TEST(AzureConfig, MissingOrMalformedSettingsAreOneClearLine) {
  auto clean = clean_azure_env();
  auto check = [](std::initializer_list<std::pair<const char*, const char*>> vars, const std::string& needle) {
    ScopedEnv env(vars);
    auto c = parse_azure_location("azure:backups");
    Status s = azure_config_from_environment(*c);
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument) << needle;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
  };
  check({}, "no Azure credentials: set AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, or AZURE_STORAGE_SAS_TOKEN, or "
            "AZURE_STORAGE_CONNECTION_STRING");
  check({{"AZURE_STORAGE_ACCOUNT", "acct"}}, "no Azure credentials");
  check({{"AZURE_STORAGE_KEY", "a2V5"}}, "set AZURE_STORAGE_ACCOUNT");
  check({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_KEY", "not base64!"}},
        "the Azure account key in AZURE_STORAGE_KEY is not base64");
  check({{"AZURE_STORAGE_SAS_TOKEN", "sv=1&sig=x"}}, "set AZURE_STORAGE_ACCOUNT or AZURE_STORAGE_BLOB_ENDPOINT");
  check({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_SAS_TOKEN", "sv=2024-11-04&sp=rl"}}, "has no sig=");
  check({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_KEY", "a2V5"}, {"AZURE_STORAGE_BLOB_ENDPOINT", "ftp://x"}},
        "is not an http:// or https:// URL");
  check({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_KEY", "a2V5"}, {"LIFEBOAT_AZURE_TIER_DATA", "Glacier"}},
        "LIFEBOAT_AZURE_TIER_DATA must be Hot, Cool, Cold or Archive, not \"Glacier\"");
  check({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_KEY", "a2V5"}, {"LIFEBOAT_AZURE_THAW_PRIORITY", "Now"}},
        "LIFEBOAT_AZURE_THAW_PRIORITY must be Standard or High");
  check({{"AZURE_STORAGE_ACCOUNT", "acct"}, {"AZURE_STORAGE_KEY", "a2V5"}, {"LIFEBOAT_CONNECTIONS", "0"}},
        "LIFEBOAT_CONNECTIONS must be 1 to 64");
}

// The layout of the documentation's example (Get Container Metadata): twelve
// standard header lines, the x-ms- headers sorted, then the resource with
// its query parameters sorted and lower-cased.
TEST(AzureSharedKey, StringToSignHasTheDocumentedLayout) {
  std::string s = azure_string_to_sign(
      "GET", {"x-ms-version: 2009-09-19", "X-MS-Date:  Sun, 11 Oct 2009   21:49:13 GMT "}, 0, "myaccount",
      "/mycontainer", {{"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"}});
  EXPECT_EQ(s,
            "GET\n\n\n\n\n\n\n\n\n\n\n\n"
            "x-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n"
            "/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20");
}

// A Put Block as the driver sends it to Azurite (path-style: the account is
// in the path too). The signature was computed independently (Python's hmac
// over the documented string-to-sign) with Azurite's published key.
TEST(AzureSharedKey, PutBlockSignatureGolden) {
  std::string block_id = base64_encode(as_bytes("lifeboat-0011223344556677-000001"));
  std::string s = azure_string_to_sign(
      "PUT",
      {"Content-MD5: XrY7u+Ae7tCTyyK7j1rNww==", "x-ms-date: Sun, 22 Nov 2026 04:00:00 GMT",
       "x-ms-version: 2024-11-04", "Expect:"},
      11, "devstoreaccount1", "/devstoreaccount1/lifeboat/data/ab/x%20y", {{"comp", "block"}, {"blockid", block_id}});
  EXPECT_EQ(s,
            "PUT\n\n\n11\nXrY7u+Ae7tCTyyK7j1rNww==\n\n\n\n\n\n\n\n"
            "x-ms-date:Sun, 22 Nov 2026 04:00:00 GMT\nx-ms-version:2024-11-04\n"
            "/devstoreaccount1/devstoreaccount1/lifeboat/data/ab/x%20y\n"
            "blockid:bGlmZWJvYXQtMDAxMTIyMzM0NDU1NjY3Ny0wMDAwMDE=\ncomp:block");
  EXPECT_EQ(azure_signature(*base64_decode(kDevKey), s), "uXjsYFj6qK5aiA5bWfF6xK5V1tFVBlTEwMnQ03mEIjA=");
}

TEST(AzureSharedKey, ZeroLengthIsSignedAsEmpty) {
  std::string empty = azure_string_to_sign("PUT", {}, 0, "a", "/c/b", {});
  std::string one = azure_string_to_sign("PUT", {}, 1, "a", "/c/b", {});
  EXPECT_TRUE(empty.starts_with("PUT\n\n\n\n")) << empty;
  EXPECT_TRUE(one.starts_with("PUT\n\n\n1\n")) << one;
}

TEST(AzureBackend, AnUnreachableServerIsRetriedThenReported) {
  auto clean = clean_azure_env();
  ScopedEnv env({{"AZURE_STORAGE_ACCOUNT", "devstoreaccount1"},
                 {"AZURE_STORAGE_KEY", kDevKey},
                 {"AZURE_STORAGE_BLOB_ENDPOINT", "http://127.0.0.1:9/devstoreaccount1"}});  // nothing listens
  auto c = parse_azure_location("azure:backups");
  ASSERT_TRUE(azure_config_from_environment(*c).is_ok());
  c->http.max_attempts = 3;
  c->http.backoff_base_ms = 1;
  AzureBackend b(*c);
  auto r = b.stat("config");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1:9"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("gave up after 3 attempts"), std::string::npos) << r.status().message();
  EXPECT_EQ(b.http().requests(), 3u);
  EXPECT_EQ(b.http().retries(), 2u);
}

// An account SAS (version 2020-12-06 and later layout) for the emulator's
// blob service, signed with the account key, expiring in an hour.
std::string account_sas(const AzureConfig& c, const std::string& permissions) {
  std::time_t t = std::time(nullptr) + 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char expiry[32];
  std::strftime(expiry, sizeof expiry, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::string version(kAzureApiVersion);
  std::string to_sign = fmt::format("{}\n{}\nb\nsco\n\n{}\n\nhttps,http\n{}\n\n", c.account, permissions, expiry,
                                    version);
  auto mac = crypto::hmac_sha256(c.key, as_bytes(to_sign));
  return fmt::format("sv={}&ss=b&srt=sco&sp={}&se={}&spr=https,http&sig={}", version, permissions,
                     uri_encode(expiry, false), uri_encode(base64_encode(ByteSpan(mac.data(), mac.size())), false));
}

// Against the emulator of LIFEBOAT_TEST_AZURE (scripts/test.sh starts one).
class AzureServer : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("LIFEBOAT_TEST_AZURE");
    if (!base || !*base) GTEST_SKIP() << "LIFEBOAT_TEST_AZURE is not set";
    auto c = parse_azure_location(std::string(base) + "/az-" + std::to_string(std::random_device{}()));
    ASSERT_TRUE(c.is_ok()) << c.status().message();
    Status s = azure_config_from_environment(*c);
    ASSERT_TRUE(s.is_ok()) << s.message();
    ASSERT_FALSE(c->key.empty()) << "these tests sign SAS tokens with the account key (AZURE_STORAGE_KEY)";
    config_ = *c;
  }
  AzureConfig config_;
};

TEST_F(AzureServer, ListingFollowsMarkers) {
  config_.list_page_size = 7;
  AzureBackend b(config_);
  ASSERT_TRUE(b.create().is_ok());
  std::set<std::string> written;
  for (int i = 0; i < 30; ++i) {
    std::string name = "index/" + std::to_string(1000 + i);
    ASSERT_TRUE(b.write(name, as_bytes(name)).is_ok());
    written.insert(name);
  }
  ASSERT_TRUE(b.write("config", as_bytes("c")).is_ok());
  uint64_t before = b.http().requests();
  auto all = b.list("index/");
  ASSERT_TRUE(all.is_ok()) << all.status().message();
  std::set<std::string> listed;
  for (const auto& o : *all) {
    listed.insert(o.name);
    EXPECT_EQ(o.size, o.name.size());
    EXPECT_FALSE(o.archived);
  }
  EXPECT_EQ(listed, written);
  EXPECT_EQ(b.http().requests() - before, 5u) << "30 blobs in pages of 7";
}

// azure:CONTAINER without a prefix: the whole container is the repository
// (listings send no prefix parameter at all).
TEST_F(AzureServer, AContainerWithoutPrefix) {
  config_.container = "lifeboat-whole-" + std::to_string(std::random_device{}());
  config_.prefix = "";
  AzureBackend b(config_);
  ASSERT_TRUE(b.create().is_ok());
  ASSERT_TRUE(b.write("config", as_bytes("c")).is_ok());
  ASSERT_TRUE(b.write("data/ab/p", as_bytes("p")).is_ok());
  EXPECT_EQ(b.location(), "azure:" + config_.container + "/");
  EXPECT_EQ(b.list("")->size(), 2u);
  EXPECT_EQ(b.list("data/")->size(), 1u);
  EXPECT_EQ(b.create().code(), ErrorCode::kAlreadyExists);
  HttpResponse r;
  ASSERT_TRUE(b.http().perform(b.request("DELETE", "", {{"restype", "container"}}), r).is_ok());
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(b.list("").status().code(), ErrorCode::kNoRepository);
}

TEST_F(AzureServer, LargeObjectsGoUpInBlocks) {
  config_.put_blob_max = 1 << 20;
  config_.block_size = 256 << 10;
  AzureBackend b(config_);
  ASSERT_TRUE(b.create().is_ok());
  Bytes big = lifeboat::testing::splitmix_bytes(9, 3 * (1 << 20) + 13);  // 12 full blocks and 13 bytes
  uint64_t before = b.http().requests();
  Status s = b.write("data/00/big", big);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(b.http().requests() - before, 14u) << "13 Put Block and one Put Block List";
  auto whole = b.read("data/00/big", 0, kToEnd);
  ASSERT_TRUE(whole.is_ok()) << whole.status().message();
  EXPECT_TRUE(*whole == big);
  auto middle = b.read("data/00/big", (256 << 10) - 5, 10);  // across a block boundary
  ASSERT_TRUE(middle.is_ok());
  EXPECT_TRUE(std::equal(middle->begin(), middle->end(), big.begin() + (256 << 10) - 5));
  EXPECT_EQ(middle->size(), 10u);
  auto tail = b.read("data/00/big", big.size() - 100, kToEnd);
  ASSERT_TRUE(tail.is_ok());
  EXPECT_TRUE(std::equal(tail->begin(), tail->end(), big.end() - 100));
  auto st = b.stat("data/00/big");
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->size, big.size());
  // Replacing it with a small object leaves no trace of the blocks.
  ASSERT_TRUE(b.write("data/00/big", as_bytes("small")).is_ok());
  EXPECT_EQ(to_string(*b.read("data/00/big", 0, kToEnd)), "small");
  EXPECT_EQ(b.list("data/")->size(), 1u);
}

// Whole reads are checked against the MD5 the service stored at upload: a
// body that does not match is retried, then reported, never returned.
TEST_F(AzureServer, WholeReadsAreCheckedAgainstTheStoredMd5) {
  config_.http.max_attempts = 3;
  config_.http.backoff_base_ms = 1;
  AzureBackend b(config_);
  ASSERT_TRUE(b.create().is_ok());
  ASSERT_TRUE(b.write("data/55/pack", as_bytes("pack bytes")).is_ok());
  EXPECT_EQ(to_string(*b.read("data/55/pack", 0, kToEnd)), "pack bytes");
  // Set Blob Properties with the MD5 of other bytes, as if they had been damaged.
  auto other = crypto::md5(as_bytes("pack bytez"));
  HttpResponse r;
  ASSERT_TRUE(b.http()
                  .perform(b.request("PUT", "data/55/pack", {{"comp", "properties"}},
                                     {"x-ms-blob-content-md5: " + base64_encode(ByteSpan(other.data(), other.size()))}),
                           r)
                  .is_ok());
  ASSERT_EQ(r.status, 200) << to_string(r.body);
  uint64_t before = b.http().requests();
  auto got = b.read("data/55/pack", 0, kToEnd);
  ASSERT_FALSE(got.is_ok());
  EXPECT_EQ(got.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(got.status().message().find("data/55/pack arrived damaged (Content-MD5 differs)"), std::string::npos)
      << got.status().message();
  EXPECT_EQ(b.http().requests() - before, 3u);
  EXPECT_EQ(to_string(*b.read("data/55/pack", 5, 5)), "bytes") << "ranged reads carry no whole-object MD5";
}

TEST_F(AzureServer, DataTierOnlyOnColdWrites) {
  config_.data_tier = "Cool";
  AzureBackend b(config_);
  ASSERT_TRUE(b.create().is_ok());
  ASSERT_TRUE(b.write_cold("data/11/pack", as_bytes("p")).is_ok());
  ASSERT_TRUE(b.write("data/22/tree-pack", as_bytes("t")).is_ok());
  ASSERT_TRUE(b.write("config", as_bytes("c")).is_ok());
  EXPECT_EQ(*b.access_tier("data/11/pack"), "Cool");
  EXPECT_EQ(*b.access_tier("data/22/tree-pack"), "") << "the account's default tier";
  EXPECT_EQ(*b.access_tier("config"), "");
  // Staged blocks get it too (Put Block List carries the tier).
  config_.put_blob_max = 4;
  config_.block_size = 2;
  AzureBackend blocks(config_);
  ASSERT_TRUE(blocks.write_cold("data/33/pack", as_bytes("12345")).is_ok());
  EXPECT_EQ(*blocks.access_tier("data/33/pack"), "Cool");
  EXPECT_EQ(to_string(*blocks.read("data/33/pack", 0, kToEnd)), "12345");
}

TEST_F(AzureServer, ArchivedObjectsAreThawedBeforeReading) {
  config_.data_tier = "Archive";
  AzureBackend b(config_);
  ASSERT_TRUE(b.create().is_ok());
  ASSERT_TRUE(b.write_cold("data/44/pack", as_bytes("cold bytes")).is_ok());
  auto listed = b.list("data/");
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE((*listed)[0].archived);
  EXPECT_EQ(*b.thaw_state("data/44/pack"), ThawState::kArchived);
  auto r = b.read("data/44/pack", 0, kToEnd);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kArchived);
  EXPECT_NE(r.status().message().find("Archive tier"), std::string::npos) << r.status().message();
  ASSERT_TRUE(b.thaw("data/44/pack", 3).is_ok());
  // Azure rehydrates in hours (kThawing meanwhile); Azurite at once.
  auto state = b.thaw_state("data/44/pack");
  ASSERT_TRUE(state.is_ok());
  EXPECT_EQ(*state, ThawState::kReadable);
  EXPECT_EQ(*b.access_tier("data/44/pack"), "Cool");
  EXPECT_EQ(to_string(*b.read("data/44/pack", 0, kToEnd)), "cold bytes");
  ASSERT_TRUE(b.thaw("data/44/pack", 3).is_ok()) << "thawing a readable object is harmless";
  EXPECT_EQ(*b.access_tier("data/44/pack"), "Cool");
  EXPECT_EQ(b.thaw("data/44/missing", 3).code(), ErrorCode::kNotFound);
}

TEST_F(AzureServer, SasTokensAuthorize) {
  AzureBackend admin(config_);
  ASSERT_TRUE(admin.create().is_ok());
  ASSERT_TRUE(admin.write("config", as_bytes("c")).is_ok());

  AzureConfig rw = config_;
  rw.sas = account_sas(config_, "rwdlac");
  rw.key.clear();
  AzureBackend writer(rw);
  Status s = writer.write("keys/k1", as_bytes("key"));
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(to_string(*writer.read("keys/k1", 0, kToEnd)), "key");
  EXPECT_EQ(writer.list("")->size(), 2u);
  ASSERT_TRUE(writer.remove("keys/k1").is_ok());

  AzureConfig ro = rw;
  ro.sas = account_sas(config_, "rl");
  AzureBackend reader(ro);
  EXPECT_EQ(to_string(*reader.read("config", 0, kToEnd)), "c");
  s = reader.write("keys/k2", as_bytes("key"));
  EXPECT_EQ(s.code(), ErrorCode::kPermission) << s.message();
  EXPECT_NE(s.message().find("access to container \"" + config_.container + "\" denied"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("SAS token needs"), std::string::npos) << s.message();

  AzureConfig forged = rw;
  forged.sas = rw.sas.substr(0, rw.sas.find("&sig=")) + "&sig=AAAA";
  AzureBackend impostor(forged);
  auto r = impostor.read("config", 0, kToEnd);
  EXPECT_EQ(r.status().code(), ErrorCode::kPermission) << r.status().message();
  EXPECT_NE(r.status().message().find("check AZURE_STORAGE_SAS_TOKEN"), std::string::npos) << r.status().message();
}

TEST_F(AzureServer, ErrorsNameWhatToCheck) {
  AzureConfig wrong = config_;
  wrong.key = to_bytes("not the key");
  AzureBackend impostor(wrong);
  auto r = impostor.stat("config");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kPermission);
  EXPECT_NE(r.status().message().find("check AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << r.status().message();

  AzureConfig missing = config_;
  missing.container = "lifeboat-no-such-container-" + std::to_string(std::random_device{}());
  AzureBackend nowhere(missing);
  auto listed = nowhere.list("");
  EXPECT_EQ(listed.status().code(), ErrorCode::kNoRepository) << listed.status().message();
  EXPECT_NE(listed.status().message().find("container \"" + missing.container + "\" does not exist"),
            std::string::npos)
      << listed.status().message();
  EXPECT_EQ(nowhere.stat("config").status().code(), ErrorCode::kNoRepository);
  EXPECT_EQ(nowhere.read("config", 0, kToEnd).status().code(), ErrorCode::kNoRepository);
  EXPECT_EQ(nowhere.write("config", as_bytes("c")).code(), ErrorCode::kNoRepository);
}

}  // namespace
}  // namespace lifeboat::storage
