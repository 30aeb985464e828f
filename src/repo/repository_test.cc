#include "repo/repository.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "storage/mem_backend.h"
#include "unit/repo_helpers.h"
#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

using lifeboat::testing::make_mem_repo;
using lifeboat::testing::MemRepo;
using lifeboat::testing::SharedBackend;

constexpr int64_t kT0 = 1705329000'000000000;

std::unique_ptr<SharedBackend> handle(const std::shared_ptr<storage::MemBackend>& mem) {
  return std::make_unique<SharedBackend>(mem);
}

// Copies every object of `from` into a new store.
std::shared_ptr<storage::MemBackend> clone(storage::MemBackend& from, const std::string& name) {
  auto to = std::make_shared<storage::MemBackend>(name);
  auto objects = from.list("");
  for (const auto& o : *objects)
    EXPECT_TRUE(to->write(o.name, *from.read(o.name, 0, storage::kToEnd)).is_ok());
  return to;
}

// ---------------------------------------------------------- create / open
//
// Opening runs scrypt at the design minimum (~0.2 s): the suite creates one
// such repository and each test opens it at most once.

class RepositoryOpen : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    mem_ = new std::shared_ptr<storage::MemBackend>(std::make_shared<storage::MemBackend>("suite"));
    CreateOptions o;  // default KDF: the key file must open
    o.hostname = "host-a";
    o.chunker = {1024, 4096, 16384, 2};
    o.compression_level = 5;
    o.pack_size = 1 << 20;
    auto r = Repository::create(handle(*mem_), "correct horse", o, clock_);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    config_id_ = new Id((*r)->config().id);
    key_id_ = new Id((*r)->key_id());
    hello_id_ = new Id((*r)->keys().blob_id(as_bytes("hello")));
  }
  static void TearDownTestSuite() {
    delete mem_;
    delete config_id_;
    delete key_id_;
    delete hello_id_;
  }
  static inline FakeClock clock_{kT0};
  static inline std::shared_ptr<storage::MemBackend>* mem_ = nullptr;
  static inline Id* config_id_ = nullptr;
  static inline Id* key_id_ = nullptr;
  static inline Id* hello_id_ = nullptr;
};

TEST_F(RepositoryOpen, CreateWritesKeyThenConfig) {
  auto keys = (*mem_)->list("keys/");
  ASSERT_TRUE(keys.is_ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].name, "keys/" + key_id_->hex());
  EXPECT_TRUE((*mem_)->stat("config").is_ok());
}

TEST_F(RepositoryOpen, OpensWithRightPassword) {
  auto r = Repository::open(handle(*mem_), "correct horse", clock_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  Repository& repo = **r;
  EXPECT_EQ(repo.config().id, *config_id_);
  EXPECT_EQ(repo.config().created_ns, kT0);
  EXPECT_EQ(repo.config().chunker.avg_size, 4096u);
  EXPECT_EQ(repo.config().compression_level, 5);
  EXPECT_EQ(repo.config().pack_size, 1u << 20);
  EXPECT_EQ(repo.key_id(), *key_id_);
  EXPECT_EQ(repo.keys().blob_id(as_bytes("hello")), *hello_id_) << "the same master key";
  EXPECT_EQ(repo.location(), "mem:suite");
}

TEST_F(RepositoryOpen, WrongPassword) {
  auto r = Repository::open(handle(*mem_), "wrong horse", clock_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kWrongPassword);
  EXPECT_EQ(r.status().exit_code(), 12);
  EXPECT_EQ(r.status().message(),
            "wrong password: no key in mem:suite opens with it; check LIFEBOAT_PASSWORD / --password-file");
}

// A key file damaged on the way fails the GCM tag just like a wrong
// passphrase; it is read again, and opens when the second read differs.
TEST_F(RepositoryOpen, KeyFileDamagedInTransitIsReadAgain) {
  auto b = handle(*mem_);
  std::string key_name = "keys/" + key_id_->hex();
  int key_reads = 0;
  b->read_damage = [&](std::string_view name, Bytes& data) {
    if (name != key_name || key_reads++ > 0) return;
    // One base64 character of the sealed master key: still valid JSON and
    // base64, so only the tag can tell.
    std::string s(as_string_view(data));
    size_t at = s.find("\"data\":\"") + 20;
    data[at] = static_cast<uint8_t>(s[at] == 'A' ? 'B' : 'A');
  };
  auto r = Repository::open(std::move(b), "correct horse", clock_);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ((*r)->key_id(), *key_id_);
  EXPECT_EQ(key_reads, 2);
}

TEST_F(RepositoryOpen, WrongPasswordReadsEachKeyTwiceOnly) {
  auto b = handle(*mem_);
  int key_reads = 0;
  b->read_damage = [&](std::string_view name, Bytes&) { key_reads += name.starts_with("keys/"); };
  auto r = Repository::open(std::move(b), "wrong horse", clock_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kWrongPassword);
  EXPECT_EQ(key_reads, 2);
}

TEST_F(RepositoryOpen, DamagedConfigFailsToOpen) {
  auto copy = clone(**mem_, "suite-copy");
  copy->corrupt("config", 20);
  auto r = Repository::open(handle(copy), "correct horse", clock_);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(r.status().message(),
            "unable to read the repository config: config is damaged: authentication failed (data was modified or "
            "the key is wrong)");
}

TEST(Repository, OpenEmptyBackendIsNoRepository) {
  FakeClock clock(kT0);
  auto r = Repository::open(std::make_unique<storage::MemBackend>("empty"), "pw", clock);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNoRepository);
  EXPECT_EQ(r.status().exit_code(), 10);
  EXPECT_EQ(r.status().message(),
            "there is no repository at mem:empty (no config object): check --repo / LIFEBOAT_REPOSITORY, or create "
            "one with `lifeboat init`");
}

