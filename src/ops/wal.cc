#include "ops/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "compress/zstd.h"
#include "ops/pg_basebackup.h"
#include "sources/pg/wal_names.h"
#include "util/encoding.h"
#include "util/posix_error.h"

namespace lifeboat::ops {

namespace pg = sources::pg;

namespace {

constexpr uint8_t kRaw = 0;
constexpr uint8_t kZstd = 1;

Bytes wal_aad(const std::string& object) {
  Bytes aad = to_bytes("wal");
  append(aad, as_bytes(object));
  return aad;
}

Result<Bytes> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return posix_error(errno, "unable to open " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return posix_error(e, "unable to stat " + path);
  }
  Bytes data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      ::close(fd);
      return posix_error(e, "unable to read " + path);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return data;
}

Bytes encode(ByteSpan data, int level) {
  Bytes out;
  out.push_back(kZstd);
  Bytes z;
  compress::zstd_compress(data, level, z);
  if (z.size() + 8 >= data.size()) {
    out[0] = kRaw;
    append(out, data);
    return out;
  }
  put_fixed64(out, data.size());
  append(out, z);
  return out;
}

Result<Bytes> decode(ByteSpan plain, const std::string& object) {
  auto damaged = [&](const char* why) {
    return Status(ErrorCode::kCorrupt, fmt::format("{} is damaged: {}", object, why));
  };
  if (plain.empty()) return damaged("empty");
  if (plain[0] == kRaw) return to_bytes(plain.subspan(1));
  if (plain[0] != kZstd || plain.size() < 9) return damaged("unknown encoding");
  uint64_t raw = get_fixed64(plain.data() + 1);
  if (raw > (uint64_t{1} << 32)) return damaged("implausible size");
  Bytes out;
  Status s = compress::zstd_decompress(plain.subspan(9), static_cast<size_t>(raw), out);
  if (!s.is_ok()) return damaged("does not decompress");
  return out;
}

}  // namespace

std::string wal_prefix(uint64_t system_id) { return fmt::format("wal/{:016x}/", system_id); }

Result<Bytes> read_wal(const repo::Repository& repo, uint64_t system_id, const std::string& name) {
  std::string object = wal_prefix(system_id) + name;
  auto sealed = repo.read_sealed(object, wal_aad(object));
  if (!sealed.is_ok()) return sealed.status();
  return decode(*sealed, object);
}

Result<WalCopyResult> copy_wal(const repo::Repository& source, repo::Repository& dest, uint64_t system_id,
                               bool dry_run, const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(auto have, list_wal(dest, system_id));
  LB_ASSIGN_OR_RETURN(auto files, list_wal(source, system_id));
  std::set<std::string> there;
  for (const auto& f : have) there.insert(f.name);
  WalCopyResult r;
  for (const auto& f : files) {
    if (there.count(f.name)) continue;
    if (ctx.cancelled())
      return Status(ErrorCode::kCancelled, "copy interrupted; the WAL files copied so far are complete");
    r.files++;
    r.bytes += f.stored;
    if (dry_run) continue;
    std::string object = wal_prefix(system_id) + f.name;
    auto plain = source.read_sealed(object, wal_aad(object));
    if (!plain.is_ok()) return plain.status().with_context("unable to copy " + object);
    LB_RETURN_IF_ERROR(dest.write_sealed(object, *plain, wal_aad(object)).with_context("unable to copy " + object));
  }
  return r;
}

