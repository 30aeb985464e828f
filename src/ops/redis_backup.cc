#include "ops/redis_backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ops/snapshot_builder.h"
#include "sources/redis/aof_manifest.h"
#include "sources/redis/rdb_scan.h"
#include "sources/redis/redis_client.h"
#include "util/posix_error.h"

namespace lifeboat::ops {

namespace redis = sources::redis;

namespace {

// A file of the server's AOF, opened before it is read, so that a rewrite
// that removes it meanwhile does not take it away.
struct OpenFile {
  std::string name;  // path in the snapshot
  int fd = -1;
  struct stat st {};
  OpenFile() = default;
  OpenFile(OpenFile&& o) noexcept : name(std::move(o.name)), fd(o.fd), st(o.st) { o.fd = -1; }
  OpenFile& operator=(OpenFile&&) = delete;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

Result<OpenFile> open_file(const std::string& path, std::string name) {
  OpenFile f;
  f.name = std::move(name);
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (f.fd < 0) return posix_error(errno, "unable to open " + path);
  if (::fstat(f.fd, &f.st) != 0) return posix_error(errno, "unable to stat " + path);
  return f;
}

Result<std::string> read_small_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return posix_error(errno, "unable to open " + path);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return posix_error(e, "unable to read " + path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (16 << 20)) {
      ::close(fd);
      return Status(ErrorCode::kCorrupt, path + " is too large for an AOF manifest");
    }
  }
  ::close(fd);
  return out;
}

// What of the AOF to store: the open files plus the manifest's text.
struct AofCapture {
  std::vector<OpenFile> files;
  std::string manifest_name;  // "appendonlydir/appendonly.aof.manifest"; empty for Redis < 7
  std::string manifest;
  std::string dir_name;       // "appendonlydir"; empty for Redis < 7
};

// Opens the files a manifest names, then reads the manifest again: when it
// changed (an AOF rewrite finished meanwhile), starts over.
Result<AofCapture> capture_multipart(const std::string& dir, const std::string& dirname,
                                     const std::string& filename) {
  std::string base = dir + "/" + dirname;
  std::string manifest_path = base + "/" + filename + ".manifest";
  for (int attempt = 0; attempt < 5; ++attempt) {
    AofCapture c;
    c.dir_name = dirname;
    c.manifest_name = dirname + "/" + filename + ".manifest";
    LB_ASSIGN_OR_RETURN(c.manifest, read_small_file(manifest_path));
    LB_ASSIGN_OR_RETURN(auto listed, redis::parse_aof_manifest(c.manifest));
    bool vanished = false;
    for (const auto& f : listed) {
      if (f.type == 'h') continue;  // history: not loaded, removed by the server
      auto opened = open_file(base + "/" + f.name, dirname + "/" + f.name);
      if (!opened.is_ok()) {
        if (opened.status().code() == ErrorCode::kNotFound) {
          vanished = true;
          break;
        }
        return opened.status();
      }
      c.files.push_back(std::move(*opened));
    }
    if (vanished) continue;
    LB_ASSIGN_OR_RETURN(std::string again, read_small_file(manifest_path));
    if (again == c.manifest) return c;
  }
  return Status(ErrorCode::kUnavailable, "the AOF was rewritten five times while it was being read");
}

ReadFn fd_reader(int fd, const std::string& what) {
  return [fd, what](uint8_t* buf, size_t n) -> Result<size_t> {
    for (;;) {
      ssize_t got = ::read(fd, buf, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno != EINTR) return posix_error(errno, "unable to read " + what);
    }
  };
}

std::string db_key(int db) { return fmt::format("db{}", db); }

}  // namespace

