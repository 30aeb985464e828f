#include "sources/mysql/mysql_client.h"

#include <fmt/format.h>

#include "util/subprocess.h"

namespace lifeboat::sources::mysql {

std::vector<std::string> MysqlConnection::args() const {
  std::vector<std::string> a;
  if (no_defaults) a.push_back("--no-defaults");
  else if (!defaults_file.empty()) a.push_back("--defaults-file=" + defaults_file);
  if (!host.empty()) a.push_back("--host=" + host);
  if (port) a.push_back(fmt::format("--port={}", port));
  if (!socket.empty()) a.push_back("--socket=" + socket);
  if (!user.empty()) a.push_back("--user=" + user);
  // A TCP port with the default host means localhost, which the tools
  // would take as "the socket": ask for TCP explicitly.
  if (port && host.empty() && socket.empty()) a.push_back("--protocol=TCP");
  return a;
}

std::string MysqlConnection::display() const {
  if (!socket.empty()) return "socket " + socket;
  if (!host.empty() || port)
    return fmt::format("{}:{}", host.empty() ? "localhost" : host, port ? port : 3306);
  return "the local server";
}

Result<std::string> find_dump_tool() {
  for (const char* t : {"mariadb-dump", "mysqldump"})
    if (!find_program(t).empty()) return std::string(t);
  return Status(ErrorCode::kNotFound,
                "mariadb-dump (or mysqldump) was not found: install it (Debian: apt install mariadb-client) or put "
                "it in PATH");
}

Result<std::string> find_client_tool() {
  for (const char* t : {"mariadb", "mysql"})
    if (!find_program(t).empty()) return std::string(t);
  return Status(ErrorCode::kNotFound,
                "mariadb (or mysql) was not found: install it (Debian: apt install mariadb-client) or put it in PATH");
}

std::string tool_version(const std::string& tool) {
  auto out = run_capture({tool, "--version"});
  if (!out.is_ok()) return "";
  std::string v = *out;
  auto nl = v.find('\n');
  if (nl != std::string::npos) v.resize(nl);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
  return v;
}

namespace {

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char e = s[++i];
      switch (e) {
        case 't': out.push_back('\t'); break;
        case 'n': out.push_back('\n'); break;
        case '0': out.push_back('\0'); break;
        default: out.push_back(e);
      }
      continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

}  // namespace

Result<std::vector<std::vector<std::string>>> query(const MysqlConnection& conn, const std::string& sql) {
  LB_ASSIGN_OR_RETURN(std::string tool, find_client_tool());
  std::vector<std::string> argv = {tool};
  for (auto& a : conn.args()) argv.push_back(a);
  if (!conn.database.empty()) argv.push_back("--database=" + conn.database);
  argv.insert(argv.end(), {"--batch", "--skip-column-names", "--execute", sql});
  auto out = run_capture(argv, conn.env);
  if (!out.is_ok()) return explain_error(out.status(), conn);
  std::vector<std::vector<std::string>> rows;
  size_t start = 0;
  const std::string& text = *out;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    std::vector<std::string> cols;
    size_t c = 0;
    for (;;) {
      size_t tab = line.find('\t', c);
      cols.push_back(unescape(line.substr(c, tab == std::string_view::npos ? std::string_view::npos : tab - c)));
      if (tab == std::string_view::npos) break;
      c = tab + 1;
    }
    rows.push_back(std::move(cols));
  }
  return rows;
}

Status explain_error(const Status& status, const MysqlConnection& conn) {
  const std::string& m = status.message();
  auto has = [&](const char* code) {
    return m.find(fmt::format("ERROR {}", code)) != std::string::npos ||
           m.find(fmt::format("error: {}", code)) != std::string::npos;
  };
  std::string hint;
  ErrorCode code = status.code();
  if (has("1045") || has("1698")) {
    hint = "check the user (--user) and the password (MYSQL_PWD or the option file)";
    code = ErrorCode::kPermission;
  } else if (has("2002") || has("2003") || has("2005") || has("2013")) {
    hint = fmt::format("is the server running at {}? check --host, --port or --socket", conn.display());
    code = ErrorCode::kUnavailable;
  } else if (has("1049")) {
    hint = "check --database (SHOW DATABASES lists them)";
    code = ErrorCode::kNotFound;
  } else if (has("1044") || has("1142") || has("1227")) {
    hint = "grant the user the privileges it lacks";
    code = ErrorCode::kPermission;
  }
  if (hint.empty()) return status;
  return Status(code, fmt::format("{}; {}", m, hint));
}

std::string quote_identifier(const std::string& name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out.push_back('`');
    out.push_back(c);
  }
  return out + "`";
}

std::string quote_string(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

}  // namespace lifeboat::sources::mysql
