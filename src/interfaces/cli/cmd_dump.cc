#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/render.h"
#include "ops/dump.h"
#include "ops/snapshot_select.h"
#include "util/posix_error.h"

namespace lifeboat::cli {

namespace {
struct DumpArgs {
  std::string snapshot;
  std::string path;
  std::string target;
  ops::SnapshotFilter filter;
};

}  // namespace

void add_dump_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<DumpArgs>();
  auto* cmd = app.add_subcommand("dump", "Write one file of a snapshot to standard output");
  cmd->add_option("snapshot", a->snapshot, "Snapshot id, id prefix, \"latest\" or a time")->required();
  cmd->add_option("path", a->path, "The file in the snapshot (e.g. /stdin, /db.sql)")->required();
  cmd->add_option("--target", a->target, "Write to this file instead of standard output (must not exist)");
  add_filter_options(cmd, a->filter);
  cmd->footer("Example: lifeboat dump latest /db.sql | psql mydb");
  cmd->callback([&g, a] {
    g.action = [&g, a]() -> int {
      if (a->target.empty() && ::isatty(STDOUT_FILENO))
        return fail(Status(ErrorCode::kInvalidArgument,
                           "dump: standard output is a terminal; redirect it to a file or a program, or use --target"));
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      if (Status s = (*repo)->load_index(); !s.is_ok()) return fail(s);
      auto snap = ops::find_snapshot(**repo, a->snapshot, a->filter);
      if (!snap.is_ok()) return fail(snap.status());
      auto node = ops::find_entry(**repo, *snap, a->path);
      if (!node.is_ok()) return fail(node.status());
      int fd = STDOUT_FILENO;
      std::string where = "standard output";
      if (!a->target.empty()) {
        fd = ::open(a->target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) return fail(posix_error(errno, "unable to create " + a->target));
        where = a->target;
      }
      Status s = ops::write_content(**repo, *node, [&](ByteSpan d) { return write_all(fd, d, where); });
      if (!a->target.empty()) {
        if (s.is_ok() && ::fsync(fd) != 0) s = posix_error(errno, "unable to write " + where);
        ::close(fd);
        if (!s.is_ok()) ::unlink(a->target.c_str());
      }
      if (!s.is_ok()) return fail(s);
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
