// Talking to MariaDB / MySQL through its own command-line tools (mariadb,
// mariadb-dump; mysql, mysqldump where those are what is installed), so
// that the dump is exactly what the server's own tool writes and no client
// library is linked.
//
// Passwords never appear on a command line: the tools read MYSQL_PWD from
// the environment (inherited) or an option file (--defaults-file).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/status.h"

namespace lifeboat::sources::mysql {

struct MysqlConnection {
  std::string host;           // empty: the tools' default (local socket)
  int port = 0;               // 0: default
  std::string socket;
  std::string user;           // empty: the tools' default (the OS user)
  std::string defaults_file;  // --defaults-file (user, password, host, ... in [client])
  bool no_defaults = false;   // --no-defaults: ignore ~/.my.cnf and /etc/mysql (scratch servers)
  std::string database;       // the default database of queries (not of dumps)
  std::map<std::string, std::string> env;  // added to the tools' environment

  // The connection options for mariadb / mariadb-dump; --no-defaults or
  // --defaults-file first, as the tools require.
  std::vector<std::string> args() const;
  // "127.0.0.1:3306", "socket /run/mysqld/mysqld.sock", "the local server".
  std::string display() const;
};

// The dump tool: mariadb-dump, else mysqldump. kNotFound with what to
// install.
Result<std::string> find_dump_tool();
// The client: mariadb, else mysql.
Result<std::string> find_client_tool();

// The first line of `tool --version`, trimmed.
std::string tool_version(const std::string& tool);

// Runs `sql` with the client in batch mode and returns its rows, columns
// split at tabs and unescaped (\t \n \\ \0); NULL is "NULL". A failure is
// explained (explain_error).
Result<std::vector<std::vector<std::string>>> query(const MysqlConnection& conn, const std::string& sql);

// A tool's failure as one line that says what to do: access denied ->
// check --user and MYSQL_PWD, cannot connect -> is the server running,
// unknown database -> check --database.
Status explain_error(const Status& status, const MysqlConnection& conn);

// `name` quoted as an identifier: `a``b`.
std::string quote_identifier(const std::string& name);
// `s` quoted as a string literal: 'it\'s'.
std::string quote_string(const std::string& s);

}  // namespace lifeboat::sources::mysql
