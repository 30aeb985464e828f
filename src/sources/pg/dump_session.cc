#include "sources/pg/dump_session.h"

#include <fmt/format.h>

namespace lifeboat::sources::pg {

namespace {

std::string first_line(std::string_view s) {
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  auto nl = s.find('\n');
  std::string line(nl == std::string_view::npos ? s : s.substr(0, nl));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '.')) line.pop_back();
  return line;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

}  // namespace

std::string conninfo_value(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

std::string ConnInfo::get(const std::string& key) const {
  auto it = params.find(key);
  return it == params.end() ? "" : it->second;
}

std::optional<std::string> ConnInfo::password() const {
  auto it = params.find("password");
  if (it == params.end()) return std::nullopt;
  return it->second;
}

std::string ConnInfo::without_password() const {
  std::string out;
  for (const auto& [k, v] : params) {
    if (k == "password") continue;
    if (!out.empty()) out += ' ';
    out += k + "=" + conninfo_value(v);
  }
  return out;
}

Result<ConnInfo> parse_conninfo(const std::string& dsn) {
  std::string text = dsn;
  // A bare word (no '=' and no URI scheme) is a database name, as for psql.
  bool uri = text.rfind("postgresql://", 0) == 0 || text.rfind("postgres://", 0) == 0;
  if (!uri && text.find('=') == std::string::npos) {
    ConnInfo ci;
    if (!text.empty()) ci.params["dbname"] = text;
    return ci;
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(text.c_str(), &err);
  if (!opts) {
    std::string msg = err ? first_line(err) : "out of memory";
    if (err) PQfreemem(err);
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("invalid DSN: {}: give key=value pairs (\"host=db1 port=5432 dbname=app user=backup\") "
                              "or a postgresql:// URI",
                              msg));
  }
  ConnInfo ci;
  for (PQconninfoOption* o = opts; o->keyword; ++o)
    if (o->val) ci.params[o->keyword] = o->val;
  PQconninfoFree(opts);
  return ci;
}

std::string describe_where(const char* host, const char* port) {
  std::string h = host && *host ? host : "localhost";
  std::string p = port && *port ? port : "5432";
  if (h[0] == '/') return fmt::format("socket {} port {}", h, p);
  return h + ":" + p;
}

Status connect_error(std::string_view message, const std::string& where, const std::string& user,
                     const std::string& database) {
  std::string line = first_line(message);
  // libpq 14+: 'connection to server at "h" (ip), port p failed: REASON'.
  if (line.rfind("connection to server", 0) == 0) {
    auto p = line.find(" failed: ");
    if (p != std::string::npos) line = line.substr(p + 9);
  }
  if (line.rfind("FATAL:", 0) == 0) {
    line = line.substr(6);
    while (!line.empty() && line.front() == ' ') line.erase(0, 1);
  }
  if (contains(line, "password authentication failed"))
    return Status(ErrorCode::kPermission,
                  fmt::format("PostgreSQL at {} refused the password for user \"{}\": set the right one in PGPASSWORD "
                              "or in a PGPASSFILE (~/.pgpass) entry",
                              where, user));
  if (contains(line, "no password supplied"))
    return Status(ErrorCode::kPermission,
                  fmt::format("PostgreSQL at {} asks for a password for user \"{}\" and none was given: set "
                              "PGPASSWORD, or PGPASSFILE (~/.pgpass)",
                              where, user));
  if (contains(line, "database \"") && contains(line, "does not exist"))
    return Status(ErrorCode::kNotFound,
                  fmt::format("database \"{}\" does not exist on PostgreSQL at {}: check dbname in the DSN, or "
                              "create it first (createdb)",
                              database, where));
  if (contains(line, "role \"") && contains(line, "does not exist"))
    return Status(ErrorCode::kPermission,
                  fmt::format("{} on PostgreSQL at {}: check user in the DSN", line, where));
  if (contains(line, "pg_hba.conf"))
    return Status(ErrorCode::kPermission,
                  fmt::format("PostgreSQL at {} does not accept this connection ({}): allow it in pg_hba.conf",
                              where, line));
  if (contains(line, "invalid") || contains(line, "missing \"=\""))
    return Status(ErrorCode::kInvalidArgument, fmt::format("invalid DSN: {}", line));
  return Status(ErrorCode::kUnavailable,
                fmt::format("cannot connect to PostgreSQL at {}: {}: check that the server is running and the "
                            "host and port in the DSN",
                            where, line));
}

Result<std::unique_ptr<PgSession>> PgSession::connect(const std::string& dsn, int connect_timeout) {
  LB_ASSIGN_OR_RETURN(ConnInfo ci, parse_conninfo(dsn));
  // Parameters after dbname override what the DSN expands to; those before
  // it are defaults the DSN may override.
  std::string timeout = std::to_string(connect_timeout);
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* vals[] = {timeout.c_str(), "lifeboat", dsn.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, vals, 1);
  if (!conn) return Status(ErrorCode::kInternal, "libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string where = describe_where(PQhost(conn), PQport(conn));
    std::string user = PQuser(conn) ? PQuser(conn) : ci.get("user");
    std::string db = PQdb(conn) ? PQdb(conn) : ci.get("dbname");
    Status s = connect_error(PQerrorMessage(conn), where, user, db);
    PQfinish(conn);
    return s;
  }
  // Nothing the server sends as a notice goes to our stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgSession>(new PgSession(conn));
}

PgSession::PgSession(PGconn* conn) : conn_(conn), cancel_(PQgetCancel(conn)) {}

PgSession::~PgSession() {
  if (cancel_) PQfreeCancel(cancel_);
  PQfinish(conn_);
}

Status PgSession::result_status(PGresult* res, const std::string& sql) const {
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return Status::ok();
  std::string msg;
  if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)) {
    const char* sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    msg = fmt::format("{}: {}", sev ? sev : "ERROR", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
  } else {
    msg = first_line(PQerrorMessage(conn_));
  }
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  ErrorCode code = ErrorCode::kIo;
  if (state && std::string_view(state) == "57014") code = ErrorCode::kCancelled;
  if (PQstatus(conn_) != CONNECTION_OK) code = ErrorCode::kUnavailable;
  std::string shown = sql.size() > 80 ? sql.substr(0, 77) + "..." : sql;
  for (char& c : shown)
    if (c == '\n') c = ' ';
  return Status(code, fmt::format("PostgreSQL at {}: {} (in \"{}\")", where(), msg, shown));
}

