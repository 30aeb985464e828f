#include "ops/pg_dump_restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "ops/dump.h"
#include "sources/pg/dump_copy.h"
#include "sources/pg/dump_feed.h"
#include "sources/pg/dump_session.h"
#include "sources/pg/dump_tools.h"
#include "util/posix_error.h"
#include "util/subprocess.h"

namespace lifeboat::ops {

namespace pg = sources::pg;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Status write_file(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return posix_error(errno, "unable to create " + path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return posix_error(e, "unable to write " + path);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return Status::ok();
}

struct TempDir {
  std::string path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

Result<PgDumpTable> resolve_dump_table(const PgDumpSource& source, const std::string& ref,
                                       const std::string& snapshot_name) {
  std::vector<const PgDumpTable*> found;
  for (const auto& t : source.tables)
    if (t.qualified() == ref) return t;
  for (const auto& t : source.tables)
    if (t.name == ref) found.push_back(&t);
  if (found.size() == 1) return *found[0];
  if (found.size() > 1) {
    std::string names;
    for (auto* t : found) names += (names.empty() ? "" : ", ") + t->qualified();
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("table \"{}\" is in several schemas of the dump ({}): give schema.table", ref, names));
  }
  std::string names;
  size_t shown = 0;
  for (const auto& t : source.tables) {
    if (shown == 10) {
      names += fmt::format(", ... ({} in all)", source.tables.size());
      break;
    }
    names += (names.empty() ? "" : ", ") + t.qualified();
    ++shown;
  }
  return Status(ErrorCode::kNotFound,
                fmt::format("table \"{}\" is not in the dump of database \"{}\" (snapshot {}){}", ref,
                            source.database, snapshot_name,
                            source.tables.empty() ? ", which has no tables" : ": it has " + names));
}

Result<PgRestoreTool> find_pg_restore(const PgDumpSource& source, const std::string& bindir) {
  LB_ASSIGN_OR_RETURN(pg::PgTool tool, pg::find_tool("pg_restore", bindir));
  int need = pg::major_of_version(source.pg_dump_version);
  if (tool.major < need)
    return Status(ErrorCode::kUnsupported,
                  fmt::format("{} is pg_restore {}, which cannot read a dump made by pg_dump {}: install pg_restore "
                              "{} or newer and name its directory with --pg-bin",
                              tool.path, tool.version, source.pg_dump_version, pg::major_name(need)));
  return PgRestoreTool{tool.path, tool.major};
}

std::string select_toc_entries(const std::string& listing, const std::vector<PgDumpTable>& tables, bool data_only,
                               const std::vector<std::string>& schemas) {
  std::vector<std::string> wanted;
  for (const auto& s : schemas) wanted.push_back("SCHEMA - " + s);
  for (const auto& t : tables) {
    wanted.push_back("TABLE DATA " + t.schema + " " + t.name);
    if (!data_only) wanted.push_back("TABLE " + t.schema + " " + t.name);
  }
  std::string out;
  size_t pos = 0;
  while (pos < listing.size()) {
    size_t nl = listing.find('\n', pos);
    if (nl == std::string::npos) nl = listing.size();
    std::string_view line(listing.data() + pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == ';') continue;
    // "3330; 0 16386 TABLE DATA public orders postgres"
    auto semi = line.find("; ");
    if (semi == std::string_view::npos) continue;
    std::string_view rest = line.substr(semi + 2);
    for (int skip = 0; skip < 2; ++skip) {
      auto sp = rest.find(' ');
      if (sp == std::string_view::npos) {
        rest = {};
        break;
      }
      rest = rest.substr(sp + 1);
    }
    for (const auto& w : wanted) {
      if (rest == w || (rest.size() > w.size() && rest.substr(0, w.size()) == w && rest[w.size()] == ' ')) {
        out.append(line);
        out += '\n';
        break;
      }
    }
  }
  return out;
}

Status run_pg_restore(const repo::Repository& repo, const repo::Snapshot& snapshot, const PgDumpSource& source,
                      const PgRestoreTool& tool, const PgRestoreRun& run, const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(repo::Node top, find_entry(repo, snapshot, source.path));
  bool directory = source.format == "directory";
  std::map<std::string, repo::Node> nodes;
  std::vector<pg::FifoFeeder::File> files;
  if (directory) {
    if (top.type != repo::NodeType::kDir || !top.subtree)
      return Status(ErrorCode::kCorrupt, fmt::format("{} in snapshot {} is not a directory-format dump", source.path,
                                                     snapshot.id.short_hex()));
    LB_ASSIGN_OR_RETURN(repo::Tree tree, repo.load_tree(*top.subtree));
    for (auto& n : tree.nodes) {
      if (n.type != repo::NodeType::kFile) continue;
      bool regular = n.name == "toc.dat" || ends_with(n.name, ".toc");
      files.push_back({n.name, regular});
      nodes.emplace(n.name, std::move(n));
    }
    if (!nodes.count("toc.dat"))
      return Status(ErrorCode::kCorrupt,
                    fmt::format("{} in snapshot {} has no toc.dat", source.path, snapshot.id.short_hex()));
  } else {
    if (top.type != repo::NodeType::kFile)
      return Status(ErrorCode::kCorrupt,
                    fmt::format("{} in snapshot {} is not a dump file", source.path, snapshot.id.short_hex()));
    files.push_back({"dump", false});
    nodes.emplace("dump", std::move(top));
  }

  std::string parent = run.spool_dir.empty() ? "/tmp" : run.spool_dir;
  TempDir spool;
  {
    std::string tmpl = parent + "/lifeboat-pgrestore-XXXXXX";
    if (!::mkdtemp(tmpl.data())) return posix_error(errno, "unable to create a directory in " + parent);
    spool.path = tmpl;
  }
  std::string archive_dir = spool.path + "/archive";
  if (::mkdir(archive_dir.c_str(), 0700) != 0) return posix_error(errno, "unable to create " + archive_dir);

  auto write = [&](const std::string& name, const pg::FifoFeeder::Sink& sink) -> Status {
    return write_content(repo, nodes.at(name), [&](ByteSpan d) -> Status {
      if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "cancelled");
      LB_RETURN_IF_ERROR(sink(d));
      if (run.bytes_done) *run.bytes_done += d.size();
      return Status::ok();
    });
  };
  LB_ASSIGN_OR_RETURN(auto feeder, pg::FifoFeeder::create(archive_dir, files, write));

  Subprocess::Options so;
  so.argv = {tool.path};
  so.argv.insert(so.argv.end(), run.args.begin(), run.args.end());
  if (!run.list.empty()) {
    std::string list_path = spool.path + "/restore.list";
    LB_RETURN_IF_ERROR(write_file(list_path, run.list));
    so.argv.push_back("--use-list=" + list_path);
  }
  // The format is given, so that pg_restore opens the pipe once (guessing it
  // would read the start, close, and open again).
  so.argv.push_back(directory ? "--format=directory" : "--format=custom");
  so.argv.push_back(directory ? archive_dir : archive_dir + "/dump");
  so.env = run.env;
  so.pipe = run.out ? Subprocess::Pipe::kRead : Subprocess::Pipe::kNone;
  LB_ASSIGN_OR_RETURN(Subprocess child, Subprocess::start(so));
  feeder->start();
  Status consumed;
  if (run.out) {
    std::vector<uint8_t> buf(1 << 16);
    for (;;) {
      auto n = child.read(buf.data(), buf.size());
      if (!n.is_ok()) {
        consumed = n.status();
        break;
      }
      if (*n == 0) break;
      consumed = run.out(ByteSpan(buf.data(), *n));
      if (!consumed.is_ok()) break;
    }
    if (!consumed.is_ok()) child.kill();
  }
  Status exited = child.wait();
  Status fed = feeder->finish();
  // A damaged or unreadable dump explains pg_restore's failure best.
  if (!fed.is_ok()) return fed.with_context("unable to read the dump");
  if (!consumed.is_ok()) return consumed;
  if (!exited.is_ok()) {
    std::string line = pg::tool_error_line(child.stderr_text());
    return Status(ErrorCode::kIo, line.empty() ? exited.message() : line);
  }
  return Status::ok();
}

Result<PgDumpRestoreResult> pg_restore_dump(const repo::Repository& repo, const repo::Snapshot& snapshot,
                                        const PgDumpRestoreOptions& options, const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(PgDumpSource source, PgDumpSource::from_json(snapshot.source_json));
  if (options.dsn.empty())
    return Status(ErrorCode::kInvalidArgument,
                  "no target given: --dsn \"host=... dbname=... user=...\" names the database to restore into "
                  "(create it first; the password from PGPASSWORD or PGPASSFILE)");
  if (options.jobs < 1) return Status(ErrorCode::kInvalidArgument, "--jobs must be at least 1");
  if (options.jobs > 1 && source.format != "directory")
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("--jobs needs a directory-format dump (made with `pg dump --jobs N`); snapshot {} holds a "
                              "custom-format dump, which pg_restore reads from start to end with one job",
                              snapshot.id.short_hex()));
  if (options.data_only && options.clean)
    return Status(ErrorCode::kInvalidArgument,
                  "--clean drops the tables and --data-only keeps them: give one of the two");
  PgDumpRestoreResult result;
  for (const auto& ref : options.tables) {
    LB_ASSIGN_OR_RETURN(PgDumpTable t, resolve_dump_table(source, ref, snapshot.id.short_hex()));
    result.tables.push_back(t);
  }
  if (options.tables.empty()) result.tables = source.tables;
  LB_ASSIGN_OR_RETURN(PgRestoreTool tool, find_pg_restore(source, options.bindir));
  LB_ASSIGN_OR_RETURN(pg::ConnInfo ci, pg::parse_conninfo(options.dsn));
  // The target is there and lets us in, before pg_restore gets near it.
  LB_ASSIGN_OR_RETURN(auto target, pg::PgSession::connect(options.dsn));
  // A table restored on its own comes with its schema when the target lacks it.
  std::vector<std::string> missing_schemas;
  if (!options.tables.empty() && !options.data_only) {
    for (const auto& t : result.tables) {
      if (std::find(missing_schemas.begin(), missing_schemas.end(), t.schema) != missing_schemas.end()) continue;
      LB_ASSIGN_OR_RETURN(auto n, target->scalar("SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = " +
                                                 target->quote_literal(t.schema)));
      if (n && *n == "0") missing_schemas.push_back(t.schema);
    }
  }
  target.reset();

