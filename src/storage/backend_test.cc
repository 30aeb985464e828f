// The storage conformance suite: every backend runs the same tests
// (backend.h states the contract).
#include "storage/backend.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/local_backend.h"
#include "storage/mem_backend.h"
#include "unit/test_util.h"

namespace lifeboat::storage {
namespace {

using lifeboat::testing::TempDir;

// A backend under test plus whatever it needs (a temporary directory).
struct Harness {
  virtual ~Harness() = default;
  virtual Backend& backend() = 0;
  // A file outside the store's namespace, or "" if the backend has no such thing.
  virtual std::string plant_outside(std::string_view content) { (void)content; return ""; }
};

struct MemHarness : Harness {
  MemBackend mem{"conformance"};
  Backend& backend() override { return mem; }
};

struct LocalHarness : Harness {
  TempDir dir;
  std::unique_ptr<LocalBackend> local = std::make_unique<LocalBackend>(dir / "repo", /*durable=*/false);
  Backend& backend() override { return *local; }
  std::string plant_outside(std::string_view content) override {
    lifeboat::testing::write_file(dir / "secret", content);
    return "../secret";
  }
};

// An S3 server named by LIFEBOAT_TEST_S3 ("s3:http://127.0.0.1:7480/bucket",
// set by scripts/test.sh after it starts Ceph's RADOS Gateway), each test
// under a prefix of its own.
struct S3Harness : Harness {
  std::unique_ptr<Backend> s3;
  Backend& backend() override { return *s3; }
  static std::unique_ptr<Harness> make() {
    const char* base = std::getenv("LIFEBOAT_TEST_S3");
    if (!base || !*base) return nullptr;
    auto h = std::make_unique<S3Harness>();
    auto b = open_backend(std::string(base) + "/conformance-" +
                          std::to_string(std::random_device{}()) + std::to_string(std::random_device{}()));
    if (!b.is_ok()) throw std::runtime_error(b.status().message());
    h->s3 = std::move(*b);
    return h;
  }
};

// An Azure Blob endpoint named by LIFEBOAT_TEST_AZURE ("azure:lifeboat-test",
// with the AZURE_STORAGE_* variables Azurite's env file sets; scripts/test.sh
// starts it), each test under a prefix of its own.
struct AzureHarness : Harness {
  std::unique_ptr<Backend> azure;
  Backend& backend() override { return *azure; }
  static std::unique_ptr<Harness> make() {
    const char* base = std::getenv("LIFEBOAT_TEST_AZURE");
    if (!base || !*base) return nullptr;
    auto h = std::make_unique<AzureHarness>();
    auto b = open_backend(std::string(base) + "/conformance-" +
                          std::to_string(std::random_device{}()) + std::to_string(std::random_device{}()));
    if (!b.is_ok()) throw std::runtime_error(b.status().message());
    h->azure = std::move(*b);
    return h;
  }
};

struct BackendKind {
  std::string name;
  std::function<std::unique_ptr<Harness>()> make;
};

void PrintTo(const BackendKind& k, std::ostream* os) { *os << k.name; }

std::string print_kind(const ::testing::TestParamInfo<BackendKind>& info) { return info.param.name; }

class BackendConformance : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    harness_ = GetParam().make();
    if (!harness_) GTEST_SKIP() << GetParam().name << " is not configured (LIFEBOAT_TEST_S3, LIFEBOAT_TEST_AZURE)";
    Status created = b().create();
    ASSERT_TRUE(created.is_ok()) << created.message();
  }
  Backend& b() { return harness_->backend(); }

