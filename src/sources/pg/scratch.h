// ScratchPg: a throwaway PostgreSQL server for restore tests. It lives in a
// fresh temporary directory (data directory, unix socket directory, log),
// listens on a unix socket in that directory only (unless `tcp`: then also
// on 127.0.0.1 at a free port), trusts local connections, and is stopped and
// removed by stop() or the destructor.
//
//   auto pg = ScratchPg::create(opts);          // initdb (or adopt a data directory)
//   pg->start();                                // pg_ctl start -w
//   auto s = PgSession::connect(pg->conninfo("postgres"));
//   pg->stop();                                 // fast shutdown, files removed unless keep
//
// The server's programs come from ScratchOptions::bindir, else the newest
// installation that is at least `min_major` among /usr/lib/postgresql/*/bin
// (Debian), /usr/pgsql-*/bin (RHEL), and the directory of `postgres` or
// `pg_ctl` in PATH. initdb and the server refuse to run as root: when this
// process is root, they run as `run_as` (default "postgres") through
// setpriv, and the directory is handed to that user.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/status.h"

namespace lifeboat::sources::pg {

struct ServerInstall {
  std::string bindir;
  std::string version;  // "15.5"
  int major = 0;        // 15
};

// Finds the server programs (initdb, pg_ctl, postgres) as described above;
// kNotFound with what to install when there are none (new enough).
Result<ServerInstall> find_server(const std::string& bindir, int min_major);

struct ScratchOptions {
  std::string root;         // the parent of the instance's directory; empty: /tmp
  std::string bindir;       // empty: search
  int min_major = 0;        // the oldest server major version acceptable
  std::string run_as;       // when root: the OS user the server runs as; empty: "postgres"
  bool tcp = false;         // also listen on 127.0.0.1 at a free port
  std::vector<std::string> conf_lines;  // appended to postgresql.conf
  std::string data_dir;     // adopt this data directory (e.g. a restored base backup) instead of initdb;
                            // it must be inside `root`'s instance directory or owned by run_as
  bool keep = false;        // leave the directory behind (for a post-mortem)
};

class ScratchPg {
 public:
  // Creates the directory and runs initdb (unless data_dir is given).
  static Result<std::unique_ptr<ScratchPg>> create(const ScratchOptions& options);
  ~ScratchPg();  // stops the server (immediate) and removes the directory unless keep
  ScratchPg(const ScratchPg&) = delete;
  ScratchPg& operator=(const ScratchPg&) = delete;

  // Starts the server and waits until it accepts connections (pg_ctl -w);
  // on failure the error carries the last line of the server's log.
  Status start(int timeout_s = 120);
  // Fast shutdown, then removes the directory unless keep.
  Status stop();

  // "host=SOCKETDIR port=N dbname=DB user=postgres" (no password needed).
  std::string conninfo(const std::string& dbname) const;
  // The same over TCP (tcp only).
  std::string tcp_conninfo(const std::string& dbname) const;

  const ServerInstall& install() const { return install_; }
  std::string program(const std::string& name) const { return install_.bindir + "/" + name; }
  const std::string& dir() const { return dir_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& socket_dir() const { return socket_dir_; }
  const std::string& log_path() const { return log_path_; }
  int port() const { return port_; }
  bool running() const { return running_; }
  static constexpr const char* kSuperuser = "postgres";

  // The last `lines` lines of the server's log.
  std::string log_tail(int lines = 20) const;
  // Runs one of the server's programs (as run_as when root).
  Status run_server_program(const std::vector<std::string>& argv) const;

 private:
  ScratchPg() = default;
  std::vector<std::string> as_server(std::vector<std::string> argv) const;
  Status hand_over(const std::string& path) const;
  Status write_conf();

  ScratchOptions options_;
  ServerInstall install_;
  std::string dir_, data_dir_, socket_dir_, log_path_;
  int port_ = 5432;
  bool running_ = false;
  bool switch_user_ = false;
  unsigned uid_ = 0, gid_ = 0;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
Result<int> free_tcp_port();

}  // namespace lifeboat::sources::pg