  PgRestoreRun run;
  run.spool_dir = options.spool_dir;
  run.bytes_done = options.bytes_done;
  if (auto pw = ci.password()) run.env["PGPASSWORD"] = *pw;
  if (!options.tables.empty()) {
    // pg_restore -t matches a name in any schema; a TOC list names exactly
    // the tables asked for.
    PgRestoreRun list_run = run;
    list_run.bytes_done = nullptr;
    list_run.args = {"--list"};
    std::string listing;
    list_run.out = [&](ByteSpan d) {
      listing.append(reinterpret_cast<const char*>(d.data()), d.size());
      return Status::ok();
    };
    LB_RETURN_IF_ERROR(run_pg_restore(repo, snapshot, source, tool, list_run, ctx)
                           .with_context("unable to read the dump's table of contents"));
    run.list = select_toc_entries(listing, result.tables, options.data_only, missing_schemas);
    if (run.list.empty())
      return Status(ErrorCode::kCorrupt, "the dump's table of contents has no entry for the tables asked for");
  }
  run.args = {"--dbname=" + ci.without_password(), "--no-password", "--exit-on-error"};
  if (options.jobs > 1) {
    run.args.push_back(fmt::format("--jobs={}", options.jobs));
    result.single_transaction = false;
  } else {
    run.args.push_back("--single-transaction");
  }
  if (options.clean) {
    run.args.push_back("--clean");
    run.args.push_back("--if-exists");
  }
  if (options.data_only) run.args.push_back("--data-only");
  if (options.no_owner) run.args.push_back("--no-owner");
  if (options.no_privileges) run.args.push_back("--no-privileges");
  Status s = run_pg_restore(repo, snapshot, source, tool, run, ctx);
  if (!s.is_ok()) {
    if (s.code() == ErrorCode::kCancelled) return s;
    return s.with_context(result.single_transaction
                              ? "pg_restore failed, nothing was restored (it ran as one transaction)"
                              : "pg_restore failed (a parallel restore is not one transaction: what it restored "
                                "before the error stays)");
  }
  if (options.bytes_done) result.bytes = options.bytes_done->load();
  return result;
}

