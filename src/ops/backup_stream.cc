#include "ops/backup_stream.h"

#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/posix_error.h"
#include "util/subprocess.h"

namespace lifeboat::ops {

Result<repo::Snapshot> backup_stream(repo::Repository& repo, const StreamBackupOptions& options, const OpContext& ctx) {
  LB_RETURN_IF_ERROR(split_entry_path(options.filename).status());
  if (options.filename.find('/') != std::string::npos)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("--stdin-filename \"{}\" contains a slash: give a plain file name", options.filename));
  std::optional<Subprocess> child;
  if (!options.command.empty()) {
    Subprocess::Options so;
    so.argv = options.command;
    auto started = Subprocess::start(so);
    if (!started.is_ok()) return started.status().with_context("no snapshot was written");
    child.emplace(std::move(*started));
  }
  auto builder = SnapshotBuilder::begin(repo, ctx, 0, options.bytes_done);
  if (!builder.is_ok()) return builder.status();
  auto& b = **builder;
  ReadFn read = [&](uint8_t* buf, size_t n) -> Result<size_t> {
    if (child) return child->read(buf, n);
    for (;;) {
      ssize_t got = ::read(options.stdin_fd, buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) return posix_error(errno, "unable to read standard input");
    }
  };
  EntryMeta meta;
  meta.mode = 0644;
  meta.uid = ctx.uid;
  meta.gid = ctx.gid;
  auto stored = b.add_file(options.filename, read, meta);
  if (child) {
    if (!stored.is_ok()) child->kill();
    Status exited = child->wait();
    if (stored.is_ok() && !exited.is_ok()) {
      b.abort();
      return exited.with_context("the command failed, no snapshot was written");
    }
  }
  if (!stored.is_ok()) {
    b.abort();
    return stored.status();
  }
  SnapshotInfo info;
  info.kind = options.command.empty() ? "stdin" : "command";
  info.paths = {"/" + options.filename};
  info.tags = options.tags;
  info.time_ns = options.time_ns;
  nlohmann::json source = nlohmann::json::object();
  if (!options.command.empty()) source["command"] = options.command;
  info.source_json = source.dump();
  return b.commit(info);
}

}  // namespace lifeboat::ops
