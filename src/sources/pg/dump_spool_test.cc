#include "sources/pg/dump_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "unit/test_util.h"

namespace lifeboat::sources::pg {
namespace {

std::string read_all(SpoolFollower::Reader& r) {
  std::string out;
  std::vector<uint8_t> buf(70000);
  for (;;) {
    auto n = r.read(buf.data(), buf.size());
    EXPECT_TRUE(n.is_ok()) << n.status().to_string();
    if (!n.is_ok() || *n == 0) break;
    out.append(reinterpret_cast<char*>(buf.data()), *n);
  }
  return out;
}

void append(int fd, std::string_view data) {
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
}

TEST(SpoolFollower, HandsOutFilesAndReadsThemAsTheyGrow) {
  testing::TempDir dir;
  auto f = SpoolFollower::open(dir.path());
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  Bytes a = testing::splitmix_bytes(1, 3 << 20);
  std::string a_text(a.begin(), a.end());
  std::thread writer([&] {
    int fd = ::open((dir / "1.dat").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    for (size_t i = 0; i < a_text.size(); i += 65536) append(fd, std::string_view(a_text).substr(i, 65536));
    ::close(fd);
    int fd2 = ::open((dir / "toc.dat").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    append(fd2, "table of contents");
    ::close(fd2);
    (*f)->writer_done(Status::ok());
  });
  std::vector<std::pair<std::string, std::string>> got;
  for (;;) {
    auto next = (*f)->next_file();
    ASSERT_TRUE(next.is_ok());
    if (!*next) break;
    auto r = (*f)->reader(**next);
    ASSERT_TRUE(r.is_ok());
    got.emplace_back(**next, read_all(**r));
  }
  writer.join();
  // Which file is handed out first depends on when the reader looks (both
  // may be complete by then); each is handed out once, whole.
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].first, "1.dat");
  EXPECT_TRUE(got[0].second == a_text);
  EXPECT_EQ(got[1].first, "toc.dat");
  EXPECT_TRUE(got[1].second == "table of contents") << got[1].second.size() << " bytes";
  // Files read to their end are gone.
  EXPECT_TRUE(testing::dir_entries(dir.path()).empty());
}

TEST(SpoolFollower, ReleasesWhatWasReadWhileTheFileIsStillWritten) {
  testing::TempDir dir;
  auto f = SpoolFollower::open(dir.path());
  ASSERT_TRUE(f.is_ok());
  std::string path = dir / "big.dat";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  std::string chunk(1 << 20, 'x');
  for (int i = 0; i < 4; ++i) append(fd, chunk);
  auto next = (*f)->next_file();
  ASSERT_TRUE(next.is_ok() && *next);
  auto r = (*f)->reader(**next);
  ASSERT_TRUE(r.is_ok());
  std::vector<uint8_t> buf(1 << 20);
  size_t total = 0;
  while (total < (4u << 20)) {
    auto n = (*r)->read(buf.data(), buf.size());
    ASSERT_TRUE(n.is_ok());
    total += *n;
  }
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4 << 20);  // the writer appends where it was
  if ((*f)->punching()) {
    EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 1u << 20) << "read data was not released";
  } else {
    GTEST_LOG_(INFO) << "this file system cannot punch holes; release-while-writing not tested";
  }
  append(fd, "tail");
  ::close(fd);
  auto n = (*r)->read(buf.data(), buf.size());
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(*n, 4u);
  n = (*r)->read(buf.data(), buf.size());
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(*n, 0u);
  (*f)->writer_done(Status::ok());
}

TEST(SpoolFollower, WriterFailureReachesAWaitingReader) {
  testing::TempDir dir;
  auto f = SpoolFollower::open(dir.path());
  ASSERT_TRUE(f.is_ok());
  int fd = ::open((dir / "1.dat").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  append(fd, "partial");
  auto next = (*f)->next_file();
  ASSERT_TRUE(next.is_ok() && *next);
  auto r = (*f)->reader(**next);
  ASSERT_TRUE(r.is_ok());
  uint8_t buf[64];
  auto n = (*r)->read(buf, sizeof buf);
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(*n, 7u);
  std::thread failer([&] { (*f)->writer_done(Status(ErrorCode::kIo, "pg_dump failed")); });
  n = (*r)->read(buf, sizeof buf);  // waits until the writer ends
  failer.join();
  ::close(fd);
  ASSERT_FALSE(n.is_ok());
  EXPECT_EQ(n.status().message(), "pg_dump failed");
}

TEST(SpoolFollower, AShrinkingFileIsAnError) {
  testing::TempDir dir;
  auto f = SpoolFollower::open(dir.path());
  ASSERT_TRUE(f.is_ok());
  int fd = ::open((dir / "1.dat").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  append(fd, "0123456789");
  auto next = (*f)->next_file();
  auto r = (*f)->reader(**next);
  ASSERT_TRUE(r.is_ok());
  uint8_t buf[64];
  ASSERT_TRUE((*r)->read(buf, sizeof buf).is_ok());
  ASSERT_EQ(::ftruncate(fd, 2), 0);
  ::close(fd);
  auto n = (*r)->read(buf, sizeof buf);
  ASSERT_FALSE(n.is_ok());
  EXPECT_EQ(n.status().code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace lifeboat::sources::pg
