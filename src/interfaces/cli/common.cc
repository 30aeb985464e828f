#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "crypto/keyed_hash.h"
#include "ops/locking.h"
#include "repo/key_cache.h"
#include "storage/backend.h"
#include "util/encoding.h"
#include "repo/snapshot_json.h"
#include "util/clock.h"
#include "util/time_format.h"
#include "util/posix_error.h"

namespace lifeboat::cli {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

void strip_newline(std::string& s) {
  if (!s.empty() && s.back() == '\n') s.pop_back();
  if (!s.empty() && s.back() == '\r') s.pop_back();
}

Result<std::string> password_from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(ErrorCode::kInvalidArgument, fmt::format("unable to read password file {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pw = ss.str();
  strip_newline(pw);
  return pw;
}

Result<std::string> password_from_command(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return posix_error(errno, "unable to run password command");
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = ::pclose(p);
  if (rc != 0)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("password command failed (exit status {})", WIFEXITED(rc) ? WEXITSTATUS(rc) : rc));
  strip_newline(out);
  return out;
}

Result<std::string> prompt(const char* question) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status(ErrorCode::kInvalidArgument, "no terminal to ask for a password");
  struct termios old {};
  bool restore = ::tcgetattr(fd, &old) == 0;
  if (restore) {
    struct termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  (void)!::write(fd, question, std::strlen(question));
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line.push_back(c);
  if (restore) ::tcsetattr(fd, TCSAFLUSH, &old);
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  return line;
}

}  // namespace

CancelToken& cancel_token() {
  static CancelToken token;
  return token;
}

ops::OpContext make_context() {
  ops::OpContext ctx;
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) ctx.hostname = host;
  ctx.uid = ::getuid();
  ctx.gid = ::getgid();
  struct passwd pw, *result = nullptr;
  char buf[4096];
  if (getpwuid_r(ctx.uid, &pw, buf, sizeof buf, &result) == 0 && result) ctx.username = pw.pw_name;
  if (ctx.username.empty()) ctx.username = env("USER");
  ctx.pid = ::getpid();
  ctx.is_root = ::geteuid() == 0;
  ctx.cancel = &cancel_token();
  return ctx;
}

Result<std::string> read_password(const Globals& g, bool confirm) {
  if (!g.password_file.empty()) return password_from_file(g.password_file);
  if (!g.password_command.empty()) return password_from_command(g.password_command);
  if (auto f = env("LIFEBOAT_PASSWORD_FILE"); !f.empty()) return password_from_file(f);
  if (auto c = env("LIFEBOAT_PASSWORD_COMMAND"); !c.empty()) return password_from_command(c);
  if (const char* p = std::getenv("LIFEBOAT_PASSWORD")) return std::string(p);
  if (::isatty(STDIN_FILENO)) {
    LB_ASSIGN_OR_RETURN(std::string pw, prompt(confirm ? "enter a password for the new repository: "
                                                      : "enter the repository password: "));
    if (confirm) {
      LB_ASSIGN_OR_RETURN(std::string again, prompt("enter the password again: "));
      if (again != pw) return Status(ErrorCode::kInvalidArgument, "the passwords do not match; nothing was created");
    }
    return pw;
  }
  return Status(ErrorCode::kInvalidArgument,
                "no password given: set LIFEBOAT_PASSWORD or LIFEBOAT_PASSWORD_FILE, or use --password-file / "
                "--password-command");
}

Result<std::string> read_new_password(const std::string& file) {
  if (!file.empty()) return password_from_file(file);
  if (auto f = env("LIFEBOAT_NEW_PASSWORD_FILE"); !f.empty()) return password_from_file(f);
  if (const char* p = std::getenv("LIFEBOAT_NEW_PASSWORD")) return std::string(p);
  if (::isatty(STDIN_FILENO)) {
    LB_ASSIGN_OR_RETURN(std::string pw, prompt("enter the new password: "));
    LB_ASSIGN_OR_RETURN(std::string again, prompt("enter the new password again: "));
    if (again != pw) return Status(ErrorCode::kInvalidArgument, "the passwords do not match; nothing was changed");
    return pw;
  }
  return Status(ErrorCode::kInvalidArgument,
                "no new password given: use --new-password-file, or set LIFEBOAT_NEW_PASSWORD_FILE or "
                "LIFEBOAT_NEW_PASSWORD");
}

