#include "ops/check.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "ops/ls.h"
#include "unit/ops_fixture.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::OpsTest;

class Check : public OpsTest {
 protected:
  Result<CheckResult> run(bool read_data, double fraction = 1.0, std::optional<uint64_t> seed = std::nullopt) {
    CheckOptions o;
    o.read_data = read_data;
    o.read_fraction = fraction;
    o.seed = seed;
    o.workers = 2;
    return check(*repo_, o, ctx_);
  }
  std::vector<repo::Id> content_of(const repo::Snapshot& s, const std::string& path) {
    std::vector<repo::Id> ids;
    Status st = ls(*repo_, s, {.path = path, .recursive = false}, [&](const std::string& p, const repo::Node& n) {
      if (p == path) ids = n.content;
    });
    EXPECT_TRUE(st.is_ok()) << st.message();
    return ids;
  }
  std::string pack_path(const repo::Id& pack) { return dir_ / "repo" + "/" + repo::pack_name(pack); }
  void flip_byte(const std::string& path, off_t at) {
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << path;
    uint8_t b;
    ASSERT_EQ(::pread(fd, &b, 1, at), 1);
    b ^= 0x01;
    ASSERT_EQ(::pwrite(fd, &b, 1, at), 1);
    ::close(fd);
  }
};

TEST_F(Check, GoodRepositoryIsOk) {
  backup();
  backup();
  auto r = run(false);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(r->ok()) << ::testing::PrintToString(r->errors);
  EXPECT_EQ(r->snapshots, 2u);
  EXPECT_GE(r->index_files, 1u);
  EXPECT_GE(r->packs, 2u);
  EXPECT_GE(r->trees, 6u);
  EXPECT_GT(r->blobs, 10u);
  EXPECT_EQ(r->packs_read, 0u);
  EXPECT_TRUE(r->damaged.empty());
  EXPECT_TRUE(r->notes.empty());
}

TEST_F(Check, ReadDataOnGoodRepositoryIsOk) {
  backup();
  auto r = run(true);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(r->ok()) << ::testing::PrintToString(r->errors);
  EXPECT_EQ(r->packs_read, r->packs);
  uint64_t total = 0;
  auto packs = repo_->list_packs();
  ASSERT_TRUE(packs.is_ok());
  for (const auto& p : *packs) total += p.size;
  EXPECT_EQ(r->bytes_read, total);
}

TEST_F(Check, ReadDataSubsetIsSeeded) {
  backup();
  auto a = run(true, 0.5, 42);
  auto b = run(true, 0.5, 42);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_EQ(a->seed, 42u);
  EXPECT_EQ(a->packs_read, (a->packs + 1) / 2);
  EXPECT_EQ(a->bytes_read, b->bytes_read) << "the same seed reads the same packs";
  auto tiny = run(true, 0.0001, 7);
  ASSERT_TRUE(tiny.is_ok());
  EXPECT_EQ(tiny->packs_read, 1u) << "at least one pack";
}

// A flipped byte in a pack is found with --read-data and reported with the
// pack, the blob, and the snapshots and files it affects.
TEST_F(Check, FlippedByteInPackIsReportedWithAffectedPath) {
  auto b = backup();
  auto ids = content_of(b.snapshot, src_ + "/big.bin");
  ASSERT_GT(ids.size(), 3u);
  repo::Id victim = ids[2];
  auto loc = repo_->index().lookup(victim);
  ASSERT_TRUE(loc);
  flip_byte(pack_path(loc->pack_id), static_cast<off_t>(loc->entry.offset + loc->entry.length / 2));

  auto structural = run(false);
  ASSERT_TRUE(structural.is_ok());
  EXPECT_TRUE(structural->ok()) << "the structure is intact; only reading the data finds this";

  auto r = run(true);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(r->ok());
  ASSERT_EQ(r->damaged.size(), 1u) << ::testing::PrintToString(r->errors);
  const DamagedBlob& d = r->damaged[0];
  EXPECT_EQ(d.blob, victim);
  EXPECT_EQ(d.pack, loc->pack_id);
  EXPECT_EQ(d.reason, "authentication failed (data was modified or the key is wrong)");
  EXPECT_EQ(d.affected, std::vector<std::string>{"snapshot " + b.snapshot.id.short_hex() + ": " + src_ + "/big.bin"});
  EXPECT_EQ(r->errors, std::vector<std::string>{"pack " + loc->pack_id.short_hex() + ": data blob " +
                                                 victim.short_hex() +
                                                 " is damaged: authentication failed (data was modified or the key "
                                                 "is wrong)"});
}

