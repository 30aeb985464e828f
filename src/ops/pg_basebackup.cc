#include "ops/pg_basebackup.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ops/snapshot_builder.h"
#include "sources/pg/wal_names.h"

namespace lifeboat::ops {

namespace pg = sources::pg;

namespace {

class BuilderSink final : public pg::BaseBackupSink {
 public:
  BuilderSink(SnapshotBuilder& b, size_t page_chunk) : b_(b), page_chunk_(page_chunk) {}

  // The cluster's newest base backup, when it was cut alike, is what each
  // changed page range is stored as a delta against.
  Status begin(const pg::BaseBackupInfo& info) override {
    if (b_.repository().keys().write_only()) return Status::ok();
    auto earlier = pg_base_backups(b_.repository(), info.system_id);
    if (!earlier.is_ok() || earlier->empty() || earlier->back().second.page_chunk != page_chunk_) return Status::ok();
    b_.set_previous(earlier->back().first);
    previous_ = earlier->back().first.id;
    return Status::ok();
  }

  Status entry(const pg::TarEntry& e, const std::function<Result<size_t>(uint8_t*, size_t)>& read) override {
    std::string path = (e.archive.empty() ? "data/" : "tablespaces/" + e.archive + "/") + e.path;
    EntryMeta meta;
    meta.mode = e.mode;
    meta.uid = e.uid;
    meta.gid = e.gid;
    meta.mtime_ns = e.mtime_ns;
    switch (e.type) {
      case pg::TarEntry::Type::kDir: return b_.add_dir(path, meta);
      case pg::TarEntry::Type::kSymlink: return b_.add_symlink(path, e.link_target, meta);
      case pg::TarEntry::Type::kFile: {
        if (pg::is_relation_file(e.path))
          return b_.add_file_version(path, read, meta, e.size, Cutter::fixed(page_chunk_)).status();
        return b_.add_file(path, read, meta, e.size).status();
      }
    }
    return Status::ok();
  }

  Status manifest(ByteSpan data) override {
    EntryMeta meta;
    meta.mode = 0600;
    return b_.add_bytes("data/backup_manifest", data, meta);
  }

  const std::optional<repo::Id>& previous() const { return previous_; }