TEST(Repository, OpenMissingLocalDirectoryIsNoRepository) {
  lifeboat::testing::TempDir dir;
  FakeClock clock(kT0);
  auto r = Repository::open(dir / "nothing-here", "pw", clock);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNoRepository);
}

TEST(Repository, ConfigWithoutKeysIsCorrupt) {
  FakeClock clock(kT0);
  auto mem = std::make_shared<storage::MemBackend>("nokeys");
  ASSERT_TRUE(mem->write("config", as_bytes("x")).is_ok());
  auto r = Repository::open(handle(mem), "pw", clock);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(r.status().message(), "repository mem:nokeys has no keys/ (damaged)");
}

// A key file that cannot be used (here: weakened KDF parameters) is named
// in the wrong-password message, so the user knows to look at it.
TEST(Repository, OpenNamesDamagedKeyFiles) {
  FakeClock clock(kT0);
  MemRepo r = make_mem_repo(clock);  // cheap KDF: refused on open
  auto names = r.mem->list("keys/");
  ASSERT_TRUE(names.is_ok());
  ASSERT_EQ(names->size(), 1u);
  auto opened = Repository::open(handle(r.mem), "pw", clock);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), ErrorCode::kWrongPassword);
  EXPECT_EQ(opened.status().message(), "wrong password: no key in mem:test opens with it (1 key file(s) are damaged: " +
                                           (*names)[0].name + "); check LIFEBOAT_PASSWORD / --password-file");
}

TEST(Repository, CreateTwiceFails) {
  FakeClock clock(kT0);
  MemRepo r = make_mem_repo(clock);
  auto again = Repository::create(handle(r.mem), "pw", lifeboat::testing::cheap_options(), clock);
  ASSERT_FALSE(again.is_ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "a repository already exists at mem:test");
}

TEST(Repository, CreateOnNonEmptyLocationFails) {
  FakeClock clock(kT0);
  auto mem = std::make_shared<storage::MemBackend>("busy");
  ASSERT_TRUE(mem->write("some/file", as_bytes("x")).is_ok());
  auto r = Repository::create(handle(mem), "pw", lifeboat::testing::cheap_options(), clock);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(r.status().message(), "unable to create a repository at mem:busy: mem:busy is not empty");
}

