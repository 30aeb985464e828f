// S3 location parsing and configuration (no server; the conformance suite in
// backend_test.cc runs the driver against Ceph's RADOS Gateway).
#include "storage/s3_backend.h"

#include <ctime>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "storage/xml.h"
#include "unit/test_util.h"

namespace lifeboat::storage {
namespace {

using lifeboat::testing::ScopedEnv;

using lifeboat::testing::TempDir;
using lifeboat::testing::write_file;

std::string iso8601_for_test(int64_t seconds_from_now) {
  std::time_t t = std::time(nullptr) + seconds_from_now;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

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

TEST_F(S3Server, LargeObjectsGoUpInParts) {
  config_.multipart_threshold = 6 << 20;
  config_.part_size = 5 << 20;
  S3Backend b(config_);
  ASSERT_TRUE(b.create().is_ok());
  Bytes big = lifeboat::testing::splitmix_bytes(4, (17 << 20) + 5);
  uint64_t before = b.http().requests();
  Status s = b.write("data/aa/multi", big);
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_EQ(b.http().requests() - before, 6u) << "initiate, 4 parts, complete";
  auto back = b.read("data/aa/multi", 0, kToEnd);
  ASSERT_TRUE(back.is_ok());
  EXPECT_TRUE(*back == big);
  // S3 gives a multipart object the ETag "<md5 of the part md5s>-<parts>".
  HttpResponse r;
  ASSERT_TRUE(b.http().perform(b.signed_request("HEAD", b.object_url("data/aa/multi")), r).is_ok());
  EXPECT_TRUE(r.header("etag").ends_with("-4\"")) << r.header("etag");
  auto listed = b.list("data/");
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, big.size());
  EXPECT_FALSE((*listed)[0].archived);
  EXPECT_EQ(*b.thaw_state("data/aa/multi"), ThawState::kReadable) << "a hot object needs no thaw";
}

// What the server says about an object's retention: (mode, retain-until).
std::pair<std::string, std::string> retention_of(S3Backend& b, const std::string& name) {
  HttpResponse r;
  EXPECT_TRUE(b.http().perform(b.signed_request("GET", b.object_url(name) + "?retention="), r).is_ok());
  if (r.status != 200) return {};
  auto x = parse_xml(r.body);
  if (!x.is_ok()) return {};
  return {x->value("Retention/Mode"), x->value("Retention/RetainUntilDate")};
}

TEST_F(S3Server, ObjectLockRetainsWhatTheRepositoryWrites) {
  // A bucket of its own: Object Lock is enabled when a bucket is created.
  config_.bucket = "lock-" + std::to_string(std::random_device{}());
  config_.prefix = "repo/";
  config_.multipart_threshold = 6 << 20;
  config_.part_size = 5 << 20;
  S3Backend b(config_);
  auto enforced = b.set_retention(2);
  ASSERT_TRUE(enforced.is_ok()) << enforced.status().message();
  EXPECT_TRUE(*enforced) << "a bucket init creates gets Object Lock";
  ASSERT_TRUE(b.create().is_ok());
  ASSERT_TRUE(b.write("config", as_bytes("c")).is_ok());
  ASSERT_TRUE(b.write_cold("data/ab/pack", as_bytes("pack")).is_ok());
  Bytes big = lifeboat::testing::splitmix_bytes(5, 11 << 20);
  Status s = b.write_cold("data/ab/big", big);  // multipart: parts carry Content-MD5 too
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_TRUE(b.write("locks/l1", as_bytes("lock")).is_ok());

  auto [mode, until] = retention_of(b, "data/ab/pack");
  EXPECT_EQ(mode, "GOVERNANCE");
  // Two days from now, give or take the test's run time.
  std::string in_two_days = iso8601_for_test(2 * 86400);
  EXPECT_EQ(until.substr(0, 13), in_two_days.substr(0, 13)) << until;
  EXPECT_EQ(retention_of(b, "data/ab/big").first, "GOVERNANCE");
  EXPECT_EQ(retention_of(b, "config").first, "GOVERNANCE");
  EXPECT_EQ(retention_of(b, "locks/l1").first, "") << "locks come and go; they are not retained";

  // Deleting hides the object (a delete marker), but its data stays: the
  // version itself cannot be deleted before the date.
  ASSERT_TRUE(b.remove("data/ab/pack").is_ok());
  EXPECT_EQ(b.stat("data/ab/pack").status().code(), ErrorCode::kNotFound);
  HttpResponse r;
  ASSERT_TRUE(b.http().perform(b.signed_request("GET", b.bucket_url() + "/?prefix=repo%2Fdata%2Fab%2Fpack&versions="), r).is_ok());
  auto versions = parse_xml(r.body);
  ASSERT_TRUE(versions.is_ok());
  std::string version_id = versions->value("ListVersionsResult/Version/VersionId");
  ASSERT_FALSE(version_id.empty()) << to_string(r.body);
  ASSERT_TRUE(b.http()
                  .perform(b.signed_request("DELETE", b.object_url("data/ab/pack") + "?versionId=" +
                                                          uri_encode(version_id, false)),
                           r)
                  .is_ok());
  EXPECT_EQ(r.status, 403) << "a retained version cannot be deleted: " << to_string(r.body);

  // Another handle on the same bucket finds the lock configuration; a
  // bucket without Object Lock reports that retention is not enforced.
  S3Backend again(config_);
  EXPECT_TRUE(*again.set_retention(1));
  auto plain = parse_s3_location(std::getenv("LIFEBOAT_TEST_S3"));
  ASSERT_TRUE(s3_config_from_environment(*plain).is_ok());
  S3Backend unlocked(*plain);
  ASSERT_TRUE(unlocked.write("probe-" + std::to_string(std::random_device{}()), as_bytes("x")).is_ok());
  auto no = unlocked.set_retention(1);
  ASSERT_TRUE(no.is_ok()) << no.status().message();
  EXPECT_FALSE(*no);
}

TEST(S3Config, VirtualHostedAddressingForAnEndpoint) {
  ScopedEnv env({{"AWS_ACCESS_KEY_ID", "k"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"LIFEBOAT_S3_ADDRESSING", "virtual"}});
  auto c = parse_s3_location("s3:https://minio.example.com:9000/backups/host");
  ASSERT_TRUE(s3_config_from_environment(*c).is_ok());
  S3Backend b(*c);
  EXPECT_EQ(b.bucket_url(), "https://backups.minio.example.com:9000");
  EXPECT_EQ(b.object_url("data/ab/x"), "https://backups.minio.example.com:9000/host/data/ab/x");
  ScopedEnv path({{"LIFEBOAT_S3_ADDRESSING", "path"}});
  auto aws = parse_s3_location("s3:my-bucket/p");
  ASSERT_TRUE(s3_config_from_environment(*aws).is_ok());
  EXPECT_EQ(S3Backend(*aws).bucket_url(), "https://s3.us-east-1.amazonaws.com/my-bucket");
  ScopedEnv bad({{"LIFEBOAT_S3_ADDRESSING", "dns"}});
  Status s = s3_config_from_environment(*aws);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("LIFEBOAT_S3_ADDRESSING"), std::string::npos) << s.message();
}

TEST(GcsLocation, TheXmlApiWithHmacKeys) {
  ScopedEnv env({{"GS_ACCESS_KEY_ID", "GOOG1EXAMPLE"}, {"GS_SECRET_ACCESS_KEY", "gsecret"}, {"GS_ENDPOINT", nullptr},
                 {"AWS_REGION", "eu-west-1"}});
  auto c = parse_s3_location("gs:my-backups/host-a");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_TRUE(c->gcs);
  ASSERT_TRUE(s3_config_from_environment(*c).is_ok());
  EXPECT_EQ(c->access_key, "GOOG1EXAMPLE");
  EXPECT_EQ(c->region, "auto") << "AWS_REGION is not GCS's";
  S3Backend b(*c);
  EXPECT_EQ(b.location(), "gs:my-backups/host-a/");
  EXPECT_EQ(b.object_url("config"), "https://storage.googleapis.com/my-backups/host-a/config");
  ScopedEnv none({{"GS_ACCESS_KEY_ID", nullptr}});
  auto d = parse_s3_location("gs:my-backups");
  Status s = s3_config_from_environment(*d);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find("GS_ACCESS_KEY_ID"), std::string::npos) << s.message();
}

