#include "repo/snapshot.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

using json = nlohmann::json;

Snapshot sample() {
  Snapshot s;
  s.id = *Id::from_hex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  s.time_ns = 1705329000'123456789;
  s.hostname = "host\xff-latin1";
  s.username = "alice";
  s.uid = 1000;
  s.gid = 1001;
  s.kind = "postgres-base";
  s.paths = {"/home/alice", "/srv/caf\xe9\nnewline", "/plain"};
  s.tags = {"daily", "t\xc3\xa9"};
  s.excludes = {"*.tmp", "/home/alice/.cache"};
  s.tree.bytes.fill(0x33);
  Id parent;
  parent.bytes.fill(0x44);
  s.parent = parent;
  s.program_version = "0.1.0";
  s.source_json = R"({"lsn":"0/3000028","timeline":1})";
  auto& m = s.summary;
  m.files_new = 1;
  m.files_changed = 2;
  m.files_unmodified = 3;
  m.dirs_new = 4;
  m.dirs_changed = 5;
  m.dirs_unmodified = 6;
  m.data_blobs = 7;
  m.tree_blobs = 8;
  m.data_added = 9;
  m.data_added_raw = 10;
  m.total_files_processed = 11;
  m.total_dirs_processed = 12;
  m.total_bytes_processed = uint64_t{1} << 50;
  m.errors = 14;
  m.backup_start_ns = 1705328999'000000001;
  m.backup_end_ns = 1705329001'999999999;
  return s;
}

TEST(Snapshot, JsonRoundTrip) {
  Snapshot s = sample();
  auto back = decode_snapshot(encode_snapshot(s), s.id);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->id, s.id);
  EXPECT_EQ(back->time_ns, s.time_ns);
  EXPECT_EQ(back->hostname, s.hostname);
  EXPECT_EQ(back->username, s.username);
  EXPECT_EQ(back->uid, 1000u);
  EXPECT_EQ(back->gid, 1001u);
  EXPECT_EQ(back->kind, "postgres-base");
  EXPECT_EQ(back->paths, s.paths);
  EXPECT_EQ(back->tags, s.tags);
  EXPECT_EQ(back->excludes, s.excludes);
  EXPECT_EQ(back->tree, s.tree);
  EXPECT_EQ(back->parent, s.parent);
  EXPECT_EQ(back->program_version, "0.1.0");
  EXPECT_EQ(json::parse(back->source_json), json::parse(s.source_json));
  const auto &a = back->summary, &b = s.summary;
  EXPECT_EQ(a.files_new, b.files_new);
  EXPECT_EQ(a.files_changed, b.files_changed);
  EXPECT_EQ(a.files_unmodified, b.files_unmodified);
  EXPECT_EQ(a.dirs_new, b.dirs_new);
  EXPECT_EQ(a.dirs_changed, b.dirs_changed);
  EXPECT_EQ(a.dirs_unmodified, b.dirs_unmodified);
  EXPECT_EQ(a.data_blobs, b.data_blobs);
  EXPECT_EQ(a.tree_blobs, b.tree_blobs);
  EXPECT_EQ(a.data_added, b.data_added);
  EXPECT_EQ(a.data_added_raw, b.data_added_raw);
  EXPECT_EQ(a.total_files_processed, b.total_files_processed);
  EXPECT_EQ(a.total_dirs_processed, b.total_dirs_processed);
  EXPECT_EQ(a.total_bytes_processed, b.total_bytes_processed);
  EXPECT_EQ(a.errors, b.errors);
  EXPECT_EQ(a.backup_start_ns, b.backup_start_ns);
  EXPECT_EQ(a.backup_end_ns, b.backup_end_ns);
}

TEST(Snapshot, NoParentStaysNone) {
  Snapshot s = sample();
  s.parent.reset();
  auto back = decode_snapshot(encode_snapshot(s), s.id);
  ASSERT_TRUE(back.is_ok());
  EXPECT_FALSE(back->parent);
}

// Strings that are not valid UTF-8 are stored as {"base64": ...}; valid
// ones as plain JSON strings (docs/FORMAT.md).
TEST(Snapshot, NonUtf8StringsAreBase64Objects) {
  json j = json::parse(encode_snapshot(sample()));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["time"], "2024-01-15T14:30:00.123456789Z");
  EXPECT_EQ(j["hostname"], json({{"base64", base64_encode(as_bytes("host\xff-latin1"))}}));
  EXPECT_EQ(j["username"], "alice");
  EXPECT_EQ(j["paths"][0], "/home/alice");
  EXPECT_EQ(j["paths"][1], json({{"base64", base64_encode(as_bytes("/srv/caf\xe9\nnewline"))}}));
  EXPECT_EQ(j["tags"][1], "t\xc3\xa9");
  EXPECT_EQ(j["tree"], std::string(64, '3'));
  EXPECT_EQ(j["parent"], std::string(64, '4'));
  EXPECT_EQ(j["source"]["timeline"], 1);
  EXPECT_EQ(j["summary"]["total_bytes_processed"], uint64_t{1} << 50);
}

TEST(Snapshot, InvalidJsonIsCorrupt) {
  Id id = sample().id;
  auto r = decode_snapshot("{not json", id);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(r.status().message(), "snapshot 01234567 is not valid JSON");
}

TEST(Snapshot, UnknownVersionIsUnsupported) {
  json j = json::parse(encode_snapshot(sample()));
  j["version"] = 2;
  auto r = decode_snapshot(j.dump(), sample().id);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);
  EXPECT_EQ(r.status().message(), "snapshot 01234567 has an unknown version");
}

TEST(Snapshot, MissingOrBadFieldsAreCorrupt) {
  json good = json::parse(encode_snapshot(sample()));
  auto edited = [&](auto edit) {
    json j = good;
    edit(j);
    return j.dump();
  };
  for (const std::string& text : {edited([](json& j) { j.erase("tree"); }),
                                  edited([](json& j) { j["tree"] = "xyz"; }),
                                  edited([](json& j) { j.erase("paths"); }),
                                  edited([](json& j) { j["paths"][0] = json{{"base64", "!!"}}; }),
                                  edited([](json& j) { j["hostname"] = 5; })}) {
    auto r = decode_snapshot(text, sample().id);
    ASSERT_FALSE(r.is_ok()) << text;
    EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt) << text;
    EXPECT_TRUE(r.status().message().starts_with("snapshot 01234567 is malformed: ")) << r.status().message();
  }
  auto bad_time = decode_snapshot(edited([](json& j) { j["time"] = "yesterday"; }), sample().id);
  EXPECT_FALSE(bad_time.is_ok());
}

}  // namespace
}  // namespace lifeboat::repo
