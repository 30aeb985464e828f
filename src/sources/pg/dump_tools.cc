#include "sources/pg/dump_tools.h"

#include <cctype>

#include <fmt/format.h>

#include "util/subprocess.h"

namespace lifeboat::sources::pg {

int major_of_version(const std::string& version) {
  int a = 0, b = 0;
  size_t i = 0;
  while (i < version.size() && std::isdigit(static_cast<unsigned char>(version[i]))) a = a * 10 + (version[i++] - '0');
  if (a >= 10 || i >= version.size() || version[i] != '.') return a;
  ++i;
  while (i < version.size() && std::isdigit(static_cast<unsigned char>(version[i]))) b = b * 10 + (version[i++] - '0');
  return a * 100 + b;
}

int major_of_version_num(int version_num) {
  if (version_num >= 100000) return version_num / 10000;
  return version_num / 100;  // 90624 -> 906
}

std::string major_name(int major) {
  if (major >= 100) return fmt::format("{}.{}", major / 100, major % 100);
  return std::to_string(major);
}

bool parse_tool_version(const std::string& text, std::string& version, int& major) {
  auto p = text.find(") ");
  if (p == std::string::npos) return false;
  size_t start = p + 2, end = start;
  while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
  version = text.substr(start, end - start);
  if (version.empty() || !std::isdigit(static_cast<unsigned char>(version[0]))) return false;
  major = major_of_version(version);
  return major > 0;
}

Result<PgTool> find_tool(const std::string& name, const std::string& bindir) {
  PgTool tool;
  if (!bindir.empty()) {
    tool.path = find_program(bindir + "/" + name);
    if (tool.path.empty())
      return Status(ErrorCode::kNotFound,
                    fmt::format("{} was not found in {}: give the bin directory of a PostgreSQL installation (e.g. "
                                "/usr/lib/postgresql/15/bin)",
                                name, bindir));
  } else {
    tool.path = find_program(name);
    if (tool.path.empty())
      return Status(ErrorCode::kNotFound,
                    fmt::format("{} was not found in PATH: install the PostgreSQL client programs (Debian: apt "
                                "install postgresql-client) or name their directory with --pg-bin",
                                name));
  }
  auto out = run_capture({tool.path, "--version"});
  if (!out.is_ok()) return out.status().with_context("unable to run " + tool.path + " --version");
  if (!parse_tool_version(*out, tool.version, tool.major))
    return Status(ErrorCode::kUnsupported,
                  fmt::format("{} --version printed \"{}\", which is not a PostgreSQL version", tool.path, *out));
  return tool;
}

std::string tool_error_line(const std::string& stderr_text) {
  std::string_view text(stderr_text);
  std::string_view last;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.find("error:") != std::string_view::npos || line.find("fatal:") != std::string_view::npos) {
      std::string out(line);
      // "ERROR:  x" -> "ERROR: x"
      for (size_t i; (i = out.find(":  ")) != std::string::npos;) out.erase(i + 1, 1);
      return out;
    }
    last = line;
  }
  return std::string(last);
}

Result<std::vector<TableRef>> list_tables(PgSession& session) {
  LB_ASSIGN_OR_RETURN(auto rows, session.query(
      "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind = 'r' AND c.relpersistence <> 't' "
      "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' "
      "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass "
      "AND d.objid = c.oid AND d.deptype = 'e') "
      "ORDER BY 1, 2"));
  std::vector<TableRef> out;
  out.reserve(rows.size());
  for (auto& r : rows) out.push_back(TableRef{r[0].value_or(""), r[1].value_or("")});
  return out;
}

Result<uint64_t> count_rows(PgSession& session, const TableRef& table) {
  LB_ASSIGN_OR_RETURN(auto v, session.scalar(fmt::format("SELECT count(*) FROM ONLY {}.{}",
                                                         session.quote_ident(table.schema),
                                                         session.quote_ident(table.name))));
  return v ? std::stoull(*v) : 0;
}

Result<std::string> begin_exported_snapshot(PgSession& session) {
  LB_RETURN_IF_ERROR(session.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  LB_ASSIGN_OR_RETURN(auto id, session.scalar("SELECT pg_catalog.pg_export_snapshot()"));
  if (!id) return Status(ErrorCode::kInternal, "pg_export_snapshot() returned NULL");
  return *id;
}

}  // namespace lifeboat::sources::pg