// gs: is the S3 driver with GCS's settings; pointed at the test server
// (GS_ENDPOINT), it makes a bucket, lists, writes and reads the same way.
TEST_F(S3Server, GcsLocationsUseTheSameDriver) {
  ScopedEnv env({{"GS_ACCESS_KEY_ID", config_.access_key.c_str()},
                 {"GS_SECRET_ACCESS_KEY", config_.secret_key.c_str()},
                 {"GS_ENDPOINT", config_.endpoint.c_str()}});
  auto backend = open_backend("gs:gcs-" + std::to_string(std::random_device{}()) + "/repo");
  ASSERT_TRUE(backend.is_ok()) << backend.status().message();
  Status s = (*backend)->create();
  ASSERT_TRUE(s.is_ok()) << s.message();
  ASSERT_TRUE((*backend)->write("index/aa", as_bytes("gs")).is_ok());
  EXPECT_EQ(to_string(*(*backend)->read("index/aa", 0, kToEnd)), "gs");
  EXPECT_EQ((*backend)->list("index/")->size(), 1u);
  EXPECT_TRUE((*backend)->location().starts_with("gs:gcs-"));
}

TEST(UriEncode, AsSignatureV4Wants) {
  EXPECT_EQ(uri_encode("data/ab/x y+z~._-", true), "data/ab/x%20y%2Bz~._-");
  EXPECT_EQ(uri_encode("a/b", false), "a%2Fb");
}

}  // namespace
}  // namespace lifeboat::storage