 private:
  SnapshotBuilder& b_;
  size_t page_chunk_;
  std::optional<repo::Id> previous_;  // the base backup deltas are against
};

}  // namespace

Result<PgBaseBackupResult> pg_basebackup(repo::Repository& repo, const PgBaseBackupOptions& options,
                                         const OpContext& ctx) {
  if (options.page_chunk < 8192 || options.page_chunk % 8192 != 0 || options.page_chunk > (8u << 20))
    return Status(ErrorCode::kInvalidArgument, "--page-chunk must be a multiple of 8 KiB between 8 KiB and 8 MiB");
  LB_ASSIGN_OR_RETURN(auto builder, SnapshotBuilder::begin(repo, ctx, 0, options.bytes_done));
  BuilderSink sink(*builder, options.page_chunk);
  pg::BaseBackupOptions bo;
  bo.dsn = options.dsn;
  bo.label = fmt::format("lifeboat {}", ctx.hostname);
  bo.fast_checkpoint = options.fast_checkpoint;
  PgBaseBackupResult result;
  auto& info = result.info;
  int64_t start_ns = repo.clock().now_ns();
  Status ran = pg::run_base_backup(bo, sink, info);
  if (!ran.is_ok()) {
    builder->abort();
    return ran.with_context("no base backup was stored");
  }
  int64_t stop_ns = repo.clock().now_ns();
  uint64_t seg = info.wal_segment_size;
  nlohmann::json j;
  j["system_identifier"] = std::to_string(info.system_id);
  j["timeline"] = info.timeline;
  j["start_lsn"] = pg::format_lsn(info.start_lsn);
  j["stop_lsn"] = pg::format_lsn(info.stop_lsn);
  j["start_wal"] = pg::segment_name(info.timeline, pg::segno_for_lsn(info.start_lsn, seg), seg);
  j["stop_wal"] = pg::segment_name(info.stop_timeline ? info.stop_timeline : info.timeline,
                                   pg::segno_for_lsn(info.stop_lsn, seg), seg);
  j["start_time_ns"] = start_ns;
  j["stop_time_ns"] = stop_ns;
  j["pg_version"] = info.server_version;
  j["pg_version_num"] = info.server_version_num;
  j["wal_segment_size"] = seg;
  j["data_directory"] = info.data_directory;
  j["page_chunk"] = options.page_chunk;
  if (sink.previous()) j["delta_against"] = sink.previous()->hex();
  nlohmann::json ts = nlohmann::json::array();
  for (const auto& t : info.tablespaces) ts.push_back({{"oid", t.oid}, {"location", t.location}});
  j["tablespaces"] = ts;
  SnapshotInfo si;
  si.kind = "postgres-base";
  si.paths = {info.data_directory.empty() ? fmt::format("/postgres/{}", info.system_id) : info.data_directory};
  si.tags = options.tags;
  si.time_ns = start_ns;
  si.source_json = j.dump();
  si.audit_details = fmt::format("cluster {}, {} to {}", info.system_id, j["start_lsn"].get<std::string>(),
                                 j["stop_lsn"].get<std::string>());
  LB_ASSIGN_OR_RETURN(result.snapshot, builder->commit(si));
  result.delta_chunks = builder->delta_blobs();
  return result;
}

Result<PgBaseInfo> pg_base_info(const repo::Snapshot& s) {
  if (s.kind != "postgres-base")
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("snapshot {} is a {} snapshot, not a PostgreSQL base backup", s.id.short_hex(), s.kind));
  auto j = nlohmann::json::parse(s.source_json, nullptr, false);
  auto bad = [&] {
    return Status(ErrorCode::kCorrupt, fmt::format("snapshot {} lacks its PostgreSQL recovery data", s.id.short_hex()));
  };
  if (!j.is_object() || !j.contains("system_identifier") || !j.contains("start_lsn")) return bad();
  PgBaseInfo i;
  try {
    i.system_id = std::stoull(j["system_identifier"].get<std::string>());
    i.timeline = j["timeline"].get<uint32_t>();
    auto start = pg::parse_lsn(j["start_lsn"].get<std::string>());
    auto stop = pg::parse_lsn(j["stop_lsn"].get<std::string>());
    if (!start || !stop) return bad();
    i.start_lsn = *start;
    i.stop_lsn = *stop;
    i.start_wal = j["start_wal"].get<std::string>();
    i.stop_wal = j["stop_wal"].get<std::string>();
    i.start_time_ns = j["start_time_ns"].get<int64_t>();
    i.stop_time_ns = j["stop_time_ns"].get<int64_t>();
    i.pg_version = j.value("pg_version", "");
    i.pg_version_num = j.value("pg_version_num", 0);
    i.wal_segment_size = j.value("wal_segment_size", uint64_t{16} << 20);
    i.data_directory = j.value("data_directory", "");
    i.page_chunk = j.value("page_chunk", size_t{16} << 10);
    for (const auto& t : j.value("tablespaces", nlohmann::json::array()))
      i.tablespaces.push_back({t["oid"].get<uint32_t>(), t["location"].get<std::string>()});
  } catch (const nlohmann::json::exception&) {
    return bad();
  }
  return i;
}

Result<std::vector<std::pair<repo::Snapshot, PgBaseInfo>>> pg_base_backups(const repo::Repository& repo,
                                                                           std::optional<uint64_t> system_id) {
  LB_ASSIGN_OR_RETURN(auto snaps, repo.load_snapshots());
  std::vector<std::pair<repo::Snapshot, PgBaseInfo>> out;
  for (auto& s : snaps) {
    if (s.kind != "postgres-base") continue;
    auto info = pg_base_info(s);
    if (!info.is_ok()) continue;
    if (system_id && info->system_id != *system_id) continue;
    out.emplace_back(std::move(s), std::move(*info));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second.stop_lsn < b.second.stop_lsn; });
  return out;
}

}  // namespace lifeboat::ops
