// Reading and writing file-system metadata: stat fields, owner names,
// extended attributes (POSIX ACLs are the system.posix_acl_* attributes).
#pragma once

#include <sys/stat.h>

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "repo/tree.h"
#include "util/status.h"

namespace lifeboat::sources::fs {

// Resolves uid/gid to names once each. Thread-safe.
class OwnerNames {
 public:
  std::string user(uint32_t uid);
  std::string group(uint32_t gid);

 private:
  std::mutex mu_;
  std::unordered_map<uint32_t, std::string> users_, groups_;
};

repo::NodeType node_type_of(mode_t mode);

// Fills `node` (all but name, content and subtree) from `st` and the
// entry's extended attributes, read through `path` (not followed if it is a
// symlink). An xattr read failure other than "not supported" is returned,
// with the node otherwise filled.
Status fill_node(const std::string& path, const struct stat& st, OwnerNames& names, repo::Node& node);

// Reads all extended attributes of `path` (not following symlinks), sorted.
Status read_xattrs(const std::string& path, std::vector<repo::Xattr>& out);

// True if the file's allocated blocks cover less than its size (holes).
bool looks_sparse(const struct stat& st);

struct MetadataOptions {
  bool owner = true;    // chown (only root can give files away)
  bool xattrs = true;
  bool times = true;
};

// Applies owner, xattrs, permissions and times of `node` to `path`, in that
// order (chown clears setuid bits and security.capability; ACLs and chmod
// must agree; times last). Returns a warning-level error for the first
// failing step; the rest is still attempted.
Status apply_metadata(const std::string& path, const repo::Node& node, const MetadataOptions& options);

// Same for an open regular file (saves the path lookups of a restore).
Status apply_metadata_fd(int fd, const std::string& path, const repo::Node& node, const MetadataOptions& options);

}  // namespace lifeboat::sources::fs