  void put(std::string_view name, std::string_view content) {
    Status s = b().write(name, as_bytes(content));
    ASSERT_TRUE(s.is_ok()) << name << ": " << s.message();
  }
  std::string get(std::string_view name, uint64_t offset = 0, uint64_t length = kToEnd) {
    auto r = b().read(name, offset, length);
    EXPECT_TRUE(r.is_ok()) << name << ": " << r.status().message();
    return r.is_ok() ? to_string(*r) : "<error>";
  }
  std::vector<std::string> names(std::string_view prefix) {
    auto r = b().list(prefix);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    std::vector<std::string> out;
    if (r.is_ok())
      for (const auto& o : *r) out.push_back(o.name);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<Harness> harness_;
};

TEST_P(BackendConformance, WriteThenRead) {
  put("config", "hello config");
  EXPECT_EQ(get("config"), "hello config");
  put("data/ab/abcdef", "pack bytes");
  EXPECT_EQ(get("data/ab/abcdef"), "pack bytes");
}

TEST_P(BackendConformance, BinaryAndEmptyObjects) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  put("keys/binary", all);
  EXPECT_EQ(get("keys/binary"), all);
  put("keys/empty", "");
  EXPECT_EQ(get("keys/empty"), "");
  auto st = b().stat("keys/empty");
  ASSERT_TRUE(st.is_ok());
  EXPECT_EQ(st->size, 0u);
}

TEST_P(BackendConformance, RangedRead) {
  put("obj", "0123456789");
  EXPECT_EQ(get("obj", 2, 3), "234");
  EXPECT_EQ(get("obj", 0, 10), "0123456789");
  EXPECT_EQ(get("obj", 7), "789");
  EXPECT_EQ(get("obj", 0, 0), "");
}

// A restore reads pack after pack into one buffer per worker: the data
// must land in that buffer, not in a new one each time (fresh pages, a
// page fault per 4 KiB). The in-memory test store hands out copies.
TEST_P(BackendConformance, ReadIntoRefillsTheCallersBuffer) {
  Bytes large = lifeboat::testing::splitmix_bytes(3, 6 * 1024 * 1024 + 5);
  Bytes small = lifeboat::testing::splitmix_bytes(4, 5 * 1024 * 1024);
  Bytes larger = lifeboat::testing::splitmix_bytes(5, 6 * 1024 * 1024 + 4096);
  ASSERT_TRUE(b().write("data/00/large", large).is_ok());
  ASSERT_TRUE(b().write("data/00/small", small).is_ok());
  ASSERT_TRUE(b().write("data/00/larger", larger).is_ok());
  const bool reuses = std::string(GetParam().name) != "Mem";
  Bytes out;
  ASSERT_TRUE(b().read_into("data/00/large", 0, kToEnd, out).is_ok());
  EXPECT_TRUE(out == large);
  const uint8_t* buffer = out.data();
  ASSERT_TRUE(b().read_into("data/00/small", 0, kToEnd, out).is_ok());
  EXPECT_TRUE(out == small);
  if (reuses) EXPECT_EQ(out.data(), buffer) << "a smaller object fits the buffer it is given";
  // Object stores reserve a body with room to spare: a little larger still fits.
  ASSERT_TRUE(b().read_into("data/00/larger", 0, kToEnd, out).is_ok());
  EXPECT_TRUE(out == larger);
  if (reuses && GetParam().name != std::string("Local")) EXPECT_EQ(out.data(), buffer);
  ASSERT_TRUE(b().read_into("data/00/large", 100, 1000, out).is_ok());
  ASSERT_EQ(out.size(), 1000u);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), large.begin() + 100));
}

TEST_P(BackendConformance, ReadPastEndReturnsWhatThereIs) {
  put("obj", "0123456789");
  EXPECT_EQ(get("obj", 8, 100), "89");
  EXPECT_EQ(get("obj", 10, 5), "");
  EXPECT_EQ(get("obj", 20), "");
  EXPECT_EQ(get("obj", 20, 5), "");
}

// A caller may ask for "up to N bytes" with N far beyond the object (the
// length may come from a damaged index). The answer is the object, not an
// allocation of N bytes.
TEST_P(BackendConformance, HugeLengthIsClampedToTheObject) {
  put("obj", "0123456789");
  EXPECT_EQ(get("obj", 4, uint64_t{1} << 62), "456789");
}

TEST_P(BackendConformance, Stat) {
  put("snapshots/s1", "12345");
  auto st = b().stat("snapshots/s1");
  ASSERT_TRUE(st.is_ok()) << st.status().message();
  EXPECT_EQ(st->name, "snapshots/s1");
  EXPECT_EQ(st->size, 5u);
  EXPECT_EQ(b().stat("snapshots/nope").status().code(), ErrorCode::kNotFound);
  // A "directory" is not an object.
  EXPECT_EQ(b().stat("snapshots").status().code(), ErrorCode::kNotFound);
}

