#include "ops/redis_restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ops/dump.h"
#include "ops/locking.h"
#include "util/posix_error.h"

namespace lifeboat::ops {

namespace {

Status sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return posix_error(errno, "unable to open " + dir);
  int r = ::fsync(fd);
  int e = errno;
  ::close(fd);
  return r == 0 ? Status::ok() : posix_error(e, "unable to sync " + dir);
}

// Writes a stored file to `target` under a temporary name, then renames it.
Status write_node(const repo::Repository& repo, const repo::Node& node, const std::string& target, uint64_t* bytes) {
  std::string tmp = fmt::format("{}.lifeboat-tmp-{}", target, ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, node.mode ? node.mode & 0777 : 0644);
  if (fd < 0) return posix_error(errno, "unable to create " + tmp);
  uint64_t n = 0;
  Status s = write_content(repo, node, [&](ByteSpan d) {
    n += d.size();
    return write_all(fd, d, target);
  });
  if (s.is_ok() && ::fsync(fd) != 0) s = posix_error(errno, "unable to write " + target);
  if (s.is_ok() && node.mtime_ns) {
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = node.mtime_ns / 1'000'000'000;
    times[0].tv_nsec = times[1].tv_nsec = node.mtime_ns % 1'000'000'000;
    (void)::futimens(fd, times);  // best effort: the content is what matters
  }
  ::close(fd);
  if (s.is_ok() && ::rename(tmp.c_str(), target.c_str()) != 0) s = posix_error(errno, "unable to rename " + tmp);
  if (!s.is_ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (bytes) *bytes += n;
  return Status::ok();
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Status remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status(error_code_for_errno(ec.value()), fmt::format("unable to remove {}: {}", path, ec.message()));
  return Status::ok();
}

}  // namespace

Status write_snapshot_file(const repo::Repository& repo, const repo::Snapshot& snapshot, const std::string& path,
                           const std::string& target, uint64_t* bytes) {
  LB_ASSIGN_OR_RETURN(repo::Node node, find_entry(repo, snapshot, path));
  return write_node(repo, node, target, bytes);
}

Result<RedisRestoreResult> redis_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                         const RedisRestoreOptions& options, const OpContext& ctx) {
  if (snapshot.kind != "redis")
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("snapshot {} is a {} snapshot, not a Redis one: use `lifeboat restore`",
                              snapshot.id.short_hex(), snapshot.kind));
  if (options.dir.empty()) return Status(ErrorCode::kInvalidArgument, "redis restore needs --dir");
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kShared, ctx, "restore"));
  LB_RETURN_IF_ERROR(repo.load_index());
  LB_ASSIGN_OR_RETURN(repo::Tree root, repo.load_tree(snapshot.tree));

  const repo::Node* rdb = nullptr;
  const repo::Node* aof = nullptr;  // appendonlydir/ or appendonly.aof
  for (const auto& n : root.nodes) {
    if (n.name == "dump.rdb" && n.type == repo::NodeType::kFile) rdb = &n;
    else if (options.aof) aof = &n;
  }
  if (!rdb)
    return Status(ErrorCode::kCorrupt, fmt::format("snapshot {} has no dump.rdb", snapshot.id.short_hex()));

  RedisRestoreResult result;
  auto source = nlohmann::json::parse(snapshot.source_json, nullptr, false);
  if (source.is_object() && source.contains("aof") && source["aof"].is_object())
    result.aof_filename = source["aof"].value("appendfilename", "");
  if (aof && aof->type == repo::NodeType::kDir) result.aof_dirname = aof->name;
  if (result.aof_filename.empty()) result.aof_filename = "appendonly.aof";

  // Everything a server in `dir` would load: refused unless --force.
  const std::string& d = options.dir;
  std::vector<std::string> present;
  for (std::string name : {std::string("dump.rdb"), std::string("appendonlydir"), std::string("appendonly.aof"),
                           aof ? aof->name : std::string()}) {
    if (name.empty()) continue;
    std::string p = d + "/" + name;
    if (exists(p) && std::find(present.begin(), present.end(), p) == present.end()) present.push_back(p);
  }
  if (!present.empty() && !options.force)
    return Status(ErrorCode::kAlreadyExists,
                  fmt::format("{} already exists: stop the server and move it away, or give --force to replace it",
                              present.front()));
  LB_RETURN_IF_ERROR(make_dirs(d, 0755));

  if (aof && aof->type == repo::NodeType::kDir && aof->subtree) {
    // The AOF directory is written beside under a temporary name, then
    // renamed into place.
    std::string target = d + "/" + aof->name;
    std::string tmp = fmt::format("{}.lifeboat-tmp-{}", target, ::getpid());
    LB_RETURN_IF_ERROR(remove_tree(tmp));
    if (::mkdir(tmp.c_str(), 0755) != 0) return posix_error(errno, "unable to create " + tmp);
    auto tree = repo.load_tree(*aof->subtree);
    Status s = tree.status();
    if (s.is_ok()) {
      for (const auto& f : tree->nodes) {
        if (f.type != repo::NodeType::kFile) continue;
        s = write_node(repo, f, tmp + "/" + f.name, &result.bytes);
        if (!s.is_ok()) break;
        result.written.push_back(target + "/" + f.name);
      }
    }
    if (s.is_ok()) s = sync_dir(tmp);
    if (s.is_ok() && exists(target)) s = remove_tree(target);
    if (s.is_ok() && ::rename(tmp.c_str(), target.c_str()) != 0) s = posix_error(errno, "unable to rename " + tmp);
    if (!s.is_ok()) {
      (void)remove_tree(tmp);  // best effort: the error below is what matters
      return s;
    }
    result.aof = true;
  } else if (aof && aof->type == repo::NodeType::kFile) {
    std::string target = d + "/" + aof->name;
    LB_RETURN_IF_ERROR(write_node(repo, *aof, target, &result.bytes));
    result.written.push_back(target);
    result.aof = true;
  }
  // A stale AOF the snapshot does not replace would be loaded instead of
  // dump.rdb by a server with appendonly yes: with --force it goes.
  for (const auto& p : present) {
    bool replaced = p == d + "/dump.rdb" || (aof && p == d + "/" + aof->name);
    if (replaced) continue;
    LB_RETURN_IF_ERROR(remove_tree(p));
    result.removed.push_back(p);
  }
  LB_RETURN_IF_ERROR(write_node(repo, *rdb, d + "/dump.rdb", &result.bytes));
  result.written.push_back(d + "/dump.rdb");
  LB_RETURN_IF_ERROR(sync_dir(d));

  if (result.aof && !result.aof_dirname.empty())
    result.start_command = fmt::format(
        "redis-server --dir {} --dbfilename dump.rdb --appendonly yes --appenddirname {} --appendfilename {}", d,
        result.aof_dirname, result.aof_filename);
  else if (result.aof)
    result.start_command =
        fmt::format("redis-server --dir {} --dbfilename dump.rdb --appendonly yes --appendfilename {}", d,
                    result.aof_filename);
  else
    result.start_command = fmt::format("redis-server --dir {} --dbfilename dump.rdb --appendonly no", d);
  LB_RETURN_IF_ERROR(lock->release());
  return result;
}

}  // namespace lifeboat::ops
