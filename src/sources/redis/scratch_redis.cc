#include "sources/redis/scratch_redis.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "sources/redis/redis_client.h"

namespace lifeboat::sources::redis {

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool child_has_exited(pid_t pid) {
  siginfo_t info{};
  info.si_pid = 0;
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return true;
  return info.si_pid == pid;
}

std::string last_redis_log_error(const std::string& log_text) {
  // Lines look like "1234:M 22 Nov 2026 07:43:00.123 # Fatal error ...";
  // '#' marks a warning. The last two that are not start-up chatter say
  // what went wrong ("Can't handle RDB format version 11; Fatal error
  // loading the DB: Invalid argument. Exiting.").
  std::vector<std::string> found;
  size_t start = 0;
  while (start < log_text.size()) {
    size_t end = log_text.find('\n', start);
    if (end == std::string::npos) end = log_text.size();
    std::string_view line(log_text.data() + start, end - start);
    start = end + 1;
    auto mark = line.find(" # ");
    if (mark == std::string_view::npos) continue;
    std::string_view msg = line.substr(mark + 3);
    while (!msg.empty() && (msg.back() == '\r' || msg.back() == ' ')) msg.remove_suffix(1);
    bool chatter = msg.empty() || msg.rfind("WARNING", 0) == 0 || msg.find("oO0OoO0O") != std::string_view::npos ||
                   msg.rfind("Redis version=", 0) == 0 || msg.rfind("Configuration loaded", 0) == 0 ||
                   msg.rfind("Server initialized", 0) == 0 || msg.find("bye bye") != std::string_view::npos;
    if (!chatter) found.emplace_back(msg);
  }
  if (found.empty()) return "";
  if (found.size() == 1) return found.back();
  return found[found.size() - 2] + "; " + found.back();
}

Result<std::unique_ptr<ScratchRedis>> ScratchRedis::start(const std::string& dir, int databases, int timeout_ms) {
  if (find_program("redis-server").empty())
    return Status(ErrorCode::kNotFound,
                  "redis-server was not found: install it (Debian: apt install redis-server) or put it in PATH");
  std::unique_ptr<ScratchRedis> s(new ScratchRedis());
  s->dir_ = dir;
  s->socket_ = dir + "/redis.sock";
  if (s->socket_.size() > 100)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("the scratch directory {} is too long a path for a UNIX socket: choose a shorter one",
                              dir));
  if (auto v = run_capture({"redis-server", "--version"}); v.is_ok()) {
    auto pos = v->find("v=");
    if (pos != std::string::npos) s->version_ = v->substr(pos + 2, v->find(' ', pos) - pos - 2);
  }
  Subprocess::Options o;
  o.argv = {"redis-server", "--port", "0", "--unixsocket", s->socket_, "--unixsocketperm", "700", "--dir", dir,
            "--dbfilename", "dump.rdb", "--appendonly", "no", "--save", "", "--daemonize", "no",
            "--logfile", dir + "/redis.log", "--databases", std::to_string(std::max(16, databases))};
  o.pipe = Subprocess::Pipe::kNone;
  LB_ASSIGN_OR_RETURN(Subprocess proc, Subprocess::start(o));
  s->proc_.emplace(std::move(proc));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  RedisEndpoint ep = s->endpoint();
  Status last;
  for (;;) {
    if (child_has_exited(s->proc_->pid())) {
      Status exited = s->proc_->wait();
      std::string why = last_redis_log_error(read_text(dir + "/redis.log"));
      if (why.empty()) why = exited.is_ok() ? "it exited" : exited.message();
      s->proc_.reset();
      return Status(ErrorCode::kIo, "the scratch redis-server did not start: " + why);
    }
    if (::access(s->socket_.c_str(), F_OK) == 0) {
      auto c = RedisClient::connect(ep, "", 5000);
      if (c.is_ok()) return s;
      last = c.status();
      if (last.code() != ErrorCode::kUnavailable) return last.with_context("the scratch redis-server");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      (void)s->stop();
      return Status(ErrorCode::kUnavailable,
                    fmt::format("the scratch redis-server did not become ready within {} s{}", timeout_ms / 1000,
                                last.is_ok() ? "" : ": " + last.message()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ScratchRedis::~ScratchRedis() { (void)stop(); }

RedisEndpoint ScratchRedis::endpoint() const {
  RedisEndpoint ep;
  ep.socket = socket_;
  ep.host.clear();
  ep.port = 0;
  return ep;
}

Status ScratchRedis::stop() {
  if (!proc_) return Status::ok();
  {
    auto c = RedisClient::connect(endpoint(), "", 5000);
    // SHUTDOWN closes the connection instead of answering; what matters is
    // that the process ends, which wait() below tells.
    if (c.is_ok()) (void)(*c)->command({"SHUTDOWN", "NOSAVE"}).status();
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!child_has_exited(proc_->pid()) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!child_has_exited(proc_->pid())) proc_->kill();
  Status s = proc_->wait();
  proc_.reset();
  return s;
}

}  // namespace lifeboat::sources::redis