TEST(Repository, CreateRejectsBadOptions) {
  FakeClock clock(kT0);
  auto empty_pw = Repository::create(std::make_unique<storage::MemBackend>(), "", lifeboat::testing::cheap_options(),
                                     clock);
  ASSERT_FALSE(empty_pw.is_ok());
  EXPECT_EQ(empty_pw.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(empty_pw.status().message(), "empty password: choose a non-empty passphrase");
  auto o = lifeboat::testing::cheap_options();
  o.chunker.avg_size = 3000;
  auto bad_chunker = Repository::create(std::make_unique<storage::MemBackend>(), "pw", o, clock);
  EXPECT_EQ(bad_chunker.status().code(), ErrorCode::kInvalidArgument);
}

// ------------------------------------------------------------ packs, index

class RepositoryData : public ::testing::Test {
 protected:
  FakeClock clock_{kT0};
  MemRepo r_ = make_mem_repo(clock_);
  Repository& repo() { return *r_.repo; }

  // Writes one pack holding `blobs` (no index file).
  PackWriter::Finished write_pack(const std::vector<Bytes>& blobs, BlobType type = BlobType::kData) {
    PackWriter w(repo().keys(), 3);
    for (const auto& b : blobs) w.add(type, repo().keys().blob_id(b), b);
    auto f = w.finish();
    EXPECT_TRUE(repo().write_pack(f.pack_id, *f.data, f.entries).is_ok());
    return f;
  }
};

TEST_F(RepositoryData, WriteIndexThenLoadIndex) {
  std::vector<Bytes> blobs = {to_bytes("first blob"), lifeboat::testing::splitmix_bytes(1, 3000)};
  auto pack = write_pack(blobs);
  auto index_id = repo().write_index({{pack.pack_id, pack.entries}});
  ASSERT_TRUE(index_id.is_ok());
  EXPECT_EQ(repo().index().blob_count(), 0u) << "write_index does not touch the in-memory index";
  auto files = repo().list_index_files();
  ASSERT_TRUE(files.is_ok());
  EXPECT_EQ(*files, std::vector<Id>{*index_id});

  ASSERT_TRUE(repo().load_index().is_ok());
  EXPECT_EQ(repo().index().blob_count(), 2u);
  for (const auto& b : blobs) {
    auto got = repo().read_blob(repo().keys().blob_id(b));
    ASSERT_TRUE(got.is_ok()) << got.status().message();
    EXPECT_TRUE(*got == b);
  }
  auto read_back = repo().read_index_file(*index_id);
  ASSERT_TRUE(read_back.is_ok());
  ASSERT_EQ(read_back->size(), 1u);
  EXPECT_EQ((*read_back)[0].pack_id, pack.pack_id);
}

TEST_F(RepositoryData, ReadUnknownBlobIsNotFound) {
  Id id = repo().keys().blob_id(as_bytes("never stored"));
  auto r = repo().read_blob(id);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "blob " + id.short_hex() + " is not in the index");
}

TEST_F(RepositoryData, DamagedBlobIsCorruptAndNamed) {
  Bytes b = to_bytes("precious data that will be damaged");
  auto pack = write_pack({b});
  repo().index().add_pack(pack.pack_id, pack.entries);
  r_.mem->corrupt(pack_name(pack.pack_id), 30);
  Id id = repo().keys().blob_id(b);
  auto r = repo().read_blob(id);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(r.status().message(), "blob " + id.short_hex() + " in pack " + pack.pack_id.short_hex() +
                                      ": authentication failed (data was modified or the key is wrong)");
}

TEST_F(RepositoryData, TruncatedPackIsCorrupt) {
  Bytes b = lifeboat::testing::splitmix_bytes(2, 1000);
  auto pack = write_pack({b});
  repo().index().add_pack(pack.pack_id, pack.entries);
  ASSERT_TRUE(r_.mem->write(pack_name(pack.pack_id), ByteSpan(*pack.data).first(500)).is_ok());
  Id id = repo().keys().blob_id(b);
  auto r = repo().read_blob(id);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(r.status().message(),
            "pack " + pack.pack_id.short_hex() + " is truncated (blob " + id.short_hex() + ")");
}

TEST_F(RepositoryData, MissingPackIsNotFound) {
  Bytes b = to_bytes("x");
  auto pack = write_pack({b});
  repo().index().add_pack(pack.pack_id, pack.entries);
  ASSERT_TRUE(r_.mem->remove(pack_name(pack.pack_id)).is_ok());
  auto r = repo().read_blob(repo().keys().blob_id(b));
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "pack " + pack.pack_id.short_hex() + " is missing");
}

