#include "repo/tree.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "unit/test_util.h"
#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

Id filled(uint8_t b) {
  Id id;
  id.bytes.fill(b);
  return id;
}

Node full_file() {
  Node n;
  n.name = "odd\xff\xfe name\nwith newline";
  n.type = NodeType::kFile;
  n.mode = 04755;
  n.uid = 1000;
  n.gid = 4294967295u;
  n.user = "alice";
  n.group = "staff\xc3\xa9";
  n.size = (uint64_t{1} << 40) + 5;
  n.mtime_ns = 1705329000'123456789;
  n.atime_ns = -1'000'000'001;  // before 1970
  n.ctime_ns = 1705329001'000000000;
  n.inode = 0xfffffffffffffff0ull;
  n.device = 2049;
  n.links = 3;
  n.content = {filled(1), filled(2), filled(3)};
  n.xattrs = {{"security.selinux", std::string("system_u\0", 9)},
              {"user.bin", std::string("\x00\xff\n", 3)},
              {"user.empty", ""}};
  n.sparse = true;
  return n;
}

Tree every_kind() {
  Tree t;
  Node dir;
  dir.name = "dir";
  dir.type = NodeType::kDir;
  dir.mode = 0755;
  dir.subtree = filled(9);
  Node link;
  link.name = "link\x80";
  link.type = NodeType::kSymlink;
  link.mode = 0777;
  link.link_target = "../target\nwith\xff odd bytes";
  Node blk;
  blk.name = "sda";
  blk.type = NodeType::kBlockDev;
  blk.rdev = (8u << 8) | 1;
  Node chr;
  chr.name = "tty";
  chr.type = NodeType::kCharDev;
  chr.rdev = 0x0504;
  Node fifo;
  fifo.name = "fifo";
  fifo.type = NodeType::kFifo;
  fifo.links = 0;
  Node sock;
  sock.name = "sock";
  sock.type = NodeType::kSocket;
  Node empty_file;
  empty_file.name = "empty";
  t.nodes = {dir, fifo, link, full_file(), blk, sock, chr, empty_file};
  std::sort(t.nodes.begin(), t.nodes.end(), [](const Node& a, const Node& b) { return a.name < b.name; });
  return t;
}

void expect_malformed(ByteSpan data, const std::string& what) {
  auto r = decode_tree(data);
  ASSERT_FALSE(r.is_ok()) << what;
  EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt) << what;
  EXPECT_EQ(r.status().message(), "tree is malformed") << what;
}

// Builds node bodies by hand, following docs/FORMAT.md.
void field_uint(Bytes& out, uint64_t tag, uint64_t v) {
  put_varint(out, tag << 1);
  put_varint(out, v);
}
void field_bytes(Bytes& out, uint64_t tag, std::string_view b) {
  put_varint(out, tag << 1 | 1);
  put_varint(out, b.size());
  append(out, b);
}
Bytes tree_of_bodies(const std::vector<Bytes>& bodies) {
  Bytes t = to_bytes("LBT1");
  put_varint(t, bodies.size());
  for (const auto& b : bodies) {
    put_varint(t, b.size());
    append(t, b);
  }
  return t;
}
Bytes minimal_body(std::string_view name, uint64_t type = 1) {
  Bytes b;
  field_bytes(b, 1, name);
  field_uint(b, 2, type);
  return b;
}

TEST(Tree, RoundTripEveryField) {
  Tree t = every_kind();
  auto back = decode_tree(encode_tree(t));
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  ASSERT_EQ(back->nodes.size(), t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) EXPECT_EQ(back->nodes[i], t.nodes[i]) << i;
}

TEST(Tree, EmptyTree) {
  Bytes b = encode_tree(Tree{});
  EXPECT_EQ(hex_encode(b), "4c42543100");
  auto back = decode_tree(b);
  ASSERT_TRUE(back.is_ok());
  EXPECT_TRUE(back->nodes.empty());
}