void add_from_repo_options(CLI::App* cmd, FromRepoArgs& a) {
  cmd->add_option("--from-repo", a.repo, "The other repository (or LIFEBOAT_FROM_REPOSITORY)");
  cmd->add_option("--from-password-file", a.password_file,
                  "Read the other repository's password from this file (or LIFEBOAT_FROM_PASSWORD_FILE, "
                  "LIFEBOAT_FROM_PASSWORD_COMMAND, LIFEBOAT_FROM_PASSWORD)");
  cmd->add_option("--from-password-command", a.password_command, "Run this command for the other repository's password");
}

Result<std::unique_ptr<repo::Repository>> open_from_repository(const FromRepoArgs& a) {
  std::string location = a.repo.empty() ? env("LIFEBOAT_FROM_REPOSITORY") : a.repo;
  if (location.empty())
    return Status(ErrorCode::kInvalidArgument, "no source repository given: use --from-repo or set "
                                               "LIFEBOAT_FROM_REPOSITORY");
  Result<std::string> password = Status(ErrorCode::kInvalidArgument, "");
  if (!a.password_file.empty()) password = password_from_file(a.password_file);
  else if (!a.password_command.empty()) password = password_from_command(a.password_command);
  else if (auto f = env("LIFEBOAT_FROM_PASSWORD_FILE"); !f.empty()) password = password_from_file(f);
  else if (auto c = env("LIFEBOAT_FROM_PASSWORD_COMMAND"); !c.empty()) password = password_from_command(c);
  else if (const char* p = std::getenv("LIFEBOAT_FROM_PASSWORD")) password = std::string(p);
  else if (::isatty(STDIN_FILENO)) password = prompt("enter the password of the source repository: ");
  else
    return Status(ErrorCode::kInvalidArgument,
                  "no password for the source repository: set LIFEBOAT_FROM_PASSWORD or LIFEBOAT_FROM_PASSWORD_FILE, "
                  "or use --from-password-file / --from-password-command");
  if (!password.is_ok()) return password.status().with_context("source repository");
  auto repo = repo::Repository::open(location, *password, SystemClock::instance());
  if (!repo.is_ok()) return repo.status().with_context("source repository " + location);
  if ((*repo)->keys().write_only())
    return Status(ErrorCode::kPermission, fmt::format("the password of source repository {} opens a write-only key, "
                                                      "which cannot read it: give a full key's password",
                                                      location));
  return repo;
}

std::string repository_location(const Globals& g) { return g.repo.empty() ? env("LIFEBOAT_REPOSITORY") : g.repo; }

Result<std::unique_ptr<repo::Repository>> open_repository(const Globals& g) {
  std::string location = repository_location(g);
  if (location.empty())
    return Status(ErrorCode::kInvalidArgument, "no repository given: use --repo or set LIFEBOAT_REPOSITORY");
  LB_ASSIGN_OR_RETURN(std::string password, read_password(g, false));
  LB_ASSIGN_OR_RETURN(auto repo, repo::Repository::open(location, password, SystemClock::instance()));
  if (repo->keys().write_only() && g.command != "backup" && g.command != "key list" && g.command != "log")
    return ops::write_only_refusal(g.command);
  return repo;
}