TEST_F(RepositoryData, DamagedIndexFile) {
  auto p1 = write_pack({to_bytes("one")});
  auto p2 = write_pack({to_bytes("two")});
  auto good = repo().write_index({{p1.pack_id, p1.entries}});
  auto bad = repo().write_index({{p2.pack_id, p2.entries}});
  ASSERT_TRUE(good.is_ok() && bad.is_ok());
  r_.mem->corrupt("index/" + bad->hex(), 25);
  std::string expected = "index " + bad->short_hex() + ": index/" + bad->hex() +
                         " is damaged: authentication failed (data was modified or the key is wrong)";
  Status s = repo().load_index();
  EXPECT_EQ(s.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(s.message(), expected);
  std::vector<std::string> damaged;
  ASSERT_TRUE(repo().load_index(true, &damaged).is_ok());
  EXPECT_EQ(damaged, std::vector<std::string>{expected});
  EXPECT_TRUE(repo().index().lookup(repo().keys().blob_id(as_bytes("one"))));
}

TEST_F(RepositoryData, IndexFileCannotBeRenamed) {
  auto p = write_pack({to_bytes("one")});
  auto id = repo().write_index({{p.pack_id, p.entries}});
  ASSERT_TRUE(id.is_ok());
  Id other = Id::random();
  auto body = r_.mem->read("index/" + id->hex(), 0, storage::kToEnd);
  ASSERT_TRUE(r_.mem->write("index/" + other.hex(), *body).is_ok());
  EXPECT_EQ(repo().read_index_file(other).status().code(), ErrorCode::kCorrupt);
}

TEST_F(RepositoryData, IndexUnindexedPacksAdoptsPacks) {
  Bytes b = lifeboat::testing::splitmix_bytes(3, 2000);
  auto pack = write_pack({b, to_bytes("small")});  // as if the backup died before its index
  auto damaged = write_pack({to_bytes("lost")});
  r_.mem->corrupt(pack_name(damaged.pack_id), r_.mem->stat(pack_name(damaged.pack_id))->size - 10);
  ASSERT_TRUE(repo().load_index().is_ok());
  EXPECT_FALSE(repo().index().lookup(repo().keys().blob_id(b)));

  auto adopted = repo().index_unindexed_packs();
  ASSERT_TRUE(adopted.is_ok()) << adopted.status().message();
  EXPECT_EQ(*adopted, 1u) << "the damaged pack is left to check";
  auto loc = repo().index().lookup(repo().keys().blob_id(b));
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->pack_id, pack.pack_id);
  auto got = repo().read_blob(repo().keys().blob_id(b));
  ASSERT_TRUE(got.is_ok());
  EXPECT_TRUE(*got == b);
  // An index file now names it, so the next process reuses the blobs too.
  auto files = repo().list_index_files();
  ASSERT_TRUE(files.is_ok());
  ASSERT_EQ(files->size(), 1u);
  auto packs = repo().read_index_file((*files)[0]);
  ASSERT_TRUE(packs.is_ok());
  ASSERT_EQ(packs->size(), 1u);
  EXPECT_EQ((*packs)[0].pack_id, pack.pack_id);
  EXPECT_EQ((*packs)[0].blobs.size(), 2u);
  auto again = repo().index_unindexed_packs();
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(*again, 0u);
}

// A header larger than the first read (64 KiB) is fetched in a second read.
TEST_F(RepositoryData, ReadPackHeaderLargerThanFirstRead) {
  std::vector<Bytes> blobs;
  for (int i = 0; i < 2500; ++i) blobs.push_back(to_bytes("blob " + std::to_string(i)));
  auto pack = write_pack(blobs);
  auto packs = repo().list_packs();
  ASSERT_TRUE(packs.is_ok());
  ASSERT_EQ(packs->size(), 1u);
  EXPECT_EQ((*packs)[0].id, pack.pack_id);
  EXPECT_EQ((*packs)[0].size, pack.data->size());
  uint32_t header_len = get_fixed32(pack.data->data() + pack.data->size() - 4);
  ASSERT_GT(header_len, 64u * 1024);
  auto entries = repo().read_pack_header(pack.pack_id, pack.data->size());
  ASSERT_TRUE(entries.is_ok()) << entries.status().message();
  EXPECT_EQ(entries->size(), 2500u);
}

TEST_F(RepositoryData, ListPacksSkipsForeignNames) {
  auto pack = write_pack({to_bytes("x")});
  ASSERT_TRUE(r_.mem->write("data/ab/not-an-id", as_bytes("?")).is_ok());
  Id misplaced = Id::random();
  misplaced.bytes[0] = 0x12;
  ASSERT_TRUE(r_.mem->write("data/34/" + misplaced.hex(), as_bytes("?")).is_ok());
  auto packs = repo().list_packs();
  ASSERT_TRUE(packs.is_ok());
  ASSERT_EQ(packs->size(), 1u);
  EXPECT_EQ((*packs)[0].id, pack.pack_id);
}