Result<RedisBackupResult> redis_backup(repo::Repository& repo, const RedisBackupOptions& options,
                                       const OpContext& ctx) {
  const auto& ep = options.endpoint;
  LB_ASSIGN_OR_RETURN(auto client, redis::RedisClient::connect(ep, options.password, options.connect_timeout_ms));
  RedisBackupResult result;
  nlohmann::json source = nlohmann::json::object();
  source["url"] = ep.display();
  {
    LB_ASSIGN_OR_RETURN(auto server, client->info("server"));
    result.redis_version = server["redis_version"];
    source["redis_version"] = result.redis_version;
    if (!server["run_id"].empty()) source["run_id"] = server["run_id"];
  }
  LB_ASSIGN_OR_RETURN(auto keyspace_info, client->info("keyspace"));
  auto keyspace = redis::parse_keyspace(keyspace_info);
  LB_ASSIGN_OR_RETURN(auto persistence, client->info("persistence"));
  bool aof_on = persistence["aof_enabled"] == "1";

  // Where the AOF is, decided before the transfer (CONFIG may be refused).
  nlohmann::json aof = nlohmann::json::object();
  aof["enabled"] = aof_on;
  std::string aof_dir, aof_dirname, aof_filename;
  std::string aof_skip;
  if (aof_on) {
    if (!options.aof) {
      aof_skip = "--no-aof was given";
    } else if (!ep.is_local()) {
      aof_skip = "the server is not on this machine, so its AOF directory cannot be read from here";
    } else {
      LB_ASSIGN_OR_RETURN(auto dir, client->config_get("dir"));
      LB_ASSIGN_OR_RETURN(auto filename, client->config_get("appendfilename"));
      LB_ASSIGN_OR_RETURN(auto dirname, client->config_get("appenddirname"));
      if (!dir || !filename) {
        aof_skip = "the server refuses CONFIG GET, so its AOF directory is unknown";
      } else {
        aof_dir = *dir;
        aof_filename = *filename;
        aof_dirname = dirname ? *dirname : "";
      }
    }
  }

  LB_ASSIGN_OR_RETURN(auto transfer, client->start_sync(options.idle_timeout_ms));
  LB_ASSIGN_OR_RETURN(auto builder, SnapshotBuilder::begin(repo, ctx, 0, options.bytes_done));
  auto& b = *builder;
  EntryMeta meta;
  meta.mode = 0644;
  meta.uid = ctx.uid;
  meta.gid = ctx.gid;

  redis::RdbScanThread scan;
  ReadFn read = [&](uint8_t* buf, size_t n) -> Result<size_t> {
    LB_ASSIGN_OR_RETURN(size_t got, transfer->read(buf, n));
    scan.feed(ByteSpan(buf, got));
    return got;
  };
  auto stored = b.add_file("dump.rdb", read, meta, transfer->size().value_or(0));
  if (!stored.is_ok()) {
    b.abort();
    return stored.status().with_context("no snapshot was written");
  }
  result.rdb_bytes = stored->size;
  transfer.reset();
  client.reset();  // the replication connection is done with

  auto summary = scan.finish();
  nlohmann::json keys = nlohmann::json::object(), expires = nlohmann::json::object();
  if (summary.is_ok()) {
    source["keys_source"] = "rdb";
    source["rdb_version"] = summary->version;
    for (const auto& [db, s] : summary->dbs) {
      keys[db_key(db)] = s.keys;
      expires[db_key(db)] = s.expires;
      result.keys[db] = s.keys;
    }
    if (summary->functions) source["functions"] = summary->functions;
  } else if (summary.status().code() == ErrorCode::kUnsupported) {
    // Counts from INFO keyspace instead: taken just before the transfer, so
    // only exact on a server that was not written meanwhile.
    source["keys_source"] = "info";
    result.notes.push_back("key counts are from INFO keyspace before the transfer, not from the RDB (" +
                           summary.status().message() + ")");
    for (const auto& [db, c] : keyspace) {
      keys[db_key(db)] = c.keys;
      expires[db_key(db)] = c.expires;
      result.keys[db] = c.keys;
    }
  } else {
    b.abort();
    return summary.status().with_context(
        fmt::format("the RDB received from {} is not complete, no snapshot was written", ep.display()));
  }
  source["rdb_bytes"] = result.rdb_bytes;
  source["keys"] = keys;
  source["expires"] = expires;
  nlohmann::json keys_info = nlohmann::json::object();
  for (const auto& [db, c] : keyspace) keys_info[db_key(db)] = c.keys;
  source["keys_info"] = keys_info;

  if (aof_on && aof_skip.empty()) {
    Result<AofCapture> capture = Status(ErrorCode::kInternal, "");
    if (!aof_dirname.empty()) {
      capture = capture_multipart(aof_dir, aof_dirname, aof_filename);
    } else {
      AofCapture c;
      auto f = open_file(aof_dir + "/" + aof_filename, aof_filename);
      if (f.is_ok()) {
        c.files.push_back(std::move(*f));
        capture = std::move(c);
      } else {
        capture = f.status();
      }
    }
    if (!capture.is_ok()) {
      aof_skip = fmt::format("its AOF at {} could not be read here ({})", aof_dir, capture.status().message());
    } else {
      for (auto& f : capture->files) {
        EntryMeta fm;
        fm.mode = f.st.st_mode & 07777;
        fm.mtime_ns = static_cast<int64_t>(f.st.st_mtim.tv_sec) * 1'000'000'000 + f.st.st_mtim.tv_nsec;
        fm.uid = f.st.st_uid;
        fm.gid = f.st.st_gid;
        auto s = b.add_file(f.name, fd_reader(f.fd, f.name), fm, static_cast<uint64_t>(f.st.st_size));
        if (!s.is_ok()) {
          b.abort();
          return s.status().with_context("no snapshot was written");
        }
        result.aof_bytes += s->size;
      }
      if (!capture->manifest_name.empty()) {
        LB_RETURN_IF_ERROR(b.add_bytes(capture->manifest_name, as_bytes(capture->manifest), meta));
        aof["dir"] = capture->dir_name;
        aof["manifest"] = capture->manifest_name;
      }
      aof["appendfilename"] = aof_filename;
      aof["stored"] = true;
      aof["bytes"] = result.aof_bytes;
      result.aof_stored = true;
    }
  }
  if (aof_on && !result.aof_stored) {
    aof["stored"] = false;
    aof["reason"] = aof_skip;
    result.notes.push_back("AOF not stored: " + aof_skip + "; the RDB holds the same data");
  }
  source["aof"] = aof;

  SnapshotInfo info;
  info.kind = "redis";
  info.paths = {ep.display()};
  info.tags = options.tags;
  info.time_ns = options.time_ns;
  info.source_json = source.dump();
  uint64_t total = 0;
  for (const auto& [db, n] : result.keys) total += n;
  info.audit_details = fmt::format("{} keys", total);
  LB_ASSIGN_OR_RETURN(result.snapshot, b.commit(info));
  return result;
}

}  // namespace lifeboat::ops
