#include "ops/ls.h"

#include <gtest/gtest.h>

#include "ops/find.h"
#include "unit/ops_fixture.h"

namespace lifeboat::ops {
namespace {

using lifeboat::testing::OpsTest;

class LsFind : public OpsTest {
 protected:
  std::vector<std::string> list(const repo::Snapshot& s, const std::string& path, bool recursive) {
    std::vector<std::string> out;
    Status st = ls(*repo_, s, {.path = path, .recursive = recursive},
                   [&](const std::string& p, const repo::Node&) { out.push_back(p); });
    EXPECT_TRUE(st.is_ok()) << st.message();
    return out;
  }
  std::vector<std::string> found(FindOptions o) {
    std::vector<std::string> out;
    Status st = find(*repo_, o, [&](const repo::Snapshot&, const std::string& p, const repo::Node&) {
      if (p.starts_with(src_)) out.push_back(p);
    });
    EXPECT_TRUE(st.is_ok()) << st.message();
    return out;
  }
};

TEST_F(LsFind, LsNonRecursiveListsTheEntryAndItsChildren) {
  auto b = backup();
  EXPECT_EQ(list(b.snapshot, src_ + "/dir", false),
            (std::vector<std::string>{src_ + "/dir", src_ + "/dir/deeper", src_ + "/dir/empty.txt",
                                      src_ + "/dir/nested.txt"}));
  EXPECT_EQ(list(b.snapshot, src_ + "/dir/", true),
            (std::vector<std::string>{src_ + "/dir", src_ + "/dir/deeper", src_ + "/dir/deeper/x.txt",
                                      src_ + "/dir/empty.txt", src_ + "/dir/nested.txt"}));
  EXPECT_EQ(list(b.snapshot, src_ + "/a.txt", false), std::vector<std::string>{src_ + "/a.txt"});
}

TEST_F(LsFind, LsOfAMissingPathIsNotFound) {
  auto b = backup();
  Status st = ls(*repo_, b.snapshot, {.path = src_ + "/nope"}, [](const std::string&, const repo::Node&) {});
  EXPECT_EQ(st.code(), ErrorCode::kNotFound);
  EXPECT_EQ(st.message(), src_ + "/nope is not in snapshot " + b.snapshot.id.short_hex());
}

TEST_F(LsFind, FindByNameOrPath) {
  backup();
  FindOptions by_name;
  by_name.pattern = "*.TXT";
  EXPECT_EQ(found(by_name), std::vector<std::string>{});
  by_name.ignore_case = true;
  EXPECT_EQ(found(by_name), (std::vector<std::string>{src_ + "/a.txt", src_ + "/dir/deeper/x.txt",
                                                      src_ + "/dir/empty.txt", src_ + "/dir/nested.txt"}));
  FindOptions by_path;
  by_path.pattern = src_ + "/dir/*";  // "*" stays within one path component
  EXPECT_EQ(found(by_path), (std::vector<std::string>{src_ + "/dir/deeper", src_ + "/dir/empty.txt",
                                                      src_ + "/dir/nested.txt"}));
  by_path.pattern = src_ + "/*/*/x.txt";
  EXPECT_EQ(found(by_path), std::vector<std::string>{src_ + "/dir/deeper/x.txt"});
  FindOptions empty;
  Status st = find(*repo_, empty, [](const repo::Snapshot&, const std::string&, const repo::Node&) {});
  EXPECT_EQ(st.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "empty pattern: give a name or glob");
}

TEST_F(LsFind, FindSearchesEverySnapshot) {
  backup();
  lifeboat::testing::write_file(src_ + "/later.txt", "later");
  backup();
  FindOptions o;
  o.pattern = "later.txt";
  std::vector<std::string> hits;
  ASSERT_TRUE(find(*repo_, o, [&](const repo::Snapshot& s, const std::string& p, const repo::Node&) {
                hits.push_back(s.id.short_hex() + " " + p);
              }).is_ok());
  EXPECT_EQ(hits.size(), 1u);
  o.pattern = "a.txt";
  hits.clear();
  ASSERT_TRUE(find(*repo_, o, [&](const repo::Snapshot&, const std::string& p, const repo::Node&) {
                hits.push_back(p);
              }).is_ok());
  EXPECT_EQ(hits.size(), 2u);
}

}  // namespace
}  // namespace lifeboat::ops
