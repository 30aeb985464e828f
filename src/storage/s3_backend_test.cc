// S3 location parsing and configuration (no server; the conformance suite in
// backend_test.cc runs the driver against Ceph's RADOS Gateway).
#include "storage/s3_backend.h"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace lifeboat::storage {
namespace {

using lifeboat::testing::TempDir;
using lifeboat::testing::write_file;

TEST(S3Location, EndpointBucketAndPrefix) {
  auto c = parse_s3_location("s3:http://127.0.0.1:7480/backups/host-a/repo/");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:7480");
  EXPECT_EQ(c->bucket, "backups");
  EXPECT_EQ(c->prefix, "host-a/repo/");
  EXPECT_TRUE(c->path_style);
  auto bare = parse_s3_location("s3:https://s3.example.com/bucket");
  ASSERT_TRUE(bare.is_ok());
  EXPECT_EQ(bare->prefix, "");
  auto aws = parse_s3_location("s3:my-bucket/lifeboat");
  ASSERT_TRUE(aws.is_ok());
  EXPECT_FALSE(aws->path_style);
  EXPECT_EQ(aws->endpoint, "");
  EXPECT_EQ(aws->bucket, "my-bucket");
  EXPECT_EQ(aws->prefix, "lifeboat/");
}

TEST(S3Location, MalformedIsOneClearError) {
  for (const char* bad : {"s3:", "s3:http://host", "s3:http://host/", "s3:Upper/x", "s3:/x"}) {
    auto c = parse_s3_location(bad);
    ASSERT_FALSE(c.is_ok()) << bad;
    EXPECT_EQ(c.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find("invalid S3 location"), std::string::npos) << c.status().message();
  }
}

// Environment variables for one test, restored afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (auto [k, v] : vars) {
      const char* old = std::getenv(k);
      saved_.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
      if (v) ::setenv(k, v, 1);
      else ::unsetenv(k);
    }
  }
  ~ScopedEnv() {
    for (auto& [k, v] : saved_) {
      if (v) ::setenv(k.c_str(), v->c_str(), 1);
      else ::unsetenv(k.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(S3Config, CredentialsFromTheSharedFilesProfile) {
  TempDir dir;
  write_file(dir / "credentials",
             "[default]\naws_access_key_id = DEFAULTKEY\naws_secret_access_key = defaultsecret\n\n"
             "[backup]\naws_access_key_id=BACKUPKEY\naws_secret_access_key=backupsecret\naws_session_token=tok\n");
  write_file(dir / "config", "[default]\nregion = us-west-2\n[profile backup]\nregion = eu-central-1\n");
  ScopedEnv env({{"AWS_ACCESS_KEY_ID", nullptr},
                 {"AWS_SECRET_ACCESS_KEY", nullptr},
                 {"AWS_SESSION_TOKEN", nullptr},
                 {"AWS_REGION", nullptr},
                 {"AWS_DEFAULT_REGION", nullptr},
                 {"AWS_PROFILE", "backup"},
                 {"AWS_SHARED_CREDENTIALS_FILE", (dir / "credentials").c_str()},
                 {"AWS_CONFIG_FILE", (dir / "config").c_str()}});
  auto c = parse_s3_location("s3:bucket/p");
  ASSERT_TRUE(c.is_ok());
  ASSERT_TRUE(s3_config_from_environment(*c).is_ok());
  EXPECT_EQ(c->access_key, "BACKUPKEY");
  EXPECT_EQ(c->secret_key, "backupsecret");
  EXPECT_EQ(c->session_token, "tok");
  EXPECT_EQ(c->region, "eu-central-1");
  EXPECT_EQ(c->endpoint, "https://s3.eu-central-1.amazonaws.com");
  S3Backend b(*c);
  EXPECT_EQ(b.location(), "s3:bucket/p/");
}

TEST(S3Config, EnvironmentWinsAndMissingCredentialsAreAClearError) {
  TempDir dir;
  ScopedEnv env({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                 {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                 {"AWS_REGION", "ap-south-1"},
                 {"AWS_SHARED_CREDENTIALS_FILE", (dir / "none").c_str()},
                 {"AWS_CONFIG_FILE", (dir / "none").c_str()}});
  auto c = parse_s3_location("s3:http://127.0.0.1:1/b");
  ASSERT_TRUE(s3_config_from_environment(*c).is_ok());
  EXPECT_EQ(c->access_key, "ENVKEY");
  EXPECT_EQ(c->region, "ap-south-1");
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:1") << "an explicit endpoint stays";
  ScopedEnv none({{"AWS_ACCESS_KEY_ID", nullptr}, {"AWS_SECRET_ACCESS_KEY", nullptr}});
  auto d = parse_s3_location("s3:http://127.0.0.1:1/b");
  Status s = s3_config_from_environment(*d);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("AWS_ACCESS_KEY_ID"), std::string::npos) << s.message();
}

TEST(S3Backend, AnUnreachableServerIsRetriedThenReported) {
  ScopedEnv env({{"AWS_ACCESS_KEY_ID", "k"}, {"AWS_SECRET_ACCESS_KEY", "s"}});
  auto c = parse_s3_location("s3:http://127.0.0.1:9/b");  // discard port: nothing listens
  ASSERT_TRUE(s3_config_from_environment(*c).is_ok());
  c->http.max_attempts = 3;
  c->http.backoff_base_ms = 1;
  S3Backend b(*c);
  auto r = b.stat("config");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(b.http().requests(), 3u);
  EXPECT_EQ(b.http().retries(), 2u);
}

// Against the server of LIFEBOAT_TEST_S3 (scripts/test.sh starts one).
class S3Server : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = std::getenv("LIFEBOAT_TEST_S3");
    if (!base || !*base) GTEST_SKIP() << "LIFEBOAT_TEST_S3 is not set";
    auto c = parse_s3_location(std::string(base) + "/s3-" + std::to_string(std::random_device{}()));
    ASSERT_TRUE(c.is_ok());
    ASSERT_TRUE(s3_config_from_environment(*c).is_ok());
    config_ = *c;
  }
  S3Config config_;
};

TEST_F(S3Server, ListingFollowsContinuationTokens) {
  config_.list_page_size = 7;
  S3Backend b(config_);
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
  for (const auto& o : *all) listed.insert(o.name);
  EXPECT_EQ(listed, written);
  EXPECT_EQ(b.http().requests() - before, 5u) << "30 keys in pages of 7";
}

TEST_F(S3Server, LargeObjectsAndRangesRoundTrip) {
  S3Backend b(config_);
  ASSERT_TRUE(b.create().is_ok());
  Bytes big = lifeboat::testing::splitmix_bytes(9, 24 * 1024 * 1024 + 13);
  ASSERT_TRUE(b.write("data/00/big", big).is_ok());
  auto whole = b.read("data/00/big", 0, kToEnd);
  ASSERT_TRUE(whole.is_ok());
  EXPECT_TRUE(*whole == big);
  auto tail = b.read("data/00/big", big.size() - 100, kToEnd);
  ASSERT_TRUE(tail.is_ok());
  EXPECT_TRUE(std::equal(tail->begin(), tail->end(), big.end() - 100));
  auto st = b.stat("data/00/big");
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->size, big.size());
}

TEST_F(S3Server, StorageClassAndEncryptionHeadersAreAccepted) {
  config_.data_storage_class = "STANDARD";
  config_.sse = "AES256";
  S3Backend b(config_);
  ASSERT_TRUE(b.create().is_ok());
  // Both headers are signed with the request: a server that checks
  // signatures (RGW does) accepts them only if they were.
  Status s = b.write("data/11/pack", as_bytes("p"));
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(to_string(*b.read("data/11/pack", 0, kToEnd)), "p");
  ASSERT_TRUE(b.write("config", as_bytes("c")).is_ok());
}

TEST(UriEncode, AsSignatureV4Wants) {
  EXPECT_EQ(uri_encode("data/ab/x y+z~._-", true), "data/ab/x%20y%2Bz~._-");
  EXPECT_EQ(uri_encode("a/b", false), "a%2Fb");
}

}  // namespace
}  // namespace lifeboat::storage