Result<WalPushResult> wal_push(repo::Repository& repo, const WalPushOptions& o) {
  std::string name = o.path.substr(o.path.rfind('/') + 1);
  auto parsed = pg::parse_wal_name(name);
  if (!parsed)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{} is not a WAL file name: wal-push archives what archive_command's %p names", name));
  LB_ASSIGN_OR_RETURN(Bytes data, read_file(o.path));
  WalPushResult r;
  r.name = name;
  r.size = data.size();
  if (parsed->kind == pg::WalKind::kSegment || parsed->kind == pg::WalKind::kPartial) {
    auto header = pg::read_segment_header(data);
    if (!header.is_ok()) return header.status().with_context(o.path);
    if (o.system_id && *o.system_id != header->system_id)
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("{} belongs to cluster {}, not to --system-id {}", o.path, header->system_id,
                                *o.system_id));
    r.system_id = header->system_id;
  } else if (o.system_id) {
    r.system_id = *o.system_id;
  } else {
    auto id = pg::read_control_system_id(o.pgdata);
    if (!id.is_ok())
      return id.status().with_context(fmt::format("cannot tell which cluster {} belongs to (run wal-push in the data "
                                                  "directory, as archive_command does, or give --system-id)",
                                                  name));
    r.system_id = *id;
  }
  std::string object = wal_prefix(r.system_id) + name;
  auto existing = repo.stat_object(object);
  if (existing.is_ok()) {
    auto stored = read_wal(repo, r.system_id, name);
    if (stored.is_ok() && *stored == data) {
      r.already = true;
      return r;
    }
    if (!stored.is_ok() && stored.status().code() != ErrorCode::kCorrupt) return stored.status();
    if (stored.is_ok())
      return Status(ErrorCode::kAlreadyExists,
                    fmt::format("{} is already archived for cluster {:016x} with different content: is another "
                                "server archiving into this repository under the same system identifier (a copy "
                                "promoted without a new timeline)? Nothing was overwritten",
                                name, r.system_id));
    // The archived copy is damaged: replace it with the good one.
  } else if (existing.status().code() != ErrorCode::kNotFound) {
    return existing.status();
  }
  Bytes plain = encode(data, o.compression_level);
  LB_RETURN_IF_ERROR(repo.write_sealed(object, plain, wal_aad(object)));
  r.stored = plain.size() + repo::kEnvelopeOverhead + 12;
  return r;
}

