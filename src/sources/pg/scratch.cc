#include "sources/pg/scratch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "sources/pg/dump_session.h"
#include "sources/pg/dump_tools.h"
#include "util/posix_error.h"
#include "util/subprocess.h"

namespace lifeboat::sources::pg {

namespace {

bool has_server_programs(const std::string& dir) {
  for (const char* p : {"initdb", "pg_ctl", "postgres"})
    if (find_program(dir + "/" + p).empty()) return false;
  return true;
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Directories matching prefix*suffix under `parent`, e.g. /usr/lib/postgresql/*/bin.
std::vector<std::string> glob_dirs(const std::string& parent, const std::string& prefix, const std::string& suffix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(parent.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name.rfind(prefix, 0) != 0) continue;
    out.push_back(parent + "/" + name + suffix);
  }
  ::closedir(d);
  return out;
}

// The first line of a server log's tail that names an error, else its last line.
std::string log_error_line(const std::string& tail) {
  std::istringstream in(tail);
  std::string line, last, found;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (found.empty() && (line.find("FATAL:") != std::string::npos || line.find("PANIC:") != std::string::npos ||
                          line.find("ERROR:") != std::string::npos))
      found = line;
    last = line;
  }
  return found.empty() ? last : found;
}

// Whether the user (uid, gid) may enter every directory above `path`.
std::string unreachable_ancestor(const std::string& path, unsigned uid, unsigned gid) {
  std::string p = path;
  for (;;) {
    auto slash = p.rfind('/');
    if (slash == std::string::npos || slash == 0) return "";
    p = p.substr(0, slash);
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) return p;
    bool ok = st.st_uid == uid ? (st.st_mode & S_IXUSR) : st.st_gid == gid ? (st.st_mode & S_IXGRP)
                                                                           : (st.st_mode & S_IXOTH);
    if (!ok) return p;
  }
}

}  // namespace

Result<ServerInstall> find_server(const std::string& bindir, int min_major) {
  std::vector<std::string> candidates;
  if (!bindir.empty()) {
    candidates.push_back(bindir);
  } else {
    for (auto& d : glob_dirs("/usr/lib/postgresql", "", "/bin")) candidates.push_back(d);
    for (auto& d : glob_dirs("/usr", "pgsql-", "/bin")) candidates.push_back(d);
    for (const char* p : {"postgres", "pg_ctl"}) {
      std::string found = find_program(p);
      if (!found.empty()) candidates.push_back(dir_of(found));
    }
  }
  std::vector<ServerInstall> installs;
  for (const auto& dir : candidates) {
    if (!has_server_programs(dir)) continue;
    auto out = run_capture({dir + "/postgres", "--version"});
    if (!out.is_ok()) continue;
    ServerInstall si;
    si.bindir = dir;
    if (!parse_tool_version(*out, si.version, si.major)) continue;
    installs.push_back(si);
  }
  if (installs.empty()) {
    if (!bindir.empty())
      return Status(ErrorCode::kNotFound,
                    fmt::format("no PostgreSQL server programs (initdb, pg_ctl, postgres) in {}: name the bin "
                                "directory of a server installation",
                                bindir));
    return Status(ErrorCode::kNotFound,
                  "no PostgreSQL server is installed to restore into (initdb, pg_ctl and postgres were not found "
                  "in /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin or PATH): install one (Debian: apt install "
                  "postgresql) or name its bin directory with --pg-bin");
  }
  std::stable_sort(installs.begin(), installs.end(),
                   [](const ServerInstall& a, const ServerInstall& b) { return a.major > b.major; });
  if (installs.front().major < min_major)
    return Status(ErrorCode::kNotFound,
                  fmt::format("the newest PostgreSQL server installed here is {} ({}), older than the {} this needs: "
                              "install PostgreSQL {} or newer, or name its bin directory with --pg-bin",
                              installs.front().version, installs.front().bindir, major_name(min_major),
                              major_name(min_major)));
  return installs.front();
}

Result<int> free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return posix_error(errno, "unable to create a socket");
  struct sockaddr_in addr {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<struct sockaddr*>(&addr), &len) != 0) {
    int e = errno;
    ::close(fd);
    return posix_error(e, "unable to find a free port on 127.0.0.1");
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

std::vector<std::string> ScratchPg::as_server(std::vector<std::string> argv) const {
  if (!switch_user_) return argv;
  std::vector<std::string> out = {"setpriv", fmt::format("--reuid={}", uid_), fmt::format("--regid={}", gid_),
                                  "--clear-groups", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

Status ScratchPg::hand_over(const std::string& path) const {
  if (switch_user_ && ::chown(path.c_str(), uid_, gid_) != 0)
    return posix_error(errno, "unable to hand " + path + " to the server's user");
  return Status::ok();
}

Status ScratchPg::run_server_program(const std::vector<std::string>& argv) const {
  Subprocess::Options o;
  o.argv = as_server(argv);
  o.pipe = Subprocess::Pipe::kRead;
  o.cwd = dir_;  // readable by the server's user (initdb and pg_ctl look at the working directory)
  // The server's own settings come from its files, not from ours.
  o.env = {{"PGDATA", data_dir_}, {"LC_ALL", "C"}};
  LB_ASSIGN_OR_RETURN(Subprocess p, Subprocess::start(o));
  uint8_t buf[4096];
  for (;;) {
    auto n = p.read(buf, sizeof buf);
    if (!n.is_ok() || *n == 0) break;
  }
  return p.wait();
}

Result<std::unique_ptr<ScratchPg>> ScratchPg::create(const ScratchOptions& options) {
  std::unique_ptr<ScratchPg> pg(new ScratchPg());
  pg->options_ = options;
  LB_ASSIGN_OR_RETURN(pg->install_, find_server(options.bindir, options.min_major));
  if (::geteuid() == 0) {
    std::string user = options.run_as.empty() ? "postgres" : options.run_as;
    struct passwd* pw = ::getpwnam(user.c_str());
    if (!pw)
      return Status(ErrorCode::kNotFound,
                    fmt::format("PostgreSQL does not run as root and there is no OS user \"{}\" to run the scratch "
                                "server as: create one (Debian's postgresql package does) or run as another user",
                                user));
    pg->switch_user_ = pw->pw_uid != 0;
    pg->uid_ = pw->pw_uid;
    pg->gid_ = pw->pw_gid;
    if (pg->switch_user_ && find_program("setpriv").empty())
      return Status(ErrorCode::kNotFound, "setpriv was not found: install util-linux to run the scratch server "
                                          "as another user");
  }
  std::string root = options.root.empty() ? "/tmp" : options.root;
  std::string tmpl = root + "/lifeboat-pg-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    return posix_error(errno, "unable to create a scratch directory in " + root);
  pg->dir_ = tmpl;
  pg->socket_dir_ = pg->dir_ + "/sock";
  pg->log_path_ = pg->dir_ + "/server.log";
  pg->data_dir_ = options.data_dir.empty() ? pg->dir_ + "/data" : options.data_dir;
  // From here on the destructor removes the directory.
  if (pg->socket_dir_.size() + sizeof("/.s.PGSQL.65535") > 107)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("the scratch directory {} is too long a path for a unix socket: choose a shorter one",
                              pg->dir_));
  if (::chmod(pg->dir_.c_str(), 0700) != 0) return posix_error(errno, "unable to set the mode of " + pg->dir_);
  if (pg->switch_user_) {
    std::string blocked = unreachable_ancestor(pg->dir_, pg->uid_, pg->gid_);
    if (!blocked.empty())
      return Status(ErrorCode::kPermission,
                    fmt::format("the scratch server's user cannot enter {} (it runs as uid {}, not root): choose a "
                                "scratch directory it can reach, e.g. /tmp",
                                blocked, pg->uid_));
  }
  LB_RETURN_IF_ERROR(pg->hand_over(pg->dir_));
  if (::mkdir(pg->socket_dir_.c_str(), 0700) != 0) return posix_error(errno, "unable to create " + pg->socket_dir_);
  LB_RETURN_IF_ERROR(pg->hand_over(pg->socket_dir_));
  if (options.data_dir.empty()) {
    Status s = pg->run_server_program({pg->program("initdb"), "-D", pg->data_dir_, "-U", kSuperuser, "-A", "trust",
                                       "-E", "UTF8", "--locale=C", "--no-sync"});
    if (!s.is_ok()) return s.with_context("unable to create the scratch PostgreSQL instance (initdb)");
  }
  return pg;
}

ScratchPg::~ScratchPg() {
  if (running_) {
    run_server_program({program("pg_ctl"), "-D", data_dir_, "-m", "immediate", "-w", "-t", "30", "stop"}).ignore();
    running_ = false;  // best effort on the way out; stop() reports its errors
  }
  if (!dir_.empty() && !options_.keep) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

Status ScratchPg::write_conf() {
  std::string path = data_dir_ + "/postgresql.conf";
  std::ofstream out(path, std::ios::app);
  if (!out) return posix_error(errno, "unable to open " + path);
  out << "\n# lifeboat scratch instance\n"
      << "listen_addresses = '" << (options_.tcp ? "127.0.0.1" : "") << "'\n"
      << "port = " << port_ << "\n"
      << "unix_socket_directories = '" << socket_dir_ << "'\n"
      << "unix_socket_permissions = 0700\n"
      << "fsync = off\n"
      << "synchronous_commit = off\n"
      << "logging_collector = off\n"
      << "autovacuum = off\n";
  for (const auto& line : options_.conf_lines) out << line << "\n";
  out.close();
  if (!out) return posix_error(errno, "unable to write " + path);
  return Status::ok();
}

Status ScratchPg::start(int timeout_s) {
  if (running_) return Status::ok();
  Status last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (options_.tcp) {
      LB_ASSIGN_OR_RETURN(port_, free_tcp_port());
    }
    LB_RETURN_IF_ERROR(write_conf());
    // pg_ctl writes the log as the server's user: create it for that user.
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
    LB_RETURN_IF_ERROR(hand_over(log_path_));
    last = run_server_program({program("pg_ctl"), "-D", data_dir_, "-l", log_path_, "-w", "-t",
                               std::to_string(timeout_s), "-s", "start"});
    if (last.is_ok()) {
      running_ = true;
      return Status::ok();
    }
    std::string tail = log_tail(30);
    // Another program took the port between our look and the server's bind: again.
    if (options_.tcp && tail.find("could not bind") != std::string::npos) continue;
    std::string why = log_error_line(tail);
    // The server may be half up (pg_ctl timed out): make sure it is gone.
    run_server_program({program("pg_ctl"), "-D", data_dir_, "-m", "immediate", "-w", "-t", "30", "stop"}).ignore();
    return Status(ErrorCode::kIo, fmt::format("the scratch PostgreSQL server did not start: {}",
                                              why.empty() ? last.message() : why));
  }
  return last.with_context("the scratch PostgreSQL server did not start");
}

Status ScratchPg::stop() {
  Status s;
  if (running_) {
    s = run_server_program({program("pg_ctl"), "-D", data_dir_, "-m", "fast", "-w", "-t", "60", "-s", "stop"});
    if (s.is_ok()) running_ = false;
  }
  if (s.is_ok() && !options_.keep && !dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (ec) s = Status(ErrorCode::kIo, fmt::format("unable to remove {}: {}", dir_, ec.message()));
    else dir_.clear();
  }
  return s;
}

std::string ScratchPg::conninfo(const std::string& dbname) const {
  return fmt::format("host={} port={} dbname={} user={}", conninfo_value(socket_dir_), port_, conninfo_value(dbname),
                     kSuperuser);
}

std::string ScratchPg::tcp_conninfo(const std::string& dbname) const {
  return fmt::format("host=127.0.0.1 port={} dbname={} user={}", port_, conninfo_value(dbname), kSuperuser);
}

std::string ScratchPg::log_tail(int lines) const {
  std::ifstream in(log_path_);
  std::vector<std::string> all;
  std::string line;
  while (std::getline(in, line)) {
    all.push_back(line);
    if (all.size() > static_cast<size_t>(lines) * 4) all.erase(all.begin(), all.end() - lines);
  }
  size_t from = all.size() > static_cast<size_t>(lines) ? all.size() - static_cast<size_t>(lines) : 0;
  std::string out;
  for (size_t i = from; i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

}  // namespace lifeboat::sources::pg
