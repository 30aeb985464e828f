#include "util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "util/posix_error.h"

extern char** environ;

namespace lifeboat {

namespace {

constexpr size_t kKeepStderr = 64 << 10;

bool executable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

void set_cloexec(int fd) { ::fcntl(fd, F_SETFD, FD_CLOEXEC); }

}  // namespace

std::string find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return executable(program) ? program : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + program;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

Result<Subprocess> Subprocess::start(const Options& options) {
  if (options.argv.empty()) return Status(ErrorCode::kInvalidArgument, "no command given");
  Subprocess p;
  p.name_ = options.argv[0];
  std::string exe = find_program(options.argv[0]);
  if (exe.empty())
    return Status(ErrorCode::kNotFound,
                  fmt::format("{} was not found: install it or put it in PATH", options.argv[0]));

  int io[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (options.pipe != Pipe::kNone && ::pipe(io) != 0) return posix_error(errno, "unable to create a pipe");
  if (::pipe(err) != 0) {
    int e = errno;
    if (io[0] >= 0) ::close(io[0]), ::close(io[1]);
    return posix_error(e, "unable to create a pipe");
  }
  // Everything the child needs is built before fork (no allocation after).
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && options.env.count(std::string(kv.substr(0, eq)))) continue;
    env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    if (io[0] >= 0) ::close(io[0]), ::close(io[1]);
    ::close(err[0]);
    ::close(err[1]);
    return posix_error(e, "unable to start " + options.argv[0]);
  }
  if (pid == 0) {
    // The child: wire the pipes to 0/1/2 and exec.
    // Nothing of ours reaches the child's stdin unless we write it, and its
    // stdout never mixes into ours (which may be --json for a script).
    if (options.pipe == Pipe::kWrite) {
      ::dup2(io[0], STDIN_FILENO);
    } else {
      int null = ::open("/dev/null", O_RDONLY);
      if (null >= 0) ::dup2(null, STDIN_FILENO);
    }
    ::dup2(options.pipe == Pipe::kRead ? io[1] : err[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    if (io[0] >= 0) ::close(io[0]), ::close(io[1]);
    ::close(err[0]);
    ::close(err[1]);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) ::_exit(126);
    ::execve(exe.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  p.pid_ = pid;
  if (options.pipe == Pipe::kRead) {
    p.pipe_fd_ = io[0];
    ::close(io[1]);
  } else if (options.pipe == Pipe::kWrite) {
    p.pipe_fd_ = io[1];
    ::close(io[0]);
  }
  ::close(err[1]);
  p.err_fd_ = err[0];
  if (p.pipe_fd_ >= 0) set_cloexec(p.pipe_fd_);
  set_cloexec(p.err_fd_);
  ::fcntl(p.err_fd_, F_SETFL, ::fcntl(p.err_fd_, F_GETFL) | O_NONBLOCK);
  return p;
}

Subprocess::Subprocess(Subprocess&& o) noexcept
    : pid_(o.pid_),
      pipe_fd_(o.pipe_fd_),
      err_fd_(o.err_fd_),
      name_(std::move(o.name_)),
      err_(std::move(o.err_)),
      reaped_(o.reaped_),
      wstatus_(o.wstatus_) {
  o.pid_ = -1;
  o.pipe_fd_ = -1;
  o.err_fd_ = -1;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !reaped_) kill();
  close_pipe();
  if (err_fd_ >= 0) ::close(err_fd_);
}

void Subprocess::drain_stderr(bool block) {
  if (err_fd_ < 0) return;
  char buf[8192];
  for (;;) {
    if (block) {
      struct pollfd pfd{err_fd_, POLLIN, 0};
      if (::poll(&pfd, 1, -1) < 0 && errno == EINTR) continue;
    }
    ssize_t n = ::read(err_fd_, buf, sizeof buf);
    if (n > 0) {
      err_.append(buf, static_cast<size_t>(n));
      if (err_.size() > 2 * kKeepStderr) err_.erase(0, err_.size() - kKeepStderr);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      ::close(err_fd_);
      err_fd_ = -1;
    }
    return;  // EAGAIN (non-blocking) or end
  }
}

Result<size_t> Subprocess::read(uint8_t* buf, size_t n) {
  if (pipe_fd_ < 0) return size_t{0};
  for (;;) {
    // Keep the child's stderr flowing, so a chatty child never blocks on it.
    struct pollfd pfd[2] = {{pipe_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    int r = ::poll(pfd, err_fd_ >= 0 ? 2 : 1, -1);
    if (r < 0) {
      if (errno == EINTR) continue;
      return posix_error(errno, "unable to read from " + name_);
    }
    if (err_fd_ >= 0 && (pfd[1].revents & (POLLIN | POLLHUP))) drain_stderr(false);
    if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t got = ::read(pipe_fd_, buf, n);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return posix_error(errno, "unable to read from " + name_);
    }
    return static_cast<size_t>(got);
  }
}

Status Subprocess::write(ByteSpan data) {
  size_t done = 0;
  while (done < data.size()) {
    drain_stderr(false);
    ssize_t n = ::write(pipe_fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {
        // The child stopped reading: its exit status says why.
        Status s = wait();
        return s.is_ok() ? Status(ErrorCode::kIo, name_ + " stopped reading its input") : s;
      }
      return posix_error(errno, "unable to write to " + name_);
    }
    done += static_cast<size_t>(n);
  }
  return Status::ok();
}

void Subprocess::close_pipe() {
  if (pipe_fd_ >= 0) ::close(pipe_fd_);
  pipe_fd_ = -1;
}

Status Subprocess::wait() {
  if (pid_ <= 0) return Status(ErrorCode::kInternal, "no process");
  if (!reaped_) {
    close_pipe();
    drain_stderr(true);
    while (::waitpid(pid_, &wstatus_, 0) < 0) {
      if (errno != EINTR) return posix_error(errno, "unable to wait for " + name_);
    }
    reaped_ = true;
  }
  if (WIFEXITED(wstatus_) && WEXITSTATUS(wstatus_) == 0) return Status::ok();
  std::string last;
  {
    std::string_view e(err_);
    while (!e.empty() && (e.back() == '\n' || e.back() == '\r' || e.back() == ' ')) e.remove_suffix(1);
    auto nl = e.rfind('\n');
    last = std::string(nl == std::string_view::npos ? e : e.substr(nl + 1));
  }
  std::string how;
  if (WIFEXITED(wstatus_)) {
    int code = WEXITSTATUS(wstatus_);
    how = code == 127 ? "could not be executed" : fmt::format("exited with code {}", code);
  } else if (WIFSIGNALED(wstatus_)) {
    how = fmt::format("was killed by signal {}", WTERMSIG(wstatus_));
  } else {
    how = "ended abnormally";
  }
  return Status(ErrorCode::kIo, last.empty() ? fmt::format("{} {}", name_, how)
                                             : fmt::format("{} {}: {}", name_, how, last));
}

std::string Subprocess::stderr_text() const { return err_; }

void Subprocess::kill() {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (::waitpid(pid_, &wstatus_, WNOHANG) == pid_) {
      reaped_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &wstatus_, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

Result<std::string> run_capture(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  Subprocess::Options o;
  o.argv = argv;
  o.env = env;
  LB_ASSIGN_OR_RETURN(Subprocess p, Subprocess::start(o));
  std::string out;
  uint8_t buf[8192];
  for (;;) {
    LB_ASSIGN_OR_RETURN(size_t n, p.read(buf, sizeof buf));
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(buf), n);
  }
  LB_RETURN_IF_ERROR(p.wait());
  return out;
}

}  // namespace lifeboat
