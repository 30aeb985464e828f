#include "sources/pg/dump_feed.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "util/posix_error.h"

namespace lifeboat::sources::pg {

namespace {

// How often unopened pipes are tried. Opening a pipe for writing without
// blocking succeeds only once a reader has it open (ENXIO before), so this
// is the delay a reader's open() may see.
constexpr auto kPollInterval = std::chrono::milliseconds(5);

constexpr const char* kReaderGone = "the reader closed the pipe";

Status write_all(int fd, ByteSpan data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) return Status(ErrorCode::kIo, kReaderGone);
      return posix_error(errno, "unable to write " + path);
    }
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<FifoFeeder>> FifoFeeder::create(const std::string& dir, const std::vector<File>& files,
                                                       WriteFn write) {
  std::unique_ptr<FifoFeeder> f(new FifoFeeder(dir, std::move(write)));
  for (const auto& file : files) {
    std::string path = dir + "/" + file.name;
    if (file.regular) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) return posix_error(errno, "unable to create " + path);
      Status s = f->write_(file.name, [&](ByteSpan d) { return write_all(fd, d, path); });
      ::close(fd);
      if (!s.is_ok()) return s;
    } else {
      if (::mkfifo(path.c_str(), 0600) != 0) return posix_error(errno, "unable to create the pipe " + path);
      f->pending_.push_back(file.name);
    }
  }
  return f;
}

FifoFeeder::~FifoFeeder() { finish().ignore(); }  // errors were reported by the caller's finish()

void FifoFeeder::start() {
  server_ = std::thread([this] { serve(); });
}

void FifoFeeder::serve() {
  while (!stop_.load() && !pending_.empty()) {
    for (size_t i = 0; i < pending_.size();) {
      std::string path = dir_ + "/" + pending_[i];
      int fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) {
        if (errno != ENXIO && errno != EINTR) {
          std::lock_guard<std::mutex> lock(mu_);
          if (first_error_.is_ok()) first_error_ = posix_error(errno, "unable to open the pipe " + path);
          pending_.erase(pending_.begin() + static_cast<long>(i));
          continue;
        }
        ++i;
        continue;
      }
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      std::string name = pending_[i];
      pending_.erase(pending_.begin() + static_cast<long>(i));
      std::lock_guard<std::mutex> lock(mu_);
      writers_.emplace_back([this, name, fd] { feed(name, fd); });
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void FifoFeeder::feed(const std::string& name, int fd) {
  std::string path = dir_ + "/" + name;
  Status s = write_(name, [&](ByteSpan d) -> Status {
    if (stop_.load()) return Status(ErrorCode::kIo, kReaderGone);
    LB_RETURN_IF_ERROR(write_all(fd, d, path));
    bytes_ += d.size();
    return Status::ok();
  });
  ::close(fd);
  if (!s.is_ok() && s.message() != kReaderGone) {
    std::lock_guard<std::mutex> lock(mu_);
    if (first_error_.is_ok()) first_error_ = s;
  }
}

Status FifoFeeder::finish() {
  if (finished_) return first_error_;
  finished_ = true;
  stop_.store(true);
  if (server_.joinable()) server_.join();
  std::vector<std::thread> writers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    writers.swap(writers_);
  }
  for (auto& t : writers) t.join();
  std::lock_guard<std::mutex> lock(mu_);
  return first_error_;
}

}  // namespace lifeboat::sources::pg
