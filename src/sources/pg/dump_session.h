// PgSession: one libpq connection with errors a user can act on, and
// ConnInfo: a connection string (DSN) taken apart, so that a child program
// (pg_dump, pg_restore) gets it without the password on its command line.
//
// Connection failures come back as one line that says what to do:
//   kUnavailable  "cannot connect to PostgreSQL at 127.0.0.1:5433: Connection refused: check that ..."
//   kPermission   "PostgreSQL at 127.0.0.1:5432 refused the password for user \"app\": set PGPASSWORD ..."
//   kNotFound     "database \"nope\" does not exist on PostgreSQL at ...: check dbname ..."
//   kInvalidArgument for a malformed DSN.
// libpq reads PGPASSWORD, PGPASSFILE (~/.pgpass), PGHOST, ... itself.
//
// A PgSession is used by one thread at a time; cancel() may be called from
// any thread.
#pragma once

#include <libpq-fe.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace lifeboat::sources::pg {

struct ConnInfo {
  std::map<std::string, std::string> params;  // libpq keywords given in the DSN

  // The value of `key`, or "" when the DSN does not give it.
  std::string get(const std::string& key) const;
  // The same connection without the password, as key='value' pairs (for a
  // child's argv; the password goes to its environment as PGPASSWORD).
  std::string without_password() const;
  std::optional<std::string> password() const;
};

// Parses "key=value ..." or a postgresql:// URI; a bare word is a database
// name (as libpq and pg_dump -d take it).
Result<ConnInfo> parse_conninfo(const std::string& dsn);

using Row = std::vector<std::optional<std::string>>;  // nullopt: SQL NULL

class PgSession {
 public:
  // Connects with `connect_timeout` seconds unless the DSN sets its own.
  static Result<std::unique_ptr<PgSession>> connect(const std::string& dsn, int connect_timeout = 10);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // Runs SQL (several statements allowed when it returns no rows).
  Status exec(const std::string& sql);
  // Runs one query; all rows as text.
  Result<std::vector<Row>> query(const std::string& sql);
  // Runs one query that returns exactly one row of one column.
  Result<std::optional<std::string>> scalar(const std::string& sql);

  std::string quote_ident(std::string_view name) const;
  std::string quote_literal(std::string_view value) const;

  // Asks the server to stop the running query (thread-safe).
  void cancel();

  int server_version_num() const;       // 150005
  std::string server_version() const;   // "15.5"
  std::string database() const;
  std::string user() const;
  // "host:port" or "socket DIR port N", for messages.
  std::string where() const;

 private:
  explicit PgSession(PGconn* conn);
  Status result_status(PGresult* res, const std::string& sql) const;

  PGconn* conn_;
  PGcancel* cancel_ = nullptr;
};

// The one-line error a failed connection deserves (exposed for tests):
// `message` is PQerrorMessage, `where` as PgSession::where(), `user` the role.
Status connect_error(std::string_view message, const std::string& where, const std::string& user,
                     const std::string& database);

// `v` as a conninfo value: 'v' with quotes and backslashes escaped.
std::string conninfo_value(std::string_view v);

// "host:port" for messages, from libpq's view of a connection.
std::string describe_where(const char* host, const char* port);

}  // namespace lifeboat::sources::pg
