// A throw-away MariaDB for verify-restore: a data directory made with
// mariadb-install-db in a directory of ours, a mariadbd on a UNIX socket
// there (no TCP port, no option files, events not run), stopped by stop()
// or the destructor. The OS user running lifeboat logs in as root through
// the socket (unix_socket authentication), so no password is involved.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "sources/mysql/mysql_client.h"
#include "util/subprocess.h"

namespace lifeboat::sources::mysql {

class ScratchMariadb {
 public:
  // `os_user` is the user lifeboat runs as; `as_root` when that is root
  // (mariadbd then needs --user=root). kNotFound when mariadbd or
  // mariadb-install-db is not installed; kIo with the server's own reason
  // (from its error log) when it does not come up.
  static Result<std::unique_ptr<ScratchMariadb>> start(const std::string& dir, const std::string& os_user,
                                                        bool as_root, int timeout_ms = 120000);
  ~ScratchMariadb();
  ScratchMariadb(const ScratchMariadb&) = delete;
  ScratchMariadb& operator=(const ScratchMariadb&) = delete;

  // How to reach it (socket, user, --no-defaults).
  MysqlConnection connection() const { return conn_; }
  const std::string& version() const { return version_; }
  Status stop();

 private:
  ScratchMariadb() = default;
  std::string dir_;
  std::string version_;
  MysqlConnection conn_;
  std::optional<Subprocess> proc_;
};

// The server binary (mariadbd, else mysqld), also looked for in /usr/sbin
// and /usr/local/sbin, which a non-root PATH often lacks; "" when absent.
std::string find_server_binary();

}  // namespace lifeboat::sources::mysql
