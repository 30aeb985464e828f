#include "repo/config.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "unit/test_util.h"

namespace lifeboat::repo {
namespace {

using json = nlohmann::json;

RepoConfig sample() {
  RepoConfig c;
  c.id = *Id::from_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  c.created_ns = 1705329000'123456789;
  c.chunker = {1024, 4096, 16384, 3};
  c.compression_level = 7;
  c.pack_size = 1 << 20;
  return c;
}

TEST(RepoConfig, JsonRoundTrip) {
  RepoConfig c = sample();
  auto back = RepoConfig::from_json(c.to_json());
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->version, 1u);
  EXPECT_EQ(back->id, c.id);
  EXPECT_EQ(back->created_ns, c.created_ns);
  EXPECT_EQ(back->chunker.min_size, 1024u);
  EXPECT_EQ(back->chunker.avg_size, 4096u);
  EXPECT_EQ(back->chunker.max_size, 16384u);
  EXPECT_EQ(back->chunker.normalization, 3u);
  EXPECT_EQ(back->compression_level, 7);
  EXPECT_EQ(back->pack_size, 1u << 20);
}

TEST(RepoConfig, DocumentedShape) {
  json j = json::parse(RepoConfig().to_json());
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["chunker"]["algorithm"], "fastcdc");
  EXPECT_EQ(j["chunker"]["min_size"], 524288);
  EXPECT_EQ(j["chunker"]["avg_size"], 1048576);
  EXPECT_EQ(j["chunker"]["max_size"], 8388608);
  EXPECT_EQ(j["chunker"]["normalization"], 2);
  EXPECT_EQ(j["compression"]["algorithm"], "zstd");
  EXPECT_EQ(j["compression"]["level"], 2);
  EXPECT_EQ(j["cipher"], "aes-256-gcm");
  EXPECT_EQ(j["blob_id"], "hmac-sha256");
  EXPECT_EQ(j["pack_size"], 16777216);
}

TEST(RepoConfig, UnknownVersionIsUnsupported) {
  json j = json::parse(sample().to_json());
  j["version"] = 2;
  auto r = RepoConfig::from_json(j.dump());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(r.status().message(),
            "repository format version 2 is not supported by this lifeboat (it reads version 1); upgrade lifeboat");
}

TEST(RepoConfig, MalformedIsCorrupt) {
  json good = json::parse(sample().to_json());
  auto edited = [&](auto edit) {
    json j = good;
    edit(j);
    return j.dump();
  };
  const std::pair<std::string, std::string> cases[] = {
      {"not json", "repository config is malformed (not JSON)"},
      {"[]", "repository config is malformed (not JSON)"},
      {edited([](json& j) { j["id"] = "abc"; }), "repository config is malformed (id)"},
      {edited([](json& j) { j["chunker"]["algorithm"] = "rabin"; }), "repository config is malformed (chunker)"},
      {edited([](json& j) { j["chunker"]["avg_size"] = 3000; }),
       "repository config is malformed (chunker parameters)"},
      {edited([](json& j) { j["compression"]["algorithm"] = "lz4"; }),
       "repository config is malformed (compression)"},
      {edited([](json& j) { j["cipher"] = "chacha20"; }), "repository config is malformed (algorithms)"},
      {edited([](json& j) { j["blob_id"] = "sha256"; }), "repository config is malformed (algorithms)"},
      {edited([](json& j) { j["pack_size"] = 100; }), "repository config is malformed (pack_size)"},
  };
  for (const auto& [text, message] : cases) {
    auto r = RepoConfig::from_json(text);
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt) << text;
    EXPECT_EQ(r.status().message(), message);
  }
  // Missing or mistyped fields: kCorrupt with the parser's explanation.
  for (const std::string& text : {edited([](json& j) { j.erase("chunker"); }),
                                  edited([](json& j) { j["pack_size"] = "big"; }),
                                  edited([](json& j) { j.erase("version"); })}) {
    auto r = RepoConfig::from_json(text);
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt) << text;
    EXPECT_TRUE(r.status().message().starts_with("repository config is malformed (")) << r.status().message();
  }
}

}  // namespace
}  // namespace lifeboat::repo