TEST_F(Check, DamagedTreeNamesTheDirectory) {
  auto b = backup();
  std::optional<repo::Id> dir_tree;
  Status st = ls(*repo_, b.snapshot, {.path = src_ + "/dir", .recursive = false},
                 [&](const std::string& p, const repo::Node& n) {
                   if (p == src_ + "/dir") dir_tree = n.subtree;
                 });
  ASSERT_TRUE(st.is_ok() && dir_tree);
  auto loc = repo_->index().lookup(*dir_tree);
  ASSERT_TRUE(loc);
  flip_byte(pack_path(loc->pack_id), static_cast<off_t>(loc->entry.offset + 20));
  auto r = run(false);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(r->ok());
  auto it = std::find_if(r->damaged.begin(), r->damaged.end(), [&](const DamagedBlob& d) { return d.blob == *dir_tree; });
  ASSERT_NE(it, r->damaged.end()) << ::testing::PrintToString(r->errors);
  EXPECT_EQ(it->pack, loc->pack_id);
  EXPECT_EQ(it->affected,
            std::vector<std::string>{"snapshot " + b.snapshot.id.short_hex() + ": " + src_ + "/dir/ (directory listing)"});
}

TEST_F(Check, MissingPackIsAnError) {
  auto b = backup();
  auto ids = content_of(b.snapshot, src_ + "/a.txt");
  ASSERT_EQ(ids.size(), 1u);
  auto loc = repo_->index().lookup(ids[0]);
  ASSERT_TRUE(loc);
  ASSERT_EQ(::unlink(pack_path(loc->pack_id).c_str()), 0);
  auto r = run(false);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(r->ok());
  ASSERT_FALSE(r->errors.empty());
  EXPECT_TRUE(r->errors[0].starts_with("pack " + loc->pack_id.short_hex() + " is missing (")) << r->errors[0];
  auto it = std::find_if(r->damaged.begin(), r->damaged.end(), [&](const DamagedBlob& d) { return d.blob == ids[0]; });
  ASSERT_NE(it, r->damaged.end());
  EXPECT_EQ(it->reason, "its pack is missing");
  EXPECT_EQ(it->affected, std::vector<std::string>{"snapshot " + b.snapshot.id.short_hex() + ": " + src_ + "/a.txt"});
}

TEST_F(Check, UnindexedPackIsANoteNotAnError) {
  backup();
  repo::PackWriter w(repo_->keys(), 3);
  Bytes orphan = to_bytes("left by an interrupted backup");
  w.add(repo::BlobType::kData, repo_->keys().blob_id(orphan), orphan);
  auto f = w.finish();
  ASSERT_TRUE(repo_->write_pack(f.pack_id, *f.data, f.entries).is_ok());
  auto r = run(true);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(r->ok()) << ::testing::PrintToString(r->errors);
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_TRUE(r->notes[0].starts_with("1 pack(s) are not in the index")) << r->notes[0];
}

TEST_F(Check, DamagedSnapshotIsAnError) {
  auto b = backup();
  flip_byte(dir_ / "repo/snapshots/" + b.snapshot.id.hex(), 30);
  auto r = run(false);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->snapshots, 0u);
  EXPECT_EQ(r->errors, std::vector<std::string>{"snapshot " + b.snapshot.id.short_hex() + ": snapshots/" +
                                                 b.snapshot.id.hex() +
                                                 " is damaged: authentication failed (data was modified or the key "
                                                 "is wrong)"});
}

}  // namespace
}  // namespace lifeboat::ops
