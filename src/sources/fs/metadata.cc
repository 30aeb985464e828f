#include "sources/fs/metadata.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "util/posix_error.h"

namespace lifeboat::sources::fs {

std::string OwnerNames::user(uint32_t uid) {
  std::lock_guard lock(mu_);
  auto it = users_.find(uid);
  if (it != users_.end()) return it->second;
  struct passwd pw, *result = nullptr;
  char buf[4096];
  std::string name;
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &result) == 0 && result) name = pw.pw_name;
  users_.emplace(uid, name);
  return name;
}

std::string OwnerNames::group(uint32_t gid) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(gid);
  if (it != groups_.end()) return it->second;
  struct group gr, *result = nullptr;
  char buf[4096];
  std::string name;
  if (getgrgid_r(gid, &gr, buf, sizeof buf, &result) == 0 && result) name = gr.gr_name;
  groups_.emplace(gid, name);
  return name;
}

repo::NodeType node_type_of(mode_t mode) {
  if (S_ISDIR(mode)) return repo::NodeType::kDir;
  if (S_ISLNK(mode)) return repo::NodeType::kSymlink;
  if (S_ISFIFO(mode)) return repo::NodeType::kFifo;
  if (S_ISCHR(mode)) return repo::NodeType::kCharDev;
  if (S_ISBLK(mode)) return repo::NodeType::kBlockDev;
  if (S_ISSOCK(mode)) return repo::NodeType::kSocket;
  return repo::NodeType::kFile;
}

bool looks_sparse(const struct stat& st) {
  return S_ISREG(st.st_mode) && st.st_size > 0 && static_cast<uint64_t>(st.st_blocks) * 512 < static_cast<uint64_t>(st.st_size);
}

