#include "sources/pg/dump_spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "util/posix_error.h"

namespace lifeboat::sources::pg {

namespace {
constexpr uint64_t kReleaseStep = 1 << 20;  // punch holes in 1 MiB steps
// A safety net only: every change is also signalled by inotify.
constexpr auto kRecheck = std::chrono::milliseconds(200);
}  // namespace

Result<std::unique_ptr<SpoolFollower>> SpoolFollower::open(const std::string& dir) {
  std::unique_ptr<SpoolFollower> f(new SpoolFollower(dir));
  f->inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (f->inotify_fd_ < 0) return posix_error(errno, "unable to watch " + dir + " (inotify_init1)");
  if (::inotify_add_watch(f->inotify_fd_, dir.c_str(), IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE) < 0)
    return posix_error(errno, "unable to watch " + dir);
  if (::pipe2(f->stop_pipe_, O_CLOEXEC) != 0) return posix_error(errno, "unable to create a pipe");
  {
    std::lock_guard<std::mutex> lock(f->mu_);
    f->rescan_locked();
  }
  f->watcher_ = std::thread([p = f.get()] { p->watch_loop(); });
  return f;
}

SpoolFollower::~SpoolFollower() {
  if (watcher_.joinable()) {
    char c = 0;
    if (::write(stop_pipe_[1], &c, 1) < 0) {
      // The watcher also stops when the pipe closes below.
    }
    watcher_.join();
  }
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  for (int fd : stop_pipe_)
    if (fd >= 0) ::close(fd);
}

void SpoolFollower::add_locked(const std::string& name, bool closed) {
  auto [it, fresh] = files_.try_emplace(name);
  if (fresh) fresh_.push_back(name);
  if (closed) it->second.closed = true;
}

void SpoolFollower::rescan_locked() {
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    add_locked(name, false);
  }
  ::closedir(d);
}

void SpoolFollower::watch_loop() {
  alignas(struct inotify_event) char buf[16384];
  for (;;) {
    struct pollfd pfd[2] = {{inotify_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    int r = ::poll(pfd, 2, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      std::lock_guard<std::mutex> lock(mu_);
      watch_status_ = posix_error(errno, "unable to watch " + dir_);
      ++generation_;
      cv_.notify_all();
      return;
    }
    if (pfd[1].revents) return;
    ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        rescan_locked();  // closes missed are settled by writer_done()
        continue;
      }
      if (ev->len == 0 || (ev->mask & IN_ISDIR)) continue;
      std::string name(ev->name);
      if (ev->mask & (IN_CREATE | IN_MOVED_TO)) add_locked(name, (ev->mask & IN_MOVED_TO) != 0);
      if (ev->mask & IN_CLOSE_WRITE) add_locked(name, true);
    }
    ++generation_;
    cv_.notify_all();
  }
}

Result<std::optional<std::string>> SpoolFollower::next_file(const std::function<bool()>& stopping) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (cancelled_ || (stopping && stopping())) return Status(ErrorCode::kCancelled, "cancelled");
    if (!watch_status_.is_ok()) return watch_status_;
    if (!fresh_.empty()) {
      std::string name = fresh_.front();
      fresh_.pop_front();
      return std::optional<std::string>(std::move(name));
    }
    if (writer_done_) {
      rescan_locked();  // anything an overflow hid
      if (fresh_.empty()) return std::optional<std::string>();
      continue;
    }
    uint64_t gen = generation_;
    cv_.wait_for(lock, kRecheck, [&] { return generation_ != gen; });
  }
}

Result<std::unique_ptr<SpoolFollower::Reader>> SpoolFollower::reader(const std::string& name) {
  std::string path = dir_ + "/" + name;
  // Read-write: punching holes needs a descriptor open for writing.
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  bool writable = fd >= 0;
  if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return posix_error(errno, "unable to open " + path);
  std::unique_ptr<Reader> r(new Reader(*this, name, fd));
  r->punch_ = writable;
  return r;
}

uint64_t SpoolFollower::unread_bytes() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t total = 0;
  for (const auto& [name, state] : files_) {
    if (state.finished) continue;
    struct stat st;
    std::string path = dir_ + "/" + name;
    if (::stat(path.c_str(), &st) != 0) continue;
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > state.offset) total += size - state.offset;
  }
  return total;
}

void SpoolFollower::writer_done(const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  writer_done_ = true;
  writer_status_ = status;
  ++generation_;
  cv_.notify_all();
}

void SpoolFollower::cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  ++generation_;
  cv_.notify_all();
}

SpoolFollower::Reader::~Reader() {
  if (fd_ >= 0) ::close(fd_);
}

void SpoolFollower::Reader::release(bool all) {
  uint64_t upto = all ? offset_ : offset_ / kReleaseStep * kReleaseStep;
  if (upto <= released_ || !punch_ || !f_.punch_ok_.load()) return;
  if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(released_),
                  static_cast<off_t>(upto - released_)) == 0) {
    released_ = upto;
  } else if (errno == EOPNOTSUPP || errno == ENOSYS) {
    f_.punch_ok_.store(false);  // this file system cannot: files are released when they end instead
  } else if (errno != EINTR) {
    punch_ = false;  // this file only
  }
}

Result<size_t> SpoolFollower::Reader::read(uint8_t* buf, size_t n) {
  if (done_) return size_t{0};
  for (;;) {
    bool complete;
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lock(f_.mu_);
      if (f_.cancelled_) return Status(ErrorCode::kCancelled, "cancelled");
      if (!f_.watch_status_.is_ok()) return f_.watch_status_;
      if (f_.writer_done_ && !f_.writer_status_.is_ok()) return f_.writer_status_;
      complete = f_.writer_done_ || f_.files_[name_].closed;
      gen = f_.generation_;
    }
    // The size is read after the close was seen, so it is final then.
    struct stat st;
    if (::fstat(fd_, &st) != 0) return posix_error(errno, "unable to stat " + f_.dir_ + "/" + name_);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size < offset_)
      return Status(ErrorCode::kCorrupt,
                    fmt::format("{}/{} shrank from {} to {} bytes while it was read", f_.dir_, name_, offset_, size));
    if (size > offset_) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(n, size - offset_));
      ssize_t got = ::pread(fd_, buf, want, static_cast<off_t>(offset_));
      if (got < 0) {
        if (errno == EINTR) continue;
        return posix_error(errno, "unable to read " + f_.dir_ + "/" + name_);
      }
      offset_ += static_cast<uint64_t>(got);
      release(false);
      {
        std::lock_guard<std::mutex> lock(f_.mu_);
        f_.files_[name_].offset = offset_;
      }
      return static_cast<size_t>(got);
    }
    if (complete) {
      done_ = true;
      ::close(fd_);
      fd_ = -1;
      std::string path = f_.dir_ + "/" + name_;
      ::unlink(path.c_str());  // best effort: the caller removes the directory anyway
      std::lock_guard<std::mutex> lock(f_.mu_);
      f_.files_[name_].finished = true;
      return size_t{0};
    }
    std::unique_lock<std::mutex> lock(f_.mu_);
    f_.cv_.wait_for(lock, kRecheck, [&] { return f_.generation_ != gen; });
  }
}

}  // namespace lifeboat::sources::pg
