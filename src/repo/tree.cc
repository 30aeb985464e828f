#include "repo/tree.h"

#include "util/encoding.h"

namespace lifeboat::repo {
namespace {

constexpr std::string_view kTreeMagic = "LBT1";

enum Tag : uint32_t {
  kName = 1,
  kType = 2,
  kMode = 3,
  kUid = 4,
  kGid = 5,
  kUser = 6,
  kGroup = 7,
  kSize = 8,
  kMtime = 9,
  kAtime = 10,
  kCtime = 11,
  kInode = 12,
  kDevice = 13,
  kLinks = 14,
  kRdev = 15,
  kLinkTarget = 16,
  kContent = 17,  // concatenated 32-byte ids
  kSubtree = 18,
  kXattr = 19,  // repeated: varint(name_len) name value
  kSparse = 20,
};

void put_uint(Bytes& out, uint32_t tag, uint64_t v) {
  put_varint(out, uint64_t{tag} << 1);
  put_varint(out, v);
}
void put_bytes(Bytes& out, uint32_t tag, ByteSpan b) {
  put_varint(out, uint64_t{tag} << 1 | 1);
  put_varint(out, b.size());
  append(out, b);
}

void encode_node(const Node& n, Bytes& out) {
  thread_local Bytes body;
  body.clear();
  put_bytes(body, kName, as_bytes(n.name));
  put_uint(body, kType, static_cast<uint64_t>(n.type));
  put_uint(body, kMode, n.mode);
  put_uint(body, kUid, n.uid);
  put_uint(body, kGid, n.gid);
  if (!n.user.empty()) put_bytes(body, kUser, as_bytes(n.user));
  if (!n.group.empty()) put_bytes(body, kGroup, as_bytes(n.group));
  if (n.size) put_uint(body, kSize, n.size);
  put_uint(body, kMtime, zigzag_encode(n.mtime_ns));
  put_uint(body, kAtime, zigzag_encode(n.atime_ns));
  put_uint(body, kCtime, zigzag_encode(n.ctime_ns));
  if (n.inode) put_uint(body, kInode, n.inode);
  if (n.device) put_uint(body, kDevice, n.device);
  if (n.links != 1) put_uint(body, kLinks, n.links);
  if (n.rdev) put_uint(body, kRdev, n.rdev);
  if (!n.link_target.empty()) put_bytes(body, kLinkTarget, as_bytes(n.link_target));
  if (!n.content.empty()) {
    put_varint(body, uint64_t{kContent} << 1 | 1);
    put_varint(body, n.content.size() * 32);
    for (const Id& id : n.content) append(body, id.span());
  }
  if (n.subtree) put_bytes(body, kSubtree, n.subtree->span());
  for (const Xattr& x : n.xattrs) {
    Bytes v;
    put_varint(v, x.name.size());
    append(v, x.name);
    append(v, x.value);
    put_bytes(body, kXattr, v);
  }
  if (n.sparse) put_uint(body, kSparse, 1);
  put_varint(out, body.size());
  append(out, body);
}

bool decode_node(ByteSpan data, Node& n) {
  ByteReader r(data);
  bool have_name = false, have_type = false;
  while (!r.done()) {
    uint64_t key;
    if (!r.varint(key)) return false;
    uint32_t tag = static_cast<uint32_t>(key >> 1);
    uint64_t v = 0;
    ByteSpan b;
    if (key & 1) {
      if (!r.length_prefixed(b)) return false;
    } else {
      if (!r.varint(v)) return false;
    }
    switch (tag) {
      case kName: n.name = to_string(b); have_name = true; break;
      case kType:
        if (v < 1 || v > 7) return false;
        n.type = static_cast<NodeType>(v);
        have_type = true;
        break;
      case kMode: n.mode = static_cast<uint32_t>(v); break;
      case kUid: n.uid = static_cast<uint32_t>(v); break;
      case kGid: n.gid = static_cast<uint32_t>(v); break;
      case kUser: n.user = to_string(b); break;
      case kGroup: n.group = to_string(b); break;
      case kSize: n.size = v; break;
      case kMtime: n.mtime_ns = zigzag_decode(v); break;
      case kAtime: n.atime_ns = zigzag_decode(v); break;
      case kCtime: n.ctime_ns = zigzag_decode(v); break;
      case kInode: n.inode = v; break;
      case kDevice: n.device = v; break;
      case kLinks: n.links = v; break;
      case kRdev: n.rdev = v; break;
      case kLinkTarget: n.link_target = to_string(b); break;
      case kContent:
        if (b.size() % 32 != 0) return false;
        n.content.resize(b.size() / 32);
        for (size_t i = 0; i < n.content.size(); ++i) n.content[i] = Id::from_span(b.subspan(i * 32, 32));
        break;
      case kSubtree:
        if (b.size() != 32) return false;
        n.subtree = Id::from_span(b);
        break;
      case kXattr: {
        ByteReader xr(b);
        ByteSpan name;
        if (!xr.length_prefixed(name)) return false;
        ByteSpan value;
        if (!xr.bytes(xr.remaining(), value)) return false;
        n.xattrs.push_back({to_string(name), to_string(value)});
        break;
      }
      case kSparse: n.sparse = v != 0; break;
      default: break;  // a field from a newer writer
    }
  }
  return have_name && have_type;
}

}  // namespace

const char* node_type_name(NodeType t) {
  switch (t) {
    case NodeType::kFile: return "file";
    case NodeType::kDir: return "dir";
    case NodeType::kSymlink: return "symlink";
    case NodeType::kFifo: return "fifo";
    case NodeType::kCharDev: return "chardev";
    case NodeType::kBlockDev: return "blockdev";
    case NodeType::kSocket: return "socket";
  }
  return "unknown";
}

Bytes encode_tree(const Tree& tree) {
  Bytes out = to_bytes(kTreeMagic);
  put_varint(out, tree.nodes.size());
  for (const Node& n : tree.nodes) encode_node(n, out);
  return out;
}

Result<Tree> decode_tree(ByteSpan data) {
  auto bad = [] { return Status(ErrorCode::kCorrupt, "tree is malformed"); };
  ByteReader r(data);
  ByteSpan magic;
  uint64_t n;
  if (!r.bytes(4, magic) || as_string_view(magic) != kTreeMagic || !r.varint(n) || n > data.size()) return bad();
  Tree t;
  t.nodes.resize(static_cast<size_t>(n));
  for (auto& node : t.nodes) {
    ByteSpan body;
    if (!r.length_prefixed(body) || !decode_node(body, node)) return bad();
  }
  if (!r.done()) return bad();
  for (size_t i = 1; i < t.nodes.size(); ++i)
    if (!(t.nodes[i - 1].name < t.nodes[i].name)) return bad();
  return t;
}

}  // namespace lifeboat::repo