Status wal_fetch(const repo::Repository& repo, const WalFetchOptions& o) {
  auto parsed = pg::parse_wal_name(o.name);
  if (!parsed)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{} is not a WAL file name: wal-fetch takes restore_command's %f and %p", o.name));
  uint64_t system_id;
  if (o.system_id) {
    system_id = *o.system_id;
  } else {
    auto id = pg::read_control_system_id(o.pgdata);
    if (!id.is_ok())
      return id.status().with_context("cannot tell which cluster to fetch for (run wal-fetch in the data directory, "
                                      "as restore_command does, or give --system-id)");
    system_id = *id;
  }
  std::string object = wal_prefix(system_id) + o.name;
  auto data = read_wal(repo, system_id, o.name);
  if (!data.is_ok()) {
    if (data.status().code() == ErrorCode::kNotFound)
      return Status(ErrorCode::kNotFound, fmt::format("{} is not in the archive", o.name));
    return data.status();
  }
  if (parsed->kind == pg::WalKind::kSegment) {
    auto header = pg::read_segment_header(*data);
    if (!header.is_ok() || header->system_id != system_id)
      return Status(ErrorCode::kCorrupt, fmt::format("{} is damaged: its header does not name cluster {:016x}",
                                                     object, system_id));
  }
  std::string tmp = o.dest + ".lifeboat-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return posix_error(errno, "unable to write " + tmp);
  Status wrote = write_all(fd, *data, tmp);
  // PostgreSQL fsyncs what restore_command wrote itself when it needs to.
  ::close(fd);
  if (!wrote.is_ok()) {
    ::unlink(tmp.c_str());
    return wrote;
  }
  if (::rename(tmp.c_str(), o.dest.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return posix_error(e, "unable to write " + o.dest);
  }
  return Status::ok();
}

Result<std::vector<WalFile>> list_wal(const repo::Repository& repo, uint64_t system_id) {
  std::string prefix = wal_prefix(system_id);
  LB_ASSIGN_OR_RETURN(auto objects, repo.list_objects(prefix));
  std::vector<WalFile> out;
  for (auto& o : objects) {
    std::string name = o.name.substr(prefix.size());
    if (!pg::parse_wal_name(name)) continue;
    out.push_back({name, o.size, o.mtime_ns});
  }
  std::sort(out.begin(), out.end(), [](const WalFile& a, const WalFile& b) { return a.name < b.name; });
  return out;
}

Result<WalExpiry> expire_wal(repo::Repository& repo, uint64_t system_id, int64_t keep_after_ns) {
  WalExpiry e;
  LB_ASSIGN_OR_RETURN(auto bases, pg_base_backups(repo, system_id));
  std::optional<uint64_t> oldest;  // segment number
  uint64_t seg_size = 16 << 20;
  for (const auto& [snap, info] : bases) {
    auto start = pg::parse_wal_name(info.start_wal);
    if (!start) continue;
    seg_size = info.wal_segment_size;
    uint64_t segno = pg::segno_of(*start, seg_size);
    if (!oldest || segno < *oldest) {
      oldest = segno;
      e.oldest_kept = info.start_wal;
    }
  }
  if (!oldest) return e;
  LB_ASSIGN_OR_RETURN(auto wal, list_wal(repo, system_id));
  for (const auto& w : wal) {
    auto n = pg::parse_wal_name(w.name);
    if (!n || n->kind == pg::WalKind::kHistory) continue;
    if (pg::segno_of(*n, seg_size) >= *oldest) continue;
    if (keep_after_ns && w.mtime_ns > keep_after_ns) continue;
    Status s = repo.remove(wal_prefix(system_id) + w.name);
    if (!s.is_ok() && s.code() != ErrorCode::kNotFound) return s.with_context("unable to remove " + w.name);
    e.files++;
    e.bytes += w.stored;
  }
  return e;
}

Result<std::vector<uint64_t>> list_wal_clusters(const repo::Repository& repo) {
  LB_ASSIGN_OR_RETURN(auto objects, repo.list_objects("wal/"));
  std::vector<uint64_t> ids;
  for (const auto& o : objects) {
    if (o.name.size() < 4 + 17 || o.name[4 + 16] != '/') continue;
    auto hex = o.name.substr(4, 16);
    if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
    uint64_t id = std::stoull(hex, nullptr, 16);
    if (ids.empty() || ids.back() != id) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace lifeboat::ops

namespace lifeboat::ops {

namespace {

std::vector<std::string> ready_files(const std::string& wal_dir) {
  std::vector<std::string> out;
  std::string status = wal_dir + "/archive_status";
  DIR* d = ::opendir(status.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n.size() > 6 && n.ends_with(".ready")) out.emplace_back(n.substr(0, n.size() - 6));
  }
  ::closedir(d);
  // Segments in order; history files first (a new timeline's history is
  // needed before its segments).
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    bool ha = a.ends_with(".history"), hb = b.ends_with(".history");
    if (ha != hb) return ha;
    return a < b;
  });
  return out;
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status write_status(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return posix_error(errno, "unable to write " + tmp);
  Status wrote = write_all(fd, as_bytes(text), tmp);
  ::close(fd);
  if (!wrote.is_ok()) return wrote;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return posix_error(errno, "unable to write " + path);
  return Status::ok();
}

}  // namespace

Status wal_spool_push(repo::Repository& repo, const WalSpoolOptions& o, const OpContext& ctx) {
  LB_RETURN_IF_ERROR(make_dirs(o.spool + "/done", 0700));
  LB_RETURN_IF_ERROR(make_dirs(o.spool + "/error", 0700));
  auto idle_since = std::chrono::steady_clock::now();
  for (;;) {
    if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "interrupted");
    // Status files of files PostgreSQL no longer waits for (archived by an
    // earlier archive_command, or removed) are stale: no call will read them.
    for (const char* sub : {"/done", "/error"}) {
      DIR* d = ::opendir((o.spool + sub).c_str());
      if (!d) continue;
      while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == ".." || n.ends_with(".tmp")) continue;
        if (!exists(o.wal_dir + "/archive_status/" + n + ".ready")) ::unlink((o.spool + sub + "/" + n).c_str());
      }
      ::closedir(d);
    }
    std::vector<std::string> todo;
    for (auto& name : ready_files(o.wal_dir))
      if (!exists(o.spool + "/done/" + name) && !exists(o.spool + "/error/" + name)) todo.push_back(std::move(name));
    if (todo.empty()) {
      if (std::chrono::steady_clock::now() - idle_since > std::chrono::nanoseconds(o.idle_exit_ns)) return Status::ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i; (i = next++) < todo.size();) {
        WalPushOptions p;
        p.path = o.wal_dir + "/" + todo[i];
        p.system_id = o.system_id;
        p.pgdata = o.pgdata;
        p.compression_level = o.compression_level;
        auto r = wal_push(repo, p);
        if (r.is_ok()) (void)write_status(o.spool + "/done/" + todo[i], "");
        else if (exists(p.path)) (void)write_status(o.spool + "/error/" + todo[i], r.status().message());
        // A file gone meanwhile was archived and recycled by PostgreSQL: nothing to say.
      }
    };
    std::vector<std::thread> threads;
    for (int t = 1; t < std::max(1, o.parallel); ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    idle_since = std::chrono::steady_clock::now();
  }
}

}  // namespace lifeboat::ops
