#include "sources/pg/dump_feed.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "unit/test_util.h"

namespace lifeboat::sources::pg {
namespace {

class FifoFeederTest : public ::testing::Test {
 protected:
  void SetUp() override { ::signal(SIGPIPE, SIG_IGN); }  // as the CLI does
  std::map<std::string, std::string> content_ = {
      {"toc.dat", "toc"}, {"1.dat", std::string(1 << 20, 'a')}, {"2.dat", "two"}, {"3.dat", "never read"}};
  FifoFeeder::WriteFn write_ = [this](const std::string& name, const FifoFeeder::Sink& sink) -> Status {
    const std::string& c = content_.at(name);
    for (size_t i = 0; i < c.size(); i += 4096) {
      std::string_view piece = std::string_view(c).substr(i, 4096);
      LB_RETURN_IF_ERROR(sink(ByteSpan(reinterpret_cast<const uint8_t*>(piece.data()), piece.size())));
    }
    return Status::ok();
  };
};

std::string read_some(const std::string& path, size_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY);
  EXPECT_GE(fd, 0) << path;
  std::string out;
  char buf[8192];
  while (out.size() < limit) {
    ssize_t n = ::read(fd, buf, std::min(sizeof buf, limit - out.size()));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST_F(FifoFeederTest, ServesPipesInAnyOrderAndRegularFilesUpFront) {
  testing::TempDir dir;
  auto f = FifoFeeder::create(dir.path(), {{"toc.dat", true}, {"1.dat"}, {"2.dat"}, {"3.dat"}}, write_);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  struct stat st;
  ASSERT_EQ(::stat((dir / "toc.dat").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  ASSERT_EQ(::stat((dir / "1.dat").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  (*f)->start();
  std::string two, one, toc;
  std::thread reader([&] {
    toc = read_some(dir / "toc.dat", 100);
    two = read_some(dir / "2.dat", 100);
    one = read_some(dir / "1.dat", 2 << 20);
  });
  reader.join();
  EXPECT_TRUE((*f)->finish().is_ok());
  EXPECT_EQ(toc, "toc");
  EXPECT_EQ(two, "two");
  EXPECT_TRUE(one == content_["1.dat"]);
  EXPECT_EQ((*f)->bytes_written(), 3u + (1u << 20));
}

TEST_F(FifoFeederTest, AReaderThatStopsEarlyIsNotAnError) {
  testing::TempDir dir;
  auto f = FifoFeeder::create(dir.path(), {{"1.dat"}}, write_);
  ASSERT_TRUE(f.is_ok());
  (*f)->start();
  std::string head = read_some(dir / "1.dat", 10);
  EXPECT_EQ(head, "aaaaaaaaaa");
  EXPECT_TRUE((*f)->finish().is_ok());
}

TEST_F(FifoFeederTest, AWriteErrorIsReported) {
  testing::TempDir dir;
  auto failing = [](const std::string&, const FifoFeeder::Sink&) -> Status {
    return Status(ErrorCode::kCorrupt, "blob 1234 is damaged");
  };
  auto f = FifoFeeder::create(dir.path(), {{"1.dat"}}, failing);
  ASSERT_TRUE(f.is_ok());
  (*f)->start();
  EXPECT_EQ(read_some(dir / "1.dat", 10), "");
  Status s = (*f)->finish();
  EXPECT_EQ(s.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(s.message(), "blob 1234 is damaged");
}

}  // namespace
}  // namespace lifeboat::sources::pg
