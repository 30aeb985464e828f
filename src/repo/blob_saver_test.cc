#include "repo/blob_saver.h"

#include <map>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "unit/repo_helpers.h"
#include "unit/test_util.h"

namespace lifeboat::repo {
namespace {

using lifeboat::testing::make_mem_repo;
using lifeboat::testing::MemRepo;

class BlobSaverTest : public ::testing::Test {
 protected:
  FakeClock clock_{1705329000'000000000};
  MemRepo r_ = make_mem_repo(clock_, lifeboat::testing::small_options());  // 64 KiB packs
  Repository& repo() { return *r_.repo; }

  // `n` distinct random blobs of 500..3000 bytes.
  std::vector<Bytes> random_blobs(uint64_t seed, int n) {
    std::mt19937_64 rng(seed);
    std::vector<Bytes> out;
    for (int i = 0; i < n; ++i) out.push_back(lifeboat::testing::splitmix_bytes(rng(), 500 + rng() % 2500));
    return out;
  }

  // Every blob id named by the index files on storage.
  std::map<Id, Id> indexed_on_storage() {
    std::map<Id, Id> blob_to_pack;
    auto files = repo().list_index_files();
    EXPECT_TRUE(files.is_ok());
    for (const Id& f : *files) {
      auto packs = repo().read_index_file(f);
      EXPECT_TRUE(packs.is_ok()) << packs.status().message();
      for (const auto& p : *packs)
        for (const auto& e : p.blobs) blob_to_pack[e.id] = p.pack_id;
    }
    return blob_to_pack;
  }
};

TEST_F(BlobSaverTest, SavedBlobsAreReadableAfterFinish) {
  uint64_t seed = lifeboat::testing::test_seed();
  SCOPED_TRACE(lifeboat::testing::seed_trace(seed));
  auto blobs = random_blobs(seed, 300);
  std::vector<Bytes> trees;
  for (int i = 0; i < 20; ++i) trees.push_back(to_bytes("LBT1 tree number " + std::to_string(i)));
  BlobSaver saver(repo(), {});
  std::vector<Id> ids;
  for (const auto& b : blobs) ids.push_back(saver.save_if_new(BlobType::kData, b));
  for (const auto& t : trees) ids.push_back(saver.save_if_new(BlobType::kTree, t));
  Status s = saver.finish();
  ASSERT_TRUE(s.is_ok()) << s.message();
  EXPECT_TRUE(saver.status().is_ok());
  EXPECT_EQ(saver.stats().data_blobs.load(), 300u);
  EXPECT_EQ(saver.stats().tree_blobs.load(), 20u);
  EXPECT_GE(saver.stats().packs.load(), 3u) << "64 KiB packs";

  for (size_t i = 0; i < blobs.size(); ++i) {
    ASSERT_EQ(ids[i], repo().keys().blob_id(blobs[i]));
    auto got = repo().read_blob(ids[i]);
    ASSERT_TRUE(got.is_ok()) << i << ": " << got.status().message();
    EXPECT_TRUE(*got == blobs[i]) << i;
  }
  for (size_t i = 0; i < trees.size(); ++i) {
    auto loc = repo().index().lookup(ids[blobs.size() + i]);
    ASSERT_TRUE(loc);
    EXPECT_EQ(loc->entry.type, BlobType::kTree);
  }
  // The index files on storage name every blob, in a pack that exists.
  auto on_storage = indexed_on_storage();
  EXPECT_EQ(on_storage.size(), ids.size());
  auto packs = repo().list_packs();
  ASSERT_TRUE(packs.is_ok());
  EXPECT_EQ(packs->size(), saver.stats().packs.load());
  std::set<Id> pack_ids;
  for (const auto& p : *packs) pack_ids.insert(p.id);
  for (const Id& id : ids) {
    ASSERT_TRUE(on_storage.count(id)) << id.short_hex();
    EXPECT_TRUE(pack_ids.count(on_storage[id])) << id.short_hex();
  }
}

TEST_F(BlobSaverTest, DataAndTreeBlobsGoToSeparatePacks) {
  BlobSaver saver(repo(), {});
  for (const auto& b : random_blobs(11, 60)) saver.save_if_new(BlobType::kData, b);
  for (int i = 0; i < 30; ++i) saver.save_if_new(BlobType::kTree, to_bytes("tree " + std::to_string(i)));
  ASSERT_TRUE(saver.finish().is_ok());
  auto packs = repo().list_packs();
  ASSERT_TRUE(packs.is_ok());
  int tree_packs = 0;
  for (const auto& p : *packs) {
    auto entries = repo().read_pack_header(p.id, p.size);
    ASSERT_TRUE(entries.is_ok()) << entries.status().message();
    ASSERT_FALSE(entries->empty());
    std::set<BlobType> types;
    for (const auto& e : *entries) types.insert(e.type);
    EXPECT_EQ(types.size(), 1u) << "pack " << p.id.short_hex() << " mixes data and trees";
    if (types.count(BlobType::kTree)) tree_packs++;
  }
  EXPECT_EQ(tree_packs, 1);
}

TEST_F(BlobSaverTest, PacksStayNearTheTargetSize) {
  BlobSaver saver(repo(), {});
  for (const auto& b : random_blobs(12, 200)) saver.save_if_new(BlobType::kData, b);
  ASSERT_TRUE(saver.finish().is_ok());
  auto packs = repo().list_packs();
  ASSERT_TRUE(packs.is_ok());
  ASSERT_GE(packs->size(), 4u);
  // A pack closes as soon as it reaches the target: it may overshoot by one
  // blob (at most 3000 bytes + envelope) plus its header (38 bytes per entry,
  // at most 128 blobs of >= 500 bytes).
  const uint64_t bound = repo().config().pack_size + (3000 + kEnvelopeOverhead) + 128 * 38 + kEnvelopeOverhead + 4 + 8;
  size_t partial = 0;
  for (const auto& p : *packs) {
    EXPECT_LE(p.size, bound);
    if (p.size < repo().config().pack_size) partial++;
  }
  EXPECT_LE(partial, 2u) << "only each worker's last pack may be short";
}

TEST_F(BlobSaverTest, SameContentIsStoredOnce) {
  BlobSaver saver(repo(), {});
  Bytes b = lifeboat::testing::splitmix_bytes(5, 2000);
  Id first = saver.save_if_new(BlobType::kData, b);
  Id second = saver.save_if_new(BlobType::kData, b);
  EXPECT_EQ(first, second);
  ASSERT_TRUE(saver.finish().is_ok());
  EXPECT_EQ(saver.stats().data_blobs.load(), 1u);
  EXPECT_EQ(repo().index().blob_count(), 1u);
  // A later saver finds it in the index and stores nothing.
  BlobSaver later(repo(), {});
  EXPECT_EQ(later.save_if_new(BlobType::kData, b), first);
  ASSERT_TRUE(later.finish().is_ok());
  EXPECT_EQ(later.stats().data_blobs.load(), 0u);
  EXPECT_EQ(later.stats().packs.load(), 0u);
}

TEST_F(BlobSaverTest, SavesSlicesOfASharedBuffer) {
  auto owner = std::make_shared<const Bytes>(lifeboat::testing::splitmix_bytes(8, 10000));
  BlobSaver saver(repo(), {});
  std::vector<Id> ids;
  for (size_t off = 0; off < owner->size(); off += 2500) {
    ByteSpan slice(owner->data() + off, 2500);
    Id id = repo().keys().blob_id(slice);
    ASSERT_TRUE(repo().index().reserve(id, BlobType::kData));
    ASSERT_TRUE(saver.save(BlobType::kData, id, owner, slice));
    ids.push_back(id);
  }
  ASSERT_TRUE(saver.finish().is_ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto got = repo().read_blob(ids[i]);
    ASSERT_TRUE(got.is_ok());
    EXPECT_TRUE(std::equal(got->begin(), got->end(), owner->begin() + static_cast<ptrdiff_t>(i * 2500)));
  }
}

TEST_F(BlobSaverTest, IndexFileEveryNPacks) {
  BlobSaver::Options o;
  o.index_every_packs = 1;
  BlobSaver saver(repo(), o);
  for (const auto& b : random_blobs(13, 150)) saver.save_if_new(BlobType::kData, b);
  ASSERT_TRUE(saver.finish().is_ok());
  auto files = repo().list_index_files();
  ASSERT_TRUE(files.is_ok());
  EXPECT_EQ(files->size(), saver.stats().packs.load()) << "one index file per pack";
  EXPECT_EQ(indexed_on_storage().size(), 150u);
}

TEST_F(BlobSaverTest, ConcurrentSavers) {
  BlobSaver saver(repo(), {});
  std::vector<std::vector<Bytes>> per_thread;
  for (int t = 0; t < 4; ++t) per_thread.push_back(random_blobs(100 + t, 50));
  per_thread.push_back(per_thread[0]);  // a fifth thread saves the same blobs as the first
  std::vector<std::thread> threads;
  for (auto& blobs : per_thread)
    threads.emplace_back([&saver, &blobs] {
      for (const auto& b : blobs) saver.save_if_new(BlobType::kData, b);
    });
  for (auto& t : threads) t.join();
  ASSERT_TRUE(saver.finish().is_ok());
  EXPECT_EQ(saver.stats().data_blobs.load(), 200u);
  for (const auto& blobs : per_thread)
    for (const auto& b : blobs) {
      auto got = repo().read_blob(repo().keys().blob_id(b));
      ASSERT_TRUE(got.is_ok()) << got.status().message();
      EXPECT_TRUE(*got == b);
    }
}

TEST_F(BlobSaverTest, WriteFailureIsReportedAndNothingUnwrittenIsIndexed) {
  r_.backend->write_fault = [](std::string_view name) {
    if (name.starts_with("data/")) return Status(ErrorCode::kNoSpace, "No space left on device");
    return Status::ok();
  };
  BlobSaver saver(repo(), {});
  for (const auto& b : random_blobs(14, 100)) saver.save_if_new(BlobType::kData, b);
  Status s = saver.finish();
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.code(), ErrorCode::kNoSpace);
  EXPECT_TRUE(s.message().starts_with("unable to write pack data/")) << s.message();
  EXPECT_TRUE(s.message().ends_with(": No space left on device")) << s.message();
  EXPECT_EQ(saver.status().code(), ErrorCode::kNoSpace);
  EXPECT_FALSE(saver.save(BlobType::kData, Id::random(), to_bytes("more"))) << "a failed saver takes no more";
  EXPECT_TRUE(indexed_on_storage().empty());
  EXPECT_EQ(repo().index().blob_count(), 0u);
}

TEST_F(BlobSaverTest, AbortKeepsRepositoryConsistent) {
  auto blobs = random_blobs(15, 200);
  {
    BlobSaver saver(repo(), {});
    for (const auto& b : blobs) saver.save_if_new(BlobType::kData, b);
    saver.abort();
    EXPECT_EQ(saver.status().code(), ErrorCode::kCancelled);
    EXPECT_FALSE(saver.save(BlobType::kData, Id::random(), to_bytes("late")));
  }
  // Whatever was written is indexed, and every index entry points to a pack
  // that exists.
  auto packs = repo().list_packs();
  ASSERT_TRUE(packs.is_ok());
  std::set<Id> pack_ids;
  for (const auto& p : *packs) pack_ids.insert(p.id);
  for (const auto& [blob, pack] : indexed_on_storage()) EXPECT_TRUE(pack_ids.count(pack)) << pack.short_hex();
  // The next run adopts anything unindexed and can store the rest.
  repo().index().drop_reservations();
  ASSERT_TRUE(repo().index_unindexed_packs().is_ok());
  BlobSaver again(repo(), {});
  for (const auto& b : blobs) again.save_if_new(BlobType::kData, b);
  ASSERT_TRUE(again.finish().is_ok());
  for (const auto& b : blobs) EXPECT_TRUE(repo().read_blob(repo().keys().blob_id(b)).is_ok());
}

TEST_F(BlobSaverTest, DestructorWithoutFinishDoesNotHang) {
  BlobSaver saver(repo(), {});
  for (const auto& b : random_blobs(16, 20)) saver.save_if_new(BlobType::kData, b);
  SUCCEED();  // the destructor aborts
}

}  // namespace
}  // namespace lifeboat::repo