// Format bytes pinned from an independent encoder written from the grammar
// in docs/FORMAT.md: a file "a" and a directory "d" with default fields.
TEST(Tree, Golden) {
  Node a;
  a.name = "a";
  a.type = NodeType::kFile;
  a.mode = 0644;
  a.uid = 1000;
  a.gid = 100;
  a.size = 5;
  a.mtime_ns = 1;
  a.atime_ns = -1;
  a.ctime_ns = 2;
  a.content = {filled(0x11)};
  Node d;
  d.name = "d";
  d.type = NodeType::kDir;
  d.mode = 0755;
  d.subtree = filled(0x22);
  Tree t{{a, d}};
  EXPECT_EQ(hex_encode(encode_tree(t)),
            "4c4254310237030161040106a40308e8070a6410051202140116042320111111111111111111111111111111111111111111111"
            "111111111111111111134030164040206ed0308000a00120014001600252022222222222222222222222222222222222222222222"
            "22222222222222222222");
}

TEST(Tree, EncodingIsCanonical) {
  Tree a = every_kind(), b = every_kind();
  EXPECT_EQ(encode_tree(a), encode_tree(b));
  EXPECT_EQ(encode_tree(a), encode_tree(a));
  // Decoding and re-encoding gives the same bytes (so the same blob id).
  EXPECT_EQ(encode_tree(*decode_tree(encode_tree(a))), encode_tree(a));
  b.nodes[0].mtime_ns += 1;
  EXPECT_NE(encode_tree(a), encode_tree(b));
}

TEST(Tree, UnknownFieldsAreSkipped) {
  Bytes body = minimal_body("new-writer");
  field_uint(body, 3, 0640);
  field_uint(body, 30, 12345);             // an unknown varint field
  field_bytes(body, 31, "future bytes");  // an unknown bytes field
  field_uint(body, 1000, 1);
  auto r = decode_tree(tree_of_bodies({body}));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->nodes.size(), 1u);
  EXPECT_EQ(r->nodes[0].name, "new-writer");
  EXPECT_EQ(r->nodes[0].type, NodeType::kFile);
  EXPECT_EQ(r->nodes[0].mode, 0640u);
}

TEST(Tree, UnsortedOrDuplicateNamesAreRejected) {
  expect_malformed(tree_of_bodies({minimal_body("b"), minimal_body("a")}), "unsorted");
  expect_malformed(tree_of_bodies({minimal_body("a"), minimal_body("a")}), "duplicate");
  // Bytewise order: "B" (0x42) < "a" (0x61), "\xff" after everything.
  EXPECT_TRUE(decode_tree(tree_of_bodies({minimal_body("B"), minimal_body("a"), minimal_body("\xff")})).is_ok());
}

TEST(Tree, NameAndTypeAreRequired) {
  Bytes no_name;
  field_uint(no_name, 2, 1);
  expect_malformed(tree_of_bodies({no_name}), "no name");
  Bytes no_type;
  field_bytes(no_type, 1, "x");
  expect_malformed(tree_of_bodies({no_type}), "no type");
  expect_malformed(tree_of_bodies({minimal_body("x", 0)}), "type 0");
  expect_malformed(tree_of_bodies({minimal_body("x", 8)}), "type 8");
}

TEST(Tree, BadIdFieldsAreRejected) {
  Bytes content = minimal_body("f");
  field_bytes(content, 17, std::string(33, 'x'));
  expect_malformed(tree_of_bodies({content}), "content not a multiple of 32");
  Bytes subtree = minimal_body("d", 2);
  field_bytes(subtree, 18, std::string(31, 'x'));
  expect_malformed(tree_of_bodies({subtree}), "short subtree id");
}

TEST(Tree, TruncatedOrExtendedInputIsRejected) {
  Bytes good = encode_tree(every_kind());
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = decode_tree(ByteSpan(good).first(n));
    ASSERT_FALSE(r.is_ok()) << "truncated to " << n;
    ASSERT_EQ(r.status().code(), ErrorCode::kCorrupt);
  }
  Bytes trailing = good;
  trailing.push_back(0);
  expect_malformed(trailing, "trailing byte");
  Bytes magic = good;
  magic[0] = 'X';
  expect_malformed(magic, "magic");
  Bytes count = to_bytes("LBT1");
  put_varint(count, uint64_t{1} << 40);
  expect_malformed(count, "huge node count");
}

TEST(NodeType, Names) {
  EXPECT_STREQ(node_type_name(NodeType::kFile), "file");
  EXPECT_STREQ(node_type_name(NodeType::kDir), "dir");
  EXPECT_STREQ(node_type_name(NodeType::kSymlink), "symlink");
  EXPECT_STREQ(node_type_name(NodeType::kSocket), "socket");
}

}  // namespace
}  // namespace lifeboat::repo
