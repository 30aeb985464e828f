#include "sources/fs/file_cache.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "compress/zstd.h"
#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat::sources::fs {
namespace {

using lifeboat::testing::TempDir;

repo::Id id_of(uint64_t n) {
  repo::Id id;
  Bytes b = lifeboat::testing::splitmix_bytes(n, 32);
  std::copy(b.begin(), b.end(), id.bytes.begin());
  return id;
}

CachedFile file(std::string name, uint64_t n_ids, uint64_t seed) {
  CachedFile f;
  f.name = std::move(name);
  f.size = seed * 1000 + n_ids;
  f.mtime_ns = 1705329000'123456789 + static_cast<int64_t>(seed);
  f.ctime_ns = -static_cast<int64_t>(seed) - 1;  // before 1970 round-trips too
  f.inode = (uint64_t{1} << 63) + seed;
  for (uint64_t i = 0; i < n_ids; ++i) f.content.push_back(id_of(seed * 100 + i));
  return f;
}

void expect_same(const std::vector<CachedFile>& a, const std::vector<CachedFile>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].size, b[i].size);
    EXPECT_EQ(a[i].mtime_ns, b[i].mtime_ns);
    EXPECT_EQ(a[i].ctime_ns, b[i].ctime_ns);
    EXPECT_EQ(a[i].inode, b[i].inode);
    EXPECT_EQ(a[i].content, b[i].content);
  }
}

std::vector<CachedFile> dir_a() { return {file("a", 0, 1), file("b\nnewline\xff", 3, 2), file("c", 1, 3)}; }
std::vector<CachedFile> dir_b() { return {file("only", 2, 4)}; }

std::string write_cache(const TempDir& dir) {
  std::string path = dir / "cache/0123/files/abcd";
  auto w = FileCacheWriter::create(path);
  EXPECT_TRUE(w.is_ok()) << w.status().message();
  (*w)->add_dir("/home/a", dir_a());
  (*w)->add_dir("/home/empty", {});
  (*w)->add_dir("/home/b", dir_b());
  EXPECT_TRUE((*w)->commit().is_ok());
  return path;
}

TEST(FileCache, RoundTrip) {
  TempDir dir;
  std::string path = write_cache(dir);
  auto r = FileCacheReader::open(path);
  EXPECT_EQ(r->dir_count(), 2u) << "a directory without cacheable files is not recorded";
  expect_same(r->load_dir("/home/a"), dir_a());
  expect_same(r->load_dir("/home/b"), dir_b());
  EXPECT_TRUE(r->load_dir("/home/empty").empty());
  EXPECT_TRUE(r->load_dir("/home").empty());
  EXPECT_TRUE(r->load_dir("/home/a/").empty());
}

TEST(FileCache, CommitReplacesAtomicallyAndLeavesNoTemporary) {
  TempDir dir;
  std::string path = write_cache(dir);
  EXPECT_EQ(lifeboat::testing::dir_entries(dir / "cache/0123/files"), std::vector<std::string>{"abcd"});
  auto w = FileCacheWriter::create(path);
  ASSERT_TRUE(w.is_ok());
  (*w)->add_dir("/new", dir_b());
  // Until commit, readers see the old cache.
  EXPECT_EQ(FileCacheReader::open(path)->dir_count(), 2u);
  ASSERT_TRUE((*w)->commit().is_ok());
  auto r = FileCacheReader::open(path);
  EXPECT_EQ(r->dir_count(), 1u);
  expect_same(r->load_dir("/new"), dir_b());
  EXPECT_EQ(lifeboat::testing::dir_entries(dir / "cache/0123/files"), std::vector<std::string>{"abcd"});
}

TEST(FileCache, WriterWithoutCommitIsDiscarded) {
  TempDir dir;
  std::string path = dir / "files/cache";
  {
    auto w = FileCacheWriter::create(path);
    ASSERT_TRUE(w.is_ok());
    (*w)->add_dir("/home/a", dir_a());
  }
  EXPECT_TRUE(lifeboat::testing::dir_entries(dir / "files").empty());
  EXPECT_EQ(FileCacheReader::open(path)->dir_count(), 0u);
}

// Enough directories that the writer flushes in several pieces.
TEST(FileCache, ManyDirectories) {
  TempDir dir;
  std::string path = dir / "c";
  auto w = FileCacheWriter::create(path);
  ASSERT_TRUE(w.is_ok());
  for (int d = 0; d < 2000; ++d) {
    std::vector<CachedFile> files;
    for (int f = 0; f < 20; ++f) files.push_back(file("f" + std::to_string(100 + f), 1, d * 20 + f));
    (*w)->add_dir("/d" + std::to_string(d), files);
  }
  ASSERT_TRUE((*w)->commit().is_ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 1 << 20);
  auto r = FileCacheReader::open(path);
  EXPECT_EQ(r->dir_count(), 2000u);
  for (int d = 0; d < 2000; d += 97) {
    auto files = r->load_dir("/d" + std::to_string(d));
    ASSERT_EQ(files.size(), 20u) << d;
    EXPECT_EQ(files[7].name, "f107");
    EXPECT_EQ(files[7].content, std::vector<repo::Id>{id_of((d * 20 + 7) * 100)});
  }
}

TEST(FileCache, MissingFileIsEmpty) {
  auto r = FileCacheReader::open("/nonexistent/lifeboat/cache");
  EXPECT_EQ(r->dir_count(), 0u);
  EXPECT_TRUE(r->load_dir("/home/a").empty());
}