Status PgSession::exec(const std::string& sql) {
  PGresult* res = PQexec(conn_, sql.c_str());
  Status s = result_status(res, sql);
  PQclear(res);
  return s;
}

Result<std::vector<Row>> PgSession::query(const std::string& sql) {
  PGresult* res = PQexec(conn_, sql.c_str());
  Status s = result_status(res, sql);
  if (!s.is_ok()) {
    PQclear(res);
    return s;
  }
  std::vector<Row> rows;
  int n = PQntuples(res), m = PQnfields(res);
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    Row row;
    for (int j = 0; j < m; ++j) {
      if (PQgetisnull(res, i, j))
        row.emplace_back(std::nullopt);
      else
        row.emplace_back(std::string(PQgetvalue(res, i, j), static_cast<size_t>(PQgetlength(res, i, j))));
    }
    rows.push_back(std::move(row));
  }
  PQclear(res);
  return rows;
}

Result<std::optional<std::string>> PgSession::scalar(const std::string& sql) {
  LB_ASSIGN_OR_RETURN(auto rows, query(sql));
  if (rows.size() != 1 || rows[0].size() != 1)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("expected one value, the query returned {} row(s) of {} column(s)", rows.size(),
                              rows.empty() ? 0 : rows[0].size()));
  return rows[0][0];
}

std::string PgSession::quote_ident(std::string_view name) const {
  char* q = PQescapeIdentifier(conn_, name.data(), name.size());
  if (!q) return "\"\"";
  std::string out(q);
  PQfreemem(q);
  return out;
}

std::string PgSession::quote_literal(std::string_view value) const {
  char* q = PQescapeLiteral(conn_, value.data(), value.size());
  if (!q) return "''";
  std::string out(q);
  PQfreemem(q);
  return out;
}

void PgSession::cancel() {
  char err[256];
  if (cancel_) PQcancel(cancel_, err, sizeof err);
}

int PgSession::server_version_num() const { return PQserverVersion(conn_); }

std::string PgSession::server_version() const {
  const char* v = PQparameterStatus(conn_, "server_version");
  std::string s = v ? v : "";
  auto sp = s.find(' ');  // "15.5 (Debian 15.5-1)"
  return sp == std::string::npos ? s : s.substr(0, sp);
}

std::string PgSession::database() const { return PQdb(conn_) ? PQdb(conn_) : ""; }
std::string PgSession::user() const { return PQuser(conn_) ? PQuser(conn_) : ""; }
std::string PgSession::where() const { return describe_where(PQhost(conn_), PQport(conn_)); }

}  // namespace lifeboat::sources::pg