TEST_F(RepositoryData, LoadTree) {
  Tree t;
  Node n;
  n.name = "file";
  n.size = 3;
  t.nodes.push_back(n);
  Bytes encoded = encode_tree(t);
  auto pack = write_pack({encoded}, BlobType::kTree);
  auto not_a_tree = write_pack({to_bytes("plain data")});
  repo().index().add_pack(pack.pack_id, pack.entries);
  repo().index().add_pack(not_a_tree.pack_id, not_a_tree.entries);
  auto loaded = repo().load_tree(repo().keys().blob_id(encoded));
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  ASSERT_EQ(loaded->nodes.size(), 1u);
  EXPECT_EQ(loaded->nodes[0], n);
  Id data_id = repo().keys().blob_id(as_bytes("plain data"));
  auto bad = repo().load_tree(data_id);
  EXPECT_EQ(bad.status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(bad.status().message(), "tree " + data_id.short_hex() + ": tree is malformed");
}

TEST_F(RepositoryData, SealedObjectsAreBoundToTheirAad) {
  ASSERT_TRUE(repo().write_sealed("locks/x", as_bytes("payload"), as_bytes("aad-1")).is_ok());
  auto ok = repo().read_sealed("locks/x", as_bytes("aad-1"));
  ASSERT_TRUE(ok.is_ok());
  EXPECT_EQ(to_string(*ok), "payload");
  auto bad = repo().read_sealed("locks/x", as_bytes("aad-2"));
  EXPECT_EQ(bad.status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(bad.status().message(),
            "locks/x is damaged: authentication failed (data was modified or the key is wrong)");
  EXPECT_EQ(repo().read_sealed("locks/none", as_bytes("aad-1")).status().code(), ErrorCode::kNotFound);
}

// --------------------------------------------------------------- snapshots

Snapshot snapshot_at(int64_t t, const std::string& path) {
  Snapshot s;
  s.time_ns = t;
  s.hostname = "host-a";
  s.paths = {path};
  s.tree.bytes.fill(0x77);
  return s;
}

TEST_F(RepositoryData, SaveAndLoadSnapshot) {
  Snapshot s = snapshot_at(kT0 + 5, "/home/\xff");
  s.tags = {"daily"};
  ASSERT_TRUE(repo().save_snapshot(s).is_ok());
  EXPECT_FALSE(s.id.is_zero());
  auto ids = repo().list_snapshot_ids();
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ(*ids, std::vector<Id>{s.id});
  auto back = repo().load_snapshot(s.id);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->id, s.id);
  EXPECT_EQ(back->time_ns, s.time_ns);
  EXPECT_EQ(back->paths, s.paths);
  EXPECT_EQ(back->tags, s.tags);
  EXPECT_EQ(back->tree, s.tree);
}

TEST_F(RepositoryData, LoadSnapshotsSortsByTime) {
  std::vector<Snapshot> saved = {snapshot_at(kT0 + 30, "/c"), snapshot_at(kT0 + 10, "/a"),
                                 snapshot_at(kT0 + 20, "/b")};
  for (auto& s : saved) ASSERT_TRUE(repo().save_snapshot(s).is_ok());
  auto all = repo().load_snapshots();
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].paths[0], "/a");
  EXPECT_EQ((*all)[1].paths[0], "/b");
  EXPECT_EQ((*all)[2].paths[0], "/c");
}