TEST_P(BackendConformance, MissingObjectIsNotFound) {
  auto r = b().read("index/missing");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(r.status().retryable());
  EXPECT_EQ(b().read("nodir/missing", 3, 4).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(b().remove("index/missing").code(), ErrorCode::kNotFound);
}

TEST_P(BackendConformance, ListByPrefix) {
  put("config", "c");
  put("keys/k1", "kk");
  put("data/ab/ab01", "111");
  put("data/ab/ab02", "2222");
  put("data/cd/cd01", "55555");
  put("index/i1", "i");
  using V = std::vector<std::string>;
  EXPECT_EQ(names("data/"), (V{"data/ab/ab01", "data/ab/ab02", "data/cd/cd01"}));
  EXPECT_EQ(names("data/ab/"), (V{"data/ab/ab01", "data/ab/ab02"}));
  EXPECT_EQ(names("data/a"), (V{"data/ab/ab01", "data/ab/ab02"}));
  EXPECT_EQ(names("data/ab/ab02"), (V{"data/ab/ab02"}));
  EXPECT_EQ(names("dat"), (V{"data/ab/ab01", "data/ab/ab02", "data/cd/cd01"}));
  EXPECT_EQ(names(""), (V{"config", "data/ab/ab01", "data/ab/ab02", "data/cd/cd01", "index/i1", "keys/k1"}));
  EXPECT_EQ(names("snapshots/"), V{});
  EXPECT_EQ(names("data/zz/"), V{});
  auto listed = b().list("data/cd/");
  ASSERT_TRUE(listed.is_ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].size, 5u);
}

TEST_P(BackendConformance, Remove) {
  put("locks/l1", "lock");
  put("locks/l2", "lock");
  ASSERT_TRUE(b().remove("locks/l1").is_ok());
  EXPECT_EQ(b().read("locks/l1").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(b().stat("locks/l1").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(names("locks/"), std::vector<std::string>{"locks/l2"});
  EXPECT_EQ(b().remove("locks/l1").code(), ErrorCode::kNotFound);
}

TEST_P(BackendConformance, WriteReplacesWhole) {
  put("obj", std::string(1000, 'a'));
  put("obj", "short");
  EXPECT_EQ(get("obj"), "short");
  EXPECT_EQ(b().stat("obj")->size, 5u);
}

TEST_P(BackendConformance, CreateOnNonEmptyFails) {
  put("config", "c");
  Status s = b().create();
  EXPECT_EQ(s.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(s.message(), b().location() + " is not empty");
}

TEST_P(BackendConformance, ListShowsOnlyWrittenObjects) {
  for (int i = 0; i < 20; ++i) put("data/0" + std::to_string(i % 3) + "/obj" + std::to_string(i), "x");
  EXPECT_EQ(names("").size(), 20u);
  for (const auto& n : names("")) EXPECT_EQ(n.find(".tmp"), std::string::npos) << n;
}

TEST_P(BackendConformance, InvalidNamesAreRejected) {
  std::vector<std::string> accepted;
  for (const char* name : {"", "/abs", "trailing/", "a//b", "../x", "a/../b", "./x", "a/./b", "..", ".tmp-foo",
                           "data/.tmp-1234"}) {
    Status s = b().write(name, as_bytes("x"));
    if (s.code() != ErrorCode::kInvalidArgument) {
      accepted.push_back(name);
      continue;
    }
    EXPECT_EQ(s.message(), std::string("invalid object name \"") + name + "\"");
  }
  EXPECT_EQ(accepted, std::vector<std::string>{}) << "names accepted by write()";
}

// Names that are invalid for write() must not reach outside the store on
// read() or stat() either.
TEST_P(BackendConformance, ReadDoesNotEscapeTheStore) {
  std::string outside = harness_->plant_outside("secret");
  if (outside.empty()) GTEST_SKIP() << "the backend has nothing outside its store";
  auto r = b().read(outside);
  EXPECT_FALSE(r.is_ok()) << "read(\"" << outside << "\") returned \"" << (r.is_ok() ? to_string(*r) : "") << "\"";
  EXPECT_FALSE(b().stat(outside).is_ok());
  EXPECT_EQ(names("../"), std::vector<std::string>{}) << "list() must not show objects outside the store";
}

TEST_P(BackendConformance, ConcurrentWritesOfDistinctObjects) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        std::string name = "data/" + std::to_string(i % 5) + "0/t" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(b().write(name, as_bytes(name)).is_ok()) << name;
      }
    });
  for (auto& th : threads) th.join();
  auto all = names("data/");
  ASSERT_EQ(all.size(), 100u);
  for (const auto& n : all) EXPECT_EQ(get(n), n);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendConformance,
                         ::testing::Values(BackendKind{"Mem", [] { return std::unique_ptr<Harness>(new MemHarness()); }},
                                           BackendKind{"Local", [] {
                                                         return std::unique_ptr<Harness>(new LocalHarness());
                                                       }},
                                           BackendKind{"S3", [] { return S3Harness::make(); }},
                                           BackendKind{"Azure", [] { return AzureHarness::make(); }}),
                         print_kind);