TEST(FileCache, DamagedFileIsEmpty) {
  TempDir dir;
  std::string path = write_cache(dir);
  std::string good = lifeboat::testing::read_file(path);
  auto reader_for = [&](const std::string& content) {
    lifeboat::testing::write_file(path, content);
    return FileCacheReader::open(path);
  };
  EXPECT_EQ(reader_for("")->dir_count(), 0u);
  EXPECT_EQ(reader_for("garbage that is long enough to hold a footer and a magic")->dir_count(), 0u);
  for (size_t cut : {size_t{1}, size_t{8}, size_t{31}, good.size() / 2, good.size() - 6})
    EXPECT_EQ(reader_for(good.substr(0, good.size() - cut))->dir_count(), 0u) << "cut " << cut;
  std::string bad_magic = good;
  bad_magic[0] ^= 1;
  EXPECT_EQ(reader_for(bad_magic)->dir_count(), 0u);
  std::string bad_end = good;
  bad_end[bad_end.size() - 1] ^= 1;
  EXPECT_EQ(reader_for(bad_end)->dir_count(), 0u);
  std::string bad_table_offset = good;
  bad_table_offset[bad_table_offset.size() - 32] ^= 0x40;
  EXPECT_EQ(reader_for(bad_table_offset)->dir_count(), 0u);
}

// Any single damaged byte: the reader neither fails nor crashes, and what
// it returns is well-formed (sorted names).
TEST(FileCache, AnyFlippedByteIsHarmless) {
  TempDir dir;
  std::string path = write_cache(dir);
  std::string good = lifeboat::testing::read_file(path);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0xff;
    lifeboat::testing::write_file(path, bad);
    auto r = FileCacheReader::open(path);
    for (const char* d : {"/home/a", "/home/b"}) {
      std::vector<CachedFile> files;
      try {
        files = r->load_dir(d);
      } catch (const std::exception& e) {
        FAIL() << "flipping byte " << i << " of " << good.size() << ": load_dir(\"" << d << "\") threw " << e.what();
      }
      for (size_t k = 1; k < files.size(); ++k) ASSERT_LT(files[k - 1].name, files[k].name) << "byte " << i;
    }
  }
}

// Hand-made cache with one record claiming 2^59 + 1 content ids: the count
// times 32 wraps around 64 bits. A damaged cache is treated as empty; it
// must not make the reader allocate or throw.
TEST(FileCache, HugeIdCountIsTreatedAsEmpty) {
  Bytes raw;
  put_varint(raw, 1);  // one record
  put_varint(raw, 1);
  append(raw, "f");
  put_varint(raw, 10);                          // size
  put_varint(raw, zigzag_encode(1));            // mtime
  put_varint(raw, zigzag_encode(1));            // ctime
  put_varint(raw, 5);                           // inode
  put_varint(raw, (uint64_t{1} << 59) + 1);     // nids: * 32 == 32 (mod 2^64)
  append(raw, Bytes(32, 0xab));
  Bytes block;
  compress::zstd_compress(raw, 1, block);
  Bytes file = to_bytes("LBFC1\n");
  uint64_t block_offset = file.size();
  append(file, block);
  Bytes table_raw;
  put_varint(table_raw, 1);
  put_varint(table_raw, 2);
  append(table_raw, "/d");
  put_varint(table_raw, block_offset);
  put_varint(table_raw, block.size());
  put_varint(table_raw, raw.size());
  Bytes table;
  compress::zstd_compress(table_raw, 1, table);
  uint64_t table_offset = file.size();
  append(file, table);
  put_fixed64(file, table_offset);
  put_fixed64(file, table.size());
  put_fixed64(file, table_raw.size());
  append(file, "LBFCEND1");

  TempDir dir;
  lifeboat::testing::write_file(dir / "cache", as_string_view(file));
  auto r = FileCacheReader::open(dir / "cache");
  ASSERT_EQ(r->dir_count(), 1u) << "the crafted file is well-formed up to the record";
  std::vector<CachedFile> files;
  EXPECT_NO_THROW(files = r->load_dir("/d"));
  EXPECT_TRUE(files.empty());
}

TEST(FileCachePath, DependsOnRepositoryHostAndPathSet) {
  repo::Id repo_id = id_of(1);
  std::string p = file_cache_path("/root/.cache/lifeboat", repo_id, "host", {"/home", "/etc"});
  std::string prefix = "/root/.cache/lifeboat/" + repo_id.hex() + "/files/";
  ASSERT_TRUE(p.starts_with(prefix)) << p;
  EXPECT_EQ(p.size(), prefix.size() + 32);
  EXPECT_EQ(p, file_cache_path("/root/.cache/lifeboat", repo_id, "host", {"/etc", "/home"})) << "order-insensitive";
  EXPECT_NE(p, file_cache_path("/root/.cache/lifeboat", repo_id, "other", {"/home", "/etc"}));
  EXPECT_NE(p, file_cache_path("/root/.cache/lifeboat", repo_id, "host", {"/home"}));
  EXPECT_NE(p, file_cache_path("/root/.cache/lifeboat", id_of(2), "host", {"/home", "/etc"}));
  // The separator keeps ("ab", "c") and ("a", "bc") apart.
  EXPECT_NE(file_cache_path("/c", repo_id, "h", {"/a", "b"}), file_cache_path("/c", repo_id, "h", {"/ab"}));
}

}  // namespace
}  // namespace lifeboat::sources::fs
