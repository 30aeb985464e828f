#include "sources/redis/redis_url.h"

#include <gtest/gtest.h>

#include "sources/redis/aof_manifest.h"
#include "sources/redis/redis_client.h"
#include "sources/redis/split_args.h"

namespace lifeboat::sources::redis {
namespace {

TEST(RedisUrl, HostPortAndDatabase) {
  auto ep = parse_redis_url("redis://cache.example.com:6380/2");
  ASSERT_TRUE(ep.is_ok()) << ep.status().to_string();
  EXPECT_EQ(ep->host, "cache.example.com");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->db, 2);
  EXPECT_FALSE(ep->tls);
  EXPECT_FALSE(ep->is_local());
  EXPECT_EQ(ep->display(), "redis://cache.example.com:6380/2");
}

TEST(RedisUrl, DefaultsToPort6379) {
  auto ep = parse_redis_url("redis://127.0.0.1");
  ASSERT_TRUE(ep.is_ok());
  EXPECT_EQ(ep->port, 6379);
  EXPECT_EQ(ep->db, 0);
  EXPECT_TRUE(ep->is_local());
}

TEST(RedisUrl, CredentialsArePercentDecodedAndNotDisplayed) {
  auto ep = parse_redis_url("redis://backup:p%40ss%3Aword@localhost:7000");
  ASSERT_TRUE(ep.is_ok());
  EXPECT_EQ(ep->user, "backup");
  EXPECT_EQ(ep->password, "p@ss:word");
  EXPECT_EQ(ep->display(), "redis://localhost:7000");
  auto pw_only = parse_redis_url("redis://:secret@localhost");
  ASSERT_TRUE(pw_only.is_ok());
  EXPECT_EQ(pw_only->user, "");
  EXPECT_EQ(pw_only->password, "secret");
}

TEST(RedisUrl, Ipv6AndTlsAndUnixSocket) {
  auto v6 = parse_redis_url("rediss://[::1]:6390");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 6390);
  EXPECT_TRUE(v6->tls);
  EXPECT_EQ(v6->display(), "rediss://[::1]:6390");
  auto unix_ep = parse_redis_url("unix:///run/redis/redis.sock?db=3");
  ASSERT_TRUE(unix_ep.is_ok());
  EXPECT_EQ(unix_ep->socket, "/run/redis/redis.sock");
  EXPECT_EQ(unix_ep->db, 3);
  EXPECT_TRUE(unix_ep->is_local());
  EXPECT_EQ(unix_ep->display(), "unix:///run/redis/redis.sock?db=3");
}

TEST(RedisUrl, RejectsMalformed) {
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:abc", "redis://h/x",
                          "redis://h:", "unix://relative.sock", "redis://u:%4@h", "redis://[::1"}) {
    auto ep = parse_redis_url(bad);
    EXPECT_FALSE(ep.is_ok()) << bad;
    if (!ep.is_ok()) {
      EXPECT_EQ(ep.status().code(), ErrorCode::kInvalidArgument) << bad;
      EXPECT_NE(ep.status().message().find("expected redis://"), std::string::npos) << bad;
    }
  }
}

TEST(RedisInfo, ParsesSectionsAndKeyspace) {
  auto info = parse_info(
      "# Server\r\nredis_version:7.0.15\r\nrun_id:abc\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n"
      "db12:keys=40,expires=0,avg_ttl=0\r\n");
  EXPECT_EQ(info["redis_version"], "7.0.15");
  auto ks = parse_keyspace(info);
  ASSERT_EQ(ks.size(), 2u);
  EXPECT_EQ(ks[0].keys, 3u);
  EXPECT_EQ(ks[0].expires, 1u);
  EXPECT_EQ(ks[12].keys, 40u);
}

TEST(RedisValue, TextOfEachType) {
  RedisValue i;
  i.type = RedisValue::Type::kInteger;
  i.integer = -42;
  EXPECT_EQ(i.text(), "-42");
  RedisValue nil;
  EXPECT_EQ(nil.text(), "");
  RedisValue arr;
  arr.type = RedisValue::Type::kArray;
  RedisValue s;
  s.type = RedisValue::Type::kString;
  s.str = "a";
  arr.elements = {s, i};
  EXPECT_EQ(arr.text(), "a\n-42");
}

TEST(SplitRedisArgs, QuotesAndEscapes) {
  std::vector<std::string> out;
  ASSERT_TRUE(split_redis_args(R"(GET "my key" 'it\'s' plain "\x41\n")", out));
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0], "GET");
  EXPECT_EQ(out[1], "my key");
  EXPECT_EQ(out[2], "it's");
  EXPECT_EQ(out[3], "plain");
  EXPECT_EQ(out[4], "A\n");
  EXPECT_FALSE(split_redis_args(R"(GET "unclosed)", out));
  EXPECT_FALSE(split_redis_args(R"(GET "a"b)", out));
  ASSERT_TRUE(split_redis_args("   ", out));
  EXPECT_TRUE(out.empty());
}

TEST(AofManifest, ListsFilesInOrder) {
  auto files = parse_aof_manifest(
      "file appendonly.aof.2.base.rdb seq 2 type b\n"
      "file appendonly.aof.1.incr.aof seq 1 type h\n"
      "file \"append only.aof.2.incr.aof\" seq 2 type i\n");
  ASSERT_TRUE(files.is_ok()) << files.status().to_string();
  ASSERT_EQ(files->size(), 3u);
  EXPECT_EQ((*files)[0].name, "appendonly.aof.2.base.rdb");
  EXPECT_EQ((*files)[0].type, 'b');
  EXPECT_EQ((*files)[0].seq, 2);
  EXPECT_EQ((*files)[1].type, 'h');
  EXPECT_EQ((*files)[2].name, "append only.aof.2.incr.aof");
}

TEST(AofManifest, RejectsMalformedLinesAndPaths) {
  EXPECT_EQ(parse_aof_manifest("file a seq x type b\n").status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(parse_aof_manifest("file a seq 1 type z\n").status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(parse_aof_manifest("file a seq 1\n").status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(parse_aof_manifest("file ../etc/passwd seq 1 type b\n").status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(parse_aof_manifest("file \"a seq 1 type b\n").status().code(), ErrorCode::kCorrupt);
  auto msg = parse_aof_manifest("file a seq 1 type b\nfile b seq 1 type q\n").status().message();
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
}

}  // namespace
}  // namespace lifeboat::sources::redis
