// Trees: one blob per directory, listing its entries sorted by name.
//
// The encoding is canonical (the same directory always gives the same bytes,
// hence the same blob id, so an unchanged directory dedups), binary and
// extensible (docs/FORMAT.md, "trees"):
//   tree  := "LBT1" varint(n) node{n}          nodes sorted by name (bytes)
//   node  := varint(len) field*                 fields in ascending tag order
//   field := varint(tag << 1 | kind) value      kind 0: varint, 1: length-prefixed bytes
// Unknown tags are skipped, so a newer writer's fields do not break a reader.
// Names, link targets and xattr names are arbitrary bytes (not necessarily
// UTF-8, may contain newlines).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "repo/id.h"
#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::repo {

enum class NodeType : uint8_t {
  kFile = 1,
  kDir = 2,
  kSymlink = 3,
  kFifo = 4,
  kCharDev = 5,
  kBlockDev = 6,
  kSocket = 7,
};
const char* node_type_name(NodeType t);

struct Xattr {
  std::string name;
  std::string value;
  bool operator==(const Xattr&) const = default;
};

struct Node {
  std::string name;
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (st_mode & 07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string user;   // owner name when it resolved at backup time
  std::string group;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t atime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  uint64_t device = 0;  // st_dev, with inode identifies hard links
  uint64_t links = 1;   // st_nlink
  uint64_t rdev = 0;    // for device nodes
  std::string link_target;
  std::vector<Id> content;       // data blobs of a regular file, in order
  std::optional<Id> subtree;     // tree blob of a directory
  std::vector<Xattr> xattrs;     // sorted by name; includes system.posix_acl_*
  bool sparse = false;           // the file had holes; restore keeps zero runs as holes

  bool operator==(const Node&) const = default;
};

struct Tree {
  std::vector<Node> nodes;  // sorted by name, names unique
};

Bytes encode_tree(const Tree& tree);
Result<Tree> decode_tree(ByteSpan data);

}  // namespace lifeboat::repo