// ------------------------------------------------------- local specifics

TEST(LocalBackend, WriteLeavesNoTemporaryFiles) {
  TempDir dir;
  LocalBackend b(dir / "repo");
  ASSERT_TRUE(b.create().is_ok());
  ASSERT_TRUE(b.write("config", as_bytes("c")).is_ok());
  ASSERT_TRUE(b.write("data/ab/ab01", as_bytes("pack")).is_ok());
  EXPECT_EQ(lifeboat::testing::dir_entries(dir / "repo"), (std::vector<std::string>{"config", "data"}));
  EXPECT_EQ(lifeboat::testing::dir_entries(dir / "repo/data/ab"), std::vector<std::string>{"ab01"});
}

// A write interrupted by a crash leaves a hidden temporary; list() must not
// show it as an object.
TEST(LocalBackend, ListSkipsLeftoverTemporaries) {
  TempDir dir;
  LocalBackend b(dir / "repo");
  ASSERT_TRUE(b.create().is_ok());
  ASSERT_TRUE(b.write("data/ab/ab01", as_bytes("pack")).is_ok());
  lifeboat::testing::write_file(dir / "repo/.tmp-0123456789abcdef", "half");
  lifeboat::testing::write_file(dir / "repo/data/ab/.tmp-0123456789abcdef", "half");
  auto all = b.list("");
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "data/ab/ab01");
}

TEST(LocalBackend, CreateMakesMissingParents) {
  TempDir dir;
  LocalBackend b(dir / "a/b/c/");
  EXPECT_EQ(b.location(), dir / "a/b/c");
  ASSERT_TRUE(b.create().is_ok());
  struct stat st;
  ASSERT_EQ(::stat((dir / "a/b/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(b.create().is_ok());  // empty: fine again
}

TEST(LocalBackend, CreateOnAFileFails) {
  TempDir dir;
  lifeboat::testing::write_file(dir / "file", "x");
  Status s = LocalBackend(dir / "file").create();
  EXPECT_EQ(s.code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(s.message(), dir / "file" + " exists and is not a directory");
}

TEST(LocalBackend, WriteWithoutRootIsNoRepository) {
  TempDir dir;
  LocalBackend b(dir / "gone");
  Status s = b.write("config", as_bytes("c"));
  EXPECT_EQ(s.code(), ErrorCode::kNoRepository);
  EXPECT_EQ(s.message(), "repository directory " + dir / "gone" + " is missing");
  Status nested = b.write("data/ab/ab01", as_bytes("c"));
  EXPECT_EQ(nested.code(), ErrorCode::kNoRepository);
}

TEST(LocalBackend, ObjectsAreOwnerOnly) {
  TempDir dir;
  LocalBackend b(dir / "repo");
  ASSERT_TRUE(b.create().is_ok());
  ASSERT_TRUE(b.write("keys/k1", as_bytes("secret")).is_ok());
  struct stat st;
  ASSERT_EQ(::stat((dir / "repo/keys/k1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(MemBackend, CorruptFlipsStoredBytes) {
  MemBackend b;
  ASSERT_TRUE(b.write("obj", as_bytes("abc")).is_ok());
  b.corrupt("obj", 1, 0x20);
  EXPECT_EQ(to_string(*b.read("obj", 0, kToEnd)), "aBc");
}

}  // namespace
}  // namespace lifeboat::storage