TEST_F(RepositoryData, DamagedSnapshot) {
  Snapshot a = snapshot_at(kT0 + 1, "/a"), b = snapshot_at(kT0 + 2, "/b");
  ASSERT_TRUE(repo().save_snapshot(a).is_ok());
  ASSERT_TRUE(repo().save_snapshot(b).is_ok());
  r_.mem->corrupt("snapshots/" + b.id.hex(), 40);
  std::string expected = "snapshot " + b.id.short_hex() + ": snapshots/" + b.id.hex() +
                         " is damaged: authentication failed (data was modified or the key is wrong)";
  auto strict = repo().load_snapshots();
  ASSERT_FALSE(strict.is_ok());
  EXPECT_EQ(strict.status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(strict.status().message(), expected);
  std::vector<std::string> damaged;
  auto tolerant = repo().load_snapshots(&damaged);
  ASSERT_TRUE(tolerant.is_ok());
  ASSERT_EQ(tolerant->size(), 1u);
  EXPECT_EQ((*tolerant)[0].id, a.id);
  EXPECT_EQ(damaged, std::vector<std::string>{expected});
}

// The aad binds a snapshot to its name: a copy under another id does not open.
TEST_F(RepositoryData, SnapshotCannotBeRenamed) {
  Snapshot a = snapshot_at(kT0, "/a");
  ASSERT_TRUE(repo().save_snapshot(a).is_ok());
  Id other = Id::random();
  auto body = r_.mem->read("snapshots/" + a.id.hex(), 0, storage::kToEnd);
  ASSERT_TRUE(r_.mem->write("snapshots/" + other.hex(), *body).is_ok());
  EXPECT_EQ(repo().load_snapshot(other).status().code(), ErrorCode::kCorrupt);
}

// From an object store (connections() > 1) a tree read brings its whole
// pack, so a walk over many trees costs a request per tree pack, not per tree.
TEST(Repository, TreesFromAnObjectStoreComeAPackAtATime) {
  FakeClock clock(kT0);
  for (int connections : {1, 4}) {
    MemRepo m = make_mem_repo(clock, lifeboat::testing::cheap_options(), "pw", "trees" + std::to_string(connections));
    Repository& r = *m.repo;
    PackWriter w(r.keys(), 3);
    std::vector<Id> ids;
    for (int i = 0; i < 10; ++i) {
      Tree t;
      Node n;
      n.name = "file" + std::to_string(i);
      t.nodes.push_back(n);
      Bytes plain = encode_tree(t);
      ids.push_back(r.keys().blob_id(plain));
      w.add(BlobType::kTree, ids.back(), plain);
    }
    auto f = w.finish();
    ASSERT_TRUE(r.write_pack(f.pack_id, *f.data, f.entries).is_ok());
    ASSERT_TRUE(r.write_index({{f.pack_id, f.entries}}).is_ok());
    ASSERT_TRUE(r.load_index().is_ok());
    m.backend->connections_ = connections;
    uint64_t before = m.backend->reads;
    for (int round = 0; round < 2; ++round)
      for (int i = 0; i < 10; ++i) {
        auto t = r.load_tree(ids[static_cast<size_t>(i)]);
        ASSERT_TRUE(t.is_ok()) << t.status().message();
        EXPECT_EQ(t->nodes[0].name, "file" + std::to_string(i));
      }
    EXPECT_EQ(m.backend->reads - before, connections == 1 ? 20u : 1u) << connections;
  }
}

// Deltas read their base first; from an object store the bases come a
// pack at a time too, so a restore of a delta backup does not cost one
// request per changed chunk.
TEST(Repository, DeltasReadTheirBaseAndBasesComeAPackAtATime) {
  FakeClock clock(kT0);
  for (int connections : {1, 4}) {
    MemRepo m = make_mem_repo(clock, lifeboat::testing::cheap_options(), "pw", "deltas" + std::to_string(connections));
    Repository& r = *m.repo;
    PackWriter bases(r.keys(), 3), deltas(r.keys(), 3);
    std::vector<Id> delta_ids;
    std::vector<Bytes> versions;
    for (int i = 0; i < 10; ++i) {
      Bytes base = lifeboat::testing::splitmix_bytes(100 + i, 8192);
      Id base_id = r.keys().blob_id(base);
      bases.add(BlobType::kData, base_id, base);
      Bytes next = base;
      next[static_cast<size_t>(i) * 100] ^= 1;
      delta_ids.push_back(r.keys().blob_id(next));
      ASSERT_TRUE(deltas.add_delta(delta_ids.back(), next, base_id, base, 4096));
      versions.push_back(std::move(next));
    }
    for (PackWriter* w : {&bases, &deltas}) {
      auto f = w->finish();
      ASSERT_TRUE(r.write_pack(f.pack_id, *f.data, f.entries).is_ok());
      ASSERT_TRUE(r.write_index({{f.pack_id, f.entries}}).is_ok());
    }
    ASSERT_TRUE(r.load_index().is_ok());
    m.backend->connections_ = connections;
    uint64_t before = m.backend->reads;
    for (int i = 0; i < 10; ++i) {
      auto got = r.read_blob(delta_ids[static_cast<size_t>(i)]);
      ASSERT_TRUE(got.is_ok()) << got.status().message();
      EXPECT_EQ(*got, versions[static_cast<size_t>(i)]);
    }
    // Each delta is one read; its base one more, or one for the whole pack.
    EXPECT_EQ(m.backend->reads - before, connections == 1 ? 20u : 11u) << connections;
    EXPECT_EQ(r.read_base(delta_ids[0]).status().code(), ErrorCode::kCorrupt) << "a delta is no base";
  }
}

}  // namespace
}  // namespace lifeboat::repo