Status read_xattrs(const std::string& path, std::vector<repo::Xattr>& out) {
  out.clear();
  std::string names(256, '\0');
  ssize_t n;
  for (;;) {
    n = ::llistxattr(path.c_str(), names.data(), names.size());
    if (n >= 0) break;
    if (errno == ERANGE) {
      ssize_t need = ::llistxattr(path.c_str(), nullptr, 0);
      if (need < 0) return posix_error(errno, "unable to list extended attributes of " + path);
      names.resize(static_cast<size_t>(need) + 1);
      continue;
    }
    if (errno == ENOTSUP || errno == ENOSYS) return Status::ok();
    return posix_error(errno, "unable to list extended attributes of " + path);
  }
  names.resize(static_cast<size_t>(n));
  size_t pos = 0;
  while (pos < names.size()) {
    size_t end = names.find('\0', pos);
    if (end == std::string::npos) end = names.size();
    std::string name = names.substr(pos, end - pos);
    pos = end + 1;
    if (name.empty()) continue;
    std::string value(64, '\0');
    for (;;) {
      ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (v >= 0) {
        value.resize(static_cast<size_t>(v));
        out.push_back({name, value});
        break;
      }
      if (errno == ERANGE) {
        ssize_t need = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
        if (need < 0) return posix_error(errno, "unable to read extended attribute " + name + " of " + path);
        value.resize(static_cast<size_t>(need) + 1);
        continue;
      }
      if (errno == ENODATA) break;  // removed meanwhile
      return posix_error(errno, "unable to read extended attribute " + name + " of " + path);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return Status::ok();
}

Status fill_node(const std::string& path, const struct stat& st, OwnerNames& names, repo::Node& node) {
  node.type = node_type_of(st.st_mode);
  node.mode = st.st_mode & 07777;
  node.uid = st.st_uid;
  node.gid = st.st_gid;
  node.user = names.user(st.st_uid);
  node.group = names.group(st.st_gid);
  node.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  node.atime_ns = int64_t{st.st_atim.tv_sec} * 1'000'000'000 + st.st_atim.tv_nsec;
  node.ctime_ns = int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec;
  node.inode = st.st_ino;
  node.device = st.st_dev;
  node.links = st.st_nlink;
  node.size = node.type == repo::NodeType::kFile ? static_cast<uint64_t>(st.st_size) : 0;
  if (node.type == repo::NodeType::kCharDev || node.type == repo::NodeType::kBlockDev) node.rdev = st.st_rdev;
  node.sparse = looks_sparse(st);
  if (node.type == repo::NodeType::kSymlink) {
    std::string target(static_cast<size_t>(std::max<off_t>(st.st_size, 64)) + 1, '\0');
    for (;;) {
      ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return posix_error(errno, "unable to read symlink " + path);
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        break;
      }
      target.resize(target.size() * 2);
    }
    node.link_target = std::move(target);
    // Linux has no O_NOATIME for readlink(): reading the target may have
    // just set the link's atime (relatime does so once). Record the atime the
    // link has now, so a restore reproduces the source as the backup left
    // it and the next backup sees the same metadata.
    struct stat after;
    if (::lstat(path.c_str(), &after) == 0 && S_ISLNK(after.st_mode))
      node.atime_ns = int64_t{after.st_atim.tv_sec} * 1'000'000'000 + after.st_atim.tv_nsec;
  }
  return read_xattrs(path, node.xattrs);
}

namespace {
struct timespec to_timespec(int64_t ns) {
  struct timespec t;
  t.tv_sec = ns / 1'000'000'000;
  t.tv_nsec = ns % 1'000'000'000;
  if (t.tv_nsec < 0) {  // times before 1970
    t.tv_nsec += 1'000'000'000;
    t.tv_sec -= 1;
  }
  return t;
}
}  // namespace

Status apply_metadata(const std::string& path, const repo::Node& node, const MetadataOptions& options) {
  Status first;
  auto note = [&](Status s) {
    if (first.is_ok() && !s.is_ok()) first = std::move(s);
  };
  bool is_link = node.type == repo::NodeType::kSymlink;
  if (options.owner && ::lchown(path.c_str(), node.uid, node.gid) != 0)
    note(posix_error(errno, "unable to set owner of " + path));
  if (options.xattrs) {
    for (const auto& x : node.xattrs) {
      if (::lsetxattr(path.c_str(), x.name.c_str(), x.value.data(), x.value.size(), 0) != 0) {
        // Non-root cannot set trusted.* / security.*; the file system may lack xattrs.
        if (errno == EPERM && !options.owner) continue;
        note(posix_error(errno, "unable to set extended attribute " + x.name + " on " + path));
      }
    }
  }
  if (!is_link && ::fchmodat(AT_FDCWD, path.c_str(), node.mode & 07777, 0) != 0)
    note(posix_error(errno, "unable to set permissions of " + path));
  if (options.times) {
    struct timespec ts[2] = {to_timespec(node.atime_ns), to_timespec(node.mtime_ns)};
    if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
      note(posix_error(errno, "unable to set times of " + path));
  }
  return first;
}

Status apply_metadata_fd(int fd, const std::string& path, const repo::Node& node, const MetadataOptions& options) {
  Status first;
  auto note = [&](Status s) {
    if (first.is_ok() && !s.is_ok()) first = std::move(s);
  };
  if (options.owner && ::fchown(fd, node.uid, node.gid) != 0) note(posix_error(errno, "unable to set owner of " + path));
  if (options.xattrs) {
    for (const auto& x : node.xattrs) {
      if (::fsetxattr(fd, x.name.c_str(), x.value.data(), x.value.size(), 0) != 0) {
        if (errno == EPERM && !options.owner) continue;
        note(posix_error(errno, "unable to set extended attribute " + x.name + " on " + path));
      }
    }
  }
  if (::fchmod(fd, node.mode & 07777) != 0) note(posix_error(errno, "unable to set permissions of " + path));
  if (options.times) {
    struct timespec ts[2] = {to_timespec(node.atime_ns), to_timespec(node.mtime_ns)};
    if (::futimens(fd, ts) != 0) note(posix_error(errno, "unable to set times of " + path));
  }
  return first;
}

}  // namespace lifeboat::sources::fs
