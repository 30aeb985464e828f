#include "sources/mysql/scratch_mariadb.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "util/posix_error.h"

namespace lifeboat::sources::mysql {

namespace {

// True once the child has ended; it stays waitable (WNOWAIT) for
// Subprocess::wait().
bool exited(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return true;
  return info.si_pid == pid;
}

// The last "[ERROR]" line of a MariaDB error log, without its time prefix.
std::string last_error_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line, found;
  while (std::getline(in, line)) {
    auto pos = line.find("[ERROR] ");
    if (pos == std::string::npos) continue;
    found = line.substr(pos + 8);
  }
  while (!found.empty() && (found.back() == '\r' || found.back() == ' ')) found.pop_back();
  return found;
}

std::string sbin_or_path(const char* name) {
  std::string p = find_program(name);
  if (!p.empty()) return p;
  for (const char* dir : {"/usr/sbin/", "/usr/local/sbin/", "/usr/libexec/"}) {
    p = find_program(std::string(dir) + name);
    if (!p.empty()) return p;
  }
  return "";
}

}  // namespace

std::string find_server_binary() {
  for (const char* n : {"mariadbd", "mysqld"}) {
    std::string p = sbin_or_path(n);
    if (!p.empty()) return p;
  }
  return "";
}

Result<std::unique_ptr<ScratchMariadb>> ScratchMariadb::start(const std::string& dir, const std::string& os_user,
                                                              bool as_root, int timeout_ms) {
  std::string server = find_server_binary();
  std::string install = sbin_or_path("mariadb-install-db");
  if (install.empty()) install = sbin_or_path("mysql_install_db");
  if (server.empty() || install.empty())
    return Status(ErrorCode::kNotFound,
                  "mariadbd and mariadb-install-db were not found: verify-restore of a MariaDB dump starts a scratch "
                  "server; install it (Debian: apt install mariadb-server) or put it in PATH");
  LB_RETURN_IF_ERROR(find_client_tool().status());
  std::string socket = dir + "/mysqld.sock";
  if (socket.size() > 100)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("the scratch directory {} is too long a path for a UNIX socket: choose a shorter one",
                              dir));
  std::unique_ptr<ScratchMariadb> s(new ScratchMariadb());
  s->dir_ = dir;
  std::string datadir = dir + "/data";
  std::string user = as_root ? "root" : os_user;
  {
    std::vector<std::string> argv = {install, "--no-defaults", "--datadir=" + datadir, "--skip-test-db",
                                     "--auth-root-authentication-method=socket",
                                     "--auth-root-socket-user=" + user};
    if (as_root) argv.push_back("--user=root");
    auto out = run_capture(argv);
    if (!out.is_ok()) return out.status().with_context("unable to create the scratch MariaDB data directory");
  }
  // "mariadbd  Ver 10.11.19-MariaDB-0+deb12u1 for debian-linux-gnu ..." ->
  // "mariadbd 10.11.19-MariaDB-0+deb12u1".
  {
    std::string v = tool_version(server);
    auto ver = v.find("Ver ");
    std::string name = server.substr(server.rfind('/') + 1);
    s->version_ = ver == std::string::npos ? name : name + " " + v.substr(ver + 4, v.find(' ', ver + 4) - ver - 4);
  }
  Subprocess::Options o;
  o.argv = {server,
            "--no-defaults",
            "--datadir=" + datadir,
            "--socket=" + socket,
            "--skip-networking",
            "--pid-file=" + dir + "/mysqld.pid",
            "--log-error=" + dir + "/error.log",
            "--tmpdir=" + dir,
            // Events must not change the data being verified.
            "--event-scheduler=OFF",
            // A scratch server needs no durability.
            "--innodb-flush-log-at-trx-commit=0",
            "--innodb-doublewrite=0",
            "--skip-log-bin"};
  if (as_root) o.argv.push_back("--user=root");
  o.pipe = Subprocess::Pipe::kNone;
  LB_ASSIGN_OR_RETURN(Subprocess proc, Subprocess::start(o));
  s->proc_.emplace(std::move(proc));
  s->conn_.no_defaults = true;
  s->conn_.socket = socket;
  s->conn_.user = user;
  s->conn_.env["MYSQL_PWD"] = "";  // the socket login needs none; the user's must not be sent
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  Status last;
  for (;;) {
    if (exited(s->proc_->pid())) {
      Status st = s->proc_->wait();
      s->proc_.reset();
      std::string why = last_error_line(dir + "/error.log");
      if (why.empty()) why = st.is_ok() ? "it exited" : st.message();
      return Status(ErrorCode::kIo, "the scratch MariaDB did not start: " + why);
    }
    if (::access(socket.c_str(), F_OK) == 0) {
      auto r = query(s->conn_, "SELECT 1");
      if (r.is_ok()) return s;
      last = r.status();
    }
    if (std::chrono::steady_clock::now() > deadline) {
      (void)s->stop();
      return Status(ErrorCode::kUnavailable,
                    fmt::format("the scratch MariaDB did not become ready within {} s{}", timeout_ms / 1000,
                                last.is_ok() ? "" : ": " + last.message()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

ScratchMariadb::~ScratchMariadb() { (void)stop(); }

Status ScratchMariadb::stop() {
  if (!proc_) return Status::ok();
  ::kill(proc_->pid(), SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!exited(proc_->pid()) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!exited(proc_->pid())) proc_->kill();
  Status st = proc_->wait();
  proc_.reset();
  return st;
}

}  // namespace lifeboat::sources::mysql
