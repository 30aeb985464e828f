// SnapshotBuilder: a snapshot made of entries that are not read from this
// machine's file system: standard input, a command's output, the files of a
// PostgreSQL base backup arriving as a tar stream, a Redis RDB.
//
//   auto b = SnapshotBuilder::begin(repo, ctx);      // shared lock, index
//   b->add_file("dump.sql", read_fn, meta);          // streamed, deduplicated
//   b->add_file("base/5/16384", read_fn, meta, size, Cutter::fixed(32768));
//   auto snap = b->commit(info);                     // trees, index, snapshot
//
// The content goes through the same saver as a file backup (compressed,
// sealed, packed, uploaded in parallel); memory is bounded by the saver's
// queues plus the tree being assembled (one Node per entry). add_* may be
// called from several threads; commit() and abort() from one. Parent
// directories are created implicitly (mode 0755) unless added.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ops/content.h"
#include "ops/context.h"
#include "repo/lock.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace lifeboat::ops {

struct EntryMeta {
  uint32_t mode = 0644;  // permission bits
  int64_t mtime_ns = 0;  // 0: the builder's start time
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string user;
  std::string group;
};

struct SnapshotInfo {
  std::string kind = "files";        // stdin, postgres-base, pg-dump, redis, mysql-dump, ...
  std::vector<std::string> paths;    // what was backed up, as a user would name it
  std::vector<std::string> tags;
  std::optional<int64_t> time_ns;    // default: the builder's start time
  std::string source_json = "{}";    // source-specific metadata
  std::string audit_details;         // appended to the audit record
};

class SnapshotBuilder {
 public:
  // `bytes_done`, when given, counts the bytes read (for a progress line).
  static Result<std::unique_ptr<SnapshotBuilder>> begin(repo::Repository& repo, const OpContext& ctx,
                                                        int workers = 0, std::atomic<uint64_t>* bytes_done = nullptr);
  ~SnapshotBuilder();  // aborts unless committed
  SnapshotBuilder(const SnapshotBuilder&) = delete;
  SnapshotBuilder& operator=(const SnapshotBuilder&) = delete;

  // A regular file at `path` ('/'-separated, relative to the snapshot root)
  // with the content of `read` to its end. Content-defined chunks unless a
  // cutter is given.
  Result<StoredContent> add_file(std::string_view path, const ReadFn& read, const EntryMeta& meta,
                                 uint64_t size_hint = 0, const std::optional<Cutter>& cutter = std::nullopt);
  // A file of fixed-size chunks that is a new version of the same path in
  // the earlier snapshot set_previous() named: each new chunk may be stored
  // as a delta against the chunk at its position there.
  Result<StoredContent> add_file_version(std::string_view path, const ReadFn& read, const EntryMeta& meta,
                                         uint64_t size_hint, const Cutter& fixed);
  // The earlier snapshot add_file_version() compares with (its trees are
  // read as paths ask for them).
  void set_previous(const repo::Snapshot& snapshot);
  Status add_bytes(std::string_view path, ByteSpan data, const EntryMeta& meta);
  Status add_dir(std::string_view path, const EntryMeta& meta);
  Status add_symlink(std::string_view path, std::string_view target, const EntryMeta& meta);

  // Writes the trees, the index and the snapshot; audits it as "backup".
  Result<repo::Snapshot> commit(const SnapshotInfo& info);
  // Stops without a snapshot (data stored so far is reused by the next run).
  void abort();

  repo::Repository& repository() { return repo_; }
  const chunk::FastCdc& cdc() const { return cdc_; }
  int64_t start_ns() const { return start_ns_; }
  uint64_t files() const { return files_; }
  // New chunks stored as deltas (add_file_version()).
  uint64_t delta_blobs() const { return saver_ ? saver_->stats().delta_blobs.load() : 0; }

 private:
  SnapshotBuilder(repo::Repository& repo, const OpContext& ctx);
  Status insert(std::string_view path, repo::Node node);
  Result<StoredContent> store(std::string_view path, const ReadFn& read, const EntryMeta& meta, uint64_t size_hint,
                              const Cutter& cutter, const std::vector<repo::Id>* previous);
  // The content of `path` in the previous snapshot (empty when absent).
  std::vector<repo::Id> previous_content(std::string_view path);
  repo::Node dir_node(std::string name) const;

  repo::Repository& repo_;
  const OpContext& ctx_;
  chunk::FastCdc cdc_;
  std::unique_ptr<repo::RepoLock> lock_;
  std::unique_ptr<repo::BlobSaver> saver_;
  std::shared_ptr<BufferPool> windows_ = make_window_pool();
  int64_t start_ns_ = 0;
  std::atomic<uint64_t> own_bytes_done_{0};
  std::atomic<uint64_t>* bytes_done_ = &own_bytes_done_;
  std::mutex mu_;  // guards dirs_ and the counters
  // Directory path ("" for the root) -> its entries by name.
  std::map<std::string, std::map<std::string, repo::Node>> dirs_;
  uint64_t files_ = 0;
  uint64_t bytes_ = 0;
  bool done_ = false;
  std::mutex previous_mu_;
  std::optional<repo::Id> previous_root_;
  std::map<std::string, std::optional<repo::Tree>> previous_dirs_;  // "" is the root; nullopt: unreadable
};

// The steps every backup ends with, a file walk's or a stream's:
// The saver's last packs and index written; an error worded for the user.
Status finish_saving(repo::BlobSaver& saver);
// A new snapshot: who made it (ctx), the program, the saver's counts.
repo::Snapshot new_snapshot(const OpContext& ctx, const repo::SaverStats& stats);
// Sets the parent (the newest earlier snapshot of the same host, paths and
// kind; none under a write-only key, which cannot read snapshots), checks
// that the lock still holds, and writes the snapshot.
Status save_new_snapshot(repo::Repository& repo, repo::RepoLock& lock, repo::Snapshot& snap);

// Splits "a/b/c" into ("a/b", "c"); rejects empty, absolute, "." and ".."
// components.
Result<std::pair<std::string, std::string>> split_entry_path(std::string_view path);

}  // namespace lifeboat::ops