Result<PgCsvResult> pg_dump_csv(const repo::Repository& repo, const repo::Snapshot& snapshot,
                                const PgCsvOptions& options, const std::function<Status(std::string_view)>& sink,
                                const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(PgDumpSource source, PgDumpSource::from_json(snapshot.source_json));
  PgCsvResult result;
  LB_ASSIGN_OR_RETURN(result.table, resolve_dump_table(source, options.table, snapshot.id.short_hex()));
  LB_ASSIGN_OR_RETURN(PgRestoreTool tool, find_pg_restore(source, options.bindir));

  PgRestoreRun run;
  run.spool_dir = options.spool_dir;
  std::string listing;
  run.args = {"--list"};
  run.out = [&](ByteSpan d) {
    listing.append(reinterpret_cast<const char*>(d.data()), d.size());
    return Status::ok();
  };
  LB_RETURN_IF_ERROR(run_pg_restore(repo, snapshot, source, tool, run, ctx)
                         .with_context("unable to read the dump's table of contents"));
  run.list = select_toc_entries(listing, {result.table}, true);
  if (run.list.empty())
    return Status(ErrorCode::kNotFound,
                  fmt::format("the dump holds no data for table {}", result.table.qualified()));

  pg::CopyToCsv csv(sink, options.header);
  run.args = {"--data-only", "--file=-"};
  run.out = [&](ByteSpan d) {
    return csv.feed(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
  };
  LB_RETURN_IF_ERROR(run_pg_restore(repo, snapshot, source, tool, run, ctx));
  LB_RETURN_IF_ERROR(csv.finish());
  result.rows = csv.rows();
  return result;
}

}  // namespace lifeboat::ops
