#include "storage/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>

#include <fmt/format.h>

#include "storage/object_name.h"
#include "util/posix_error.h"

namespace lifeboat::storage {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }

 private:
  int fd_;
};

std::string temp_suffix() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return fmt::format("{:016x}", rng());
}

Status fsync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return posix_error(errno, "unable to open directory " + dir);
  if (::fsync(fd.get()) != 0) return posix_error(errno, "unable to sync directory " + dir);
  return Status::ok();
}

// True if `dir` holds nothing but temporaries and (up to one level of)
// directories that hold nothing.
Result<bool> holds_nothing(const std::string& dir, int depth) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return posix_error(errno, "unable to open " + dir);
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == ".." || n.starts_with(kTempPrefix)) continue;
    struct stat st;
    if (depth < 2 && ::fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
      auto sub = holds_nothing(dir + "/" + std::string(n), depth + 1);
      if (sub.is_ok() && *sub) continue;
    }
    empty = false;
    break;
  }
  ::closedir(d);
  return empty;
}

Status list_recursive(const std::string& root, const std::string& rel, std::vector<ObjectInfo>& out) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return Status::ok();
    return posix_error(errno, "unable to list " + dir);
  }
  Status status;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n == "." || n == ".." || n.starts_with(kTempPrefix)) continue;
    std::string child = rel.empty() ? std::string(n) : rel + "/" + std::string(n);
    struct stat st;
    if (::fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed while listing
      status = posix_error(errno, "unable to stat " + root + "/" + child);
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      status = list_recursive(root, child, out);
      if (!status.is_ok()) break;
    } else if (S_ISREG(st.st_mode)) {
      out.push_back({child, static_cast<uint64_t>(st.st_size), false,
                     int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec});
    }
  }
  ::closedir(d);
  return status;
}

}  // namespace

LocalBackend::LocalBackend(std::string root, bool durable) : root_(std::move(root)), durable_(durable) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

std::string LocalBackend::path_of(std::string_view name) const { return root_ + "/" + std::string(name); }

Status LocalBackend::create() {
  struct stat st;
  if (::stat(root_.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status(ErrorCode::kAlreadyExists, root_ + " exists and is not a directory");
    // Empty directories and temporaries are what a failed init leaves
    // behind; they do not make the location "not empty".
    LB_ASSIGN_OR_RETURN(bool empty, holds_nothing(root_, 0));
    if (!empty) return Status(ErrorCode::kAlreadyExists, root_ + " is not empty");
    return Status::ok();
  }
  // Owner-only: a repository holds nothing others need to read.
  return make_dirs(root_, 0700);
}

Status LocalBackend::ensure_dir(const std::string& dir) {
  {
    std::lock_guard lock(mu_);
    if (known_dirs_.count(dir)) return Status::ok();
  }
  // Create each missing level below the root (the root must exist).
  size_t pos = root_.size();
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    std::string level = dir.substr(0, pos);
    if (::mkdir(level.c_str(), 0700) != 0 && errno != EEXIST) {
      if (errno == ENOENT) return Status(ErrorCode::kNoRepository, "repository directory " + root_ + " is missing");
      return posix_error(errno, "unable to create directory " + level);
    }
  }
  std::lock_guard lock(mu_);
  known_dirs_.insert(dir);
  return Status::ok();
}

Result<std::vector<ObjectInfo>> LocalBackend::list(std::string_view prefix) {
  if (!valid_list_prefix(prefix)) return std::vector<ObjectInfo>{};  // no valid name starts so
  // List the deepest directory the prefix names, then filter.
  std::string p(prefix);
  std::string dir = p.substr(0, p.rfind('/') == std::string::npos ? 0 : p.rfind('/'));
  std::vector<ObjectInfo> all;
  LB_RETURN_IF_ERROR(list_recursive(root_, dir, all));
  std::vector<ObjectInfo> out;
  out.reserve(all.size());
  for (auto& o : all)
    if (o.name.starts_with(p)) out.push_back(std::move(o));
  return out;
}

Result<Bytes> LocalBackend::read(std::string_view name, uint64_t offset, uint64_t length) {
  Bytes out;
  LB_RETURN_IF_ERROR(read_into(name, offset, length, out));
  return out;
}

Status LocalBackend::read_into(std::string_view name, uint64_t offset, uint64_t length, Bytes& out) {
  out.clear();
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::string path = path_of(name);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return posix_error(errno, "unable to open " + path);
  // Clamp to the object so a huge length never becomes a huge allocation.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return posix_error(errno, "unable to stat " + path);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  length = offset >= size ? 0 : std::min(length, size - offset);
  out.resize(length);  // default-initialised: no zeroing
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd.get(), out.data() + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      out.clear();
      return posix_error(errno, "unable to read " + path);
    }
    if (n == 0) break;
    done += static_cast<uint64_t>(n);
  }
  out.resize(done);
  return Status::ok();
}

Status LocalBackend::write(std::string_view name, ByteSpan data) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::string path = path_of(name);
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir != root_) LB_RETURN_IF_ERROR(ensure_dir(dir));
  std::string tmp = dir + "/" + std::string(kTempPrefix) + temp_suffix();
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == ENOENT && dir == root_)
      return Status(ErrorCode::kNoRepository, "repository directory " + root_ + " is missing");
    return posix_error(errno, "unable to create " + tmp);
  }
  auto fail = [&](int err, const std::string& what) {
    ::unlink(tmp.c_str());
    return posix_error(err, what + " " + path);
  };
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "unable to write");
    }
    done += static_cast<size_t>(n);
  }
  if (durable_ && ::fdatasync(fd.get()) != 0) return fail(errno, "unable to sync");
  if (::close(fd.release()) != 0) return fail(errno, "unable to close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno, "unable to rename into");
  if (durable_) return fsync_dir(dir);
  return Status::ok();
}

Status LocalBackend::remove(std::string_view name) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::string path = path_of(name);
  if (::unlink(path.c_str()) != 0) return posix_error(errno, "unable to remove " + path);
  return Status::ok();
}

Result<ObjectInfo> LocalBackend::stat(std::string_view name) {
  if (!valid_object_name(name)) return invalid_object_name(name);
  std::string path = path_of(name);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return posix_error(errno, "unable to stat " + path);
  if (!S_ISREG(st.st_mode)) return Status(ErrorCode::kNotFound, path + " is not a file");
  return ObjectInfo{std::string(name), static_cast<uint64_t>(st.st_size), false,
                    int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace lifeboat::storage