Result<std::unique_ptr<repo::Repository>> open_repository_with_key_cache(const Globals& g) {
  std::string root = cache_root(g);
  if (root.empty() || env("LIFEBOAT_KEY_CACHE") == "0") return open_repository(g);
  std::string location = repository_location(g);
  if (location.empty())
    return Status(ErrorCode::kInvalidArgument, "no repository given: use --repo or set LIFEBOAT_REPOSITORY");
  LB_ASSIGN_OR_RETURN(std::string password, read_password(g, false));
  auto digest = crypto::sha256(as_bytes(location));
  std::string file = root + "/keys/" + hex_encode(ByteSpan(digest.data(), digest.size())) + ".json";
  LB_ASSIGN_OR_RETURN(auto backend, storage::open_backend(location));
  auto cached = repo::open_from_key_cache(file, backend, password, SystemClock::instance());
  if (cached.is_ok() || cached.status().code() != ErrorCode::kNotFound) return cached;
  if (!backend) {  // a revoked cache took it
    LB_ASSIGN_OR_RETURN(backend, storage::open_backend(location));
  }
  LB_ASSIGN_OR_RETURN(auto repo, repo::Repository::open(std::move(backend), password, SystemClock::instance()));
  (void)repo::save_key_cache(file, *repo, password);  // next time, if the cache can be written
  return repo;
}

std::string cache_root(const Globals& g) {
  if (g.no_cache) return "";
  if (!g.cache_dir.empty()) return g.cache_dir;
  if (auto c = env("LIFEBOAT_CACHE_DIR"); !c.empty()) return c;
  if (auto x = env("XDG_CACHE_HOME"); !x.empty()) return x + "/lifeboat";
  if (auto h = env("HOME"); !h.empty()) return h + "/.cache/lifeboat";
  return "";
}

Status check_snapshot_options(const std::vector<std::string>& tags, const std::string& time,
                              std::optional<int64_t>* time_ns) {
  for (const auto& tag : tags)
    if (tag.empty() || tag.find(',') != std::string::npos)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("invalid tag \"{}\": tags are non-empty and contain no comma", tag));
  if (!time.empty()) {
    LB_ASSIGN_OR_RETURN(int64_t t, parse_time(time));
    if (time_ns) *time_ns = t;
  }
  return Status::ok();
}

nlohmann::json saved_snapshot_json(const repo::Snapshot& s) {
  nlohmann::json j = repo::summary_to_json(s.summary);
  j["message_type"] = "summary";
  j["snapshot_id"] = s.id.hex();
  j["kind"] = s.kind;
  j["total_duration"] = static_cast<double>(s.summary.backup_end_ns - s.summary.backup_start_ns) / 1e9;
  return j;
}

int fail(const Status& status) {
  std::fflush(stdout);
  fmt::print(stderr, "lifeboat: error: {}\n", status.to_string());
  return status.exit_code();
}

void print_warning(const std::string& message) { fmt::print(stderr, "lifeboat: warning: {}\n", message); }

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

bool show_progress(const Globals& g) { return stdout_is_terminal() && !g.quiet && !g.json; }

std::string mode_string(const repo::Node& n) {
  std::string s = "?---------";
  switch (n.type) {
    case repo::NodeType::kFile: s[0] = '-'; break;
    case repo::NodeType::kDir: s[0] = 'd'; break;
    case repo::NodeType::kSymlink: s[0] = 'l'; break;
    case repo::NodeType::kFifo: s[0] = 'p'; break;
    case repo::NodeType::kCharDev: s[0] = 'c'; break;
    case repo::NodeType::kBlockDev: s[0] = 'b'; break;
    case repo::NodeType::kSocket: s[0] = 's'; break;
  }
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (n.mode & (1u << (8 - i))) s[1 + i] = rwx[i];
  if (n.mode & 04000) s[3] = (n.mode & 0100) ? 's' : 'S';
  if (n.mode & 02000) s[6] = (n.mode & 0010) ? 's' : 'S';
  if (n.mode & 01000) s[9] = (n.mode & 0001) ? 't' : 'T';
  return s;
}

}  // namespace lifeboat::cli
