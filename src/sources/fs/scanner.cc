#include "sources/fs/scanner.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/posix_error.h"
#include "util/utf8.h"

namespace lifeboat::sources::fs {
namespace {

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// Opens without updating atime where permitted (O_NOATIME needs ownership
// or CAP_FOWNER): a backup must not modify its source.
int open_dir_noatime(int dirfd, const char* name) {
  int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(dirfd, name, flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, name, flags);
  return fd;
}

size_t weight(const ScannedDir& d) { return d.children.size() + 1; }

}  // namespace

Scanner::Scanner(Options options, BoundedQueue<ScannedDir>& out, OwnerNames& owners)
    : options_(std::move(options)), out_(out), owners_(owners) {
  for (const auto& t : options_.targets) {
    Trie* node = &trie_;
    size_t start = 1;
    while (start < t.size()) {
      size_t end = t.find('/', start);
      if (end == std::string::npos) end = t.size();
      node = &node->children[t.substr(start, end - start)];
      start = end + 1;
    }
    node->target = true;
  }
}

void Scanner::warn(std::string m) {
  std::lock_guard lock(mu_);
  warnings_.push_back(std::move(m));
}

std::vector<std::string> Scanner::take_warnings() {
  std::lock_guard lock(mu_);
  return std::move(warnings_);
}

void Scanner::run() {
  if (trie_.target) {
    int fd = open_dir_noatime(AT_FDCWD, "/");
    struct stat st {};
    if (fd >= 0) ::fstat(fd, &st);
    scan_real("/", fd, st.st_dev);
    if (fd >= 0) ::close(fd);
  } else {
    scan_virtual("/", trie_);
  }
  out_.close();
}

// A directory on the way to the targets: only the trie's children.
bool Scanner::scan_virtual(const std::string& path, const Trie& trie) {
  ScannedDir dir;
  dir.path = path;
  for (const auto& [name, sub] : trie.children) {
    std::string full = join(path, name);
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) {
      warn(posix_error(errno, "unable to stat " + escape_name(full)).message());
      continue;
    }
    repo::Node n;
    n.name = name;
    Status s = fill_node(full, st, owners_, n);
    if (!s.is_ok()) warn(s.message());
    dir.children.push_back(std::move(n));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  bool ok = emit_children(dir, fd >= 0 ? fd : AT_FDCWD, 0, &trie);
  if (fd >= 0) ::close(fd);
  return ok;
}

bool Scanner::scan_real(const std::string& path, int dirfd, dev_t device) {
  ScannedDir dir;
  dir.path = path;
  if (dirfd < 0) {
    dir.failed = true;
    return out_.push(std::move(dir), 1);
  }
  std::vector<std::string> names;
  {
    int fd2 = ::dup(dirfd);
    DIR* d = fd2 >= 0 ? ::fdopendir(fd2) : nullptr;
    if (!d) {
      if (fd2 >= 0) ::close(fd2);
      warn(posix_error(errno, "unable to list " + escape_name(path)).message());
    } else {
      errno = 0;
      while (struct dirent* e = ::readdir(d)) {
        if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
        names.emplace_back(e->d_name);
      }
      if (errno != 0) warn(posix_error(errno, "unable to list " + escape_name(path)).message());
      ::closedir(d);
    }
  }
  std::sort(names.begin(), names.end());
  dir.children.reserve(names.size());
  for (auto& name : names) {
    std::string full = join(path, name);
    if (options_.excludes && options_.excludes->excluded(full)) continue;
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) warn(posix_error(errno, "unable to stat " + escape_name(full)).message());
      continue;  // vanished since listing: not an error
    }
    repo::Node n;
    n.name = std::move(name);
    Status s = fill_node(full, st, owners_, n);
    if (!s.is_ok()) warn(s.message());
    dir.children.push_back(std::move(n));
  }
  return emit_children(dir, dirfd, device, nullptr);
}

// Marks which child directories are entered, emits the listing, then scans
// those children in order.
bool Scanner::emit_children(ScannedDir& dir, int dirfd, dev_t device, const Trie* trie) {
  dir.enter.assign(dir.children.size(), false);
  struct Child {
    size_t index;
    const Trie* sub;
  };
  std::vector<Child> entered;
  for (size_t i = 0; i < dir.children.size(); ++i) {
    const repo::Node& n = dir.children[i];
    if (n.type != repo::NodeType::kDir) continue;
    const Trie* sub = nullptr;
    if (trie) {
      auto it = trie->children.find(n.name);
      if (it != trie->children.end()) sub = &it->second;
    }
    // A mount point below a target is recorded but not entered with -x.
    if (!sub && options_.one_file_system && n.device != static_cast<uint64_t>(device)) continue;
    dir.enter[i] = true;
    entered.push_back({i, sub});
  }
  std::string path = dir.path;
  std::vector<std::pair<std::string, uint64_t>> names;  // the listing moves away
  for (const auto& c : entered) names.emplace_back(dir.children[c.index].name, dir.children[c.index].device);
  size_t w = weight(dir);
  if (!out_.push(std::move(dir), w)) return false;
  for (size_t k = 0; k < entered.size(); ++k) {
    const std::string& name = names[k].first;
    std::string full = join(path, name);
    const Trie* sub = entered[k].sub;
    bool ok;
    if (sub && !sub->target) {
      ok = scan_virtual(full, *sub);
    } else {
      int fd = open_dir_noatime(dirfd, name.c_str());
      if (fd < 0) warn(posix_error(errno, "unable to open directory " + escape_name(full)).message());
      ok = scan_real(full, fd, sub ? static_cast<dev_t>(names[k].second) : device);
      if (fd >= 0) ::close(fd);
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace lifeboat::sources::fs
