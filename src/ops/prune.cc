#include "ops/prune.h"

#include <algorithm>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "ops/audit.h"
#include "ops/locking.h"
#include "ops/repack.h"
#include "util/time_format.h"

namespace lifeboat::ops {
namespace {

using repo::Id;
using repo::IdHash;
using IdSet = std::unordered_set<Id, IdHash>;

constexpr size_t kMaxProblems = 10;

// Every blob the snapshots reference (trees and data), each tree read once.
class Referenced {
 public:
  Referenced(const repo::Repository& repo, const OpContext& ctx) : repo_(repo), ctx_(ctx) {}

  Status add(const repo::Snapshot& snap) {
    std::vector<Id> stack{snap.tree};
    while (!stack.empty()) {
      if (ctx_.cancelled()) return Status(ErrorCode::kCancelled, "prune interrupted; nothing was changed");
      Id id = stack.back();
      stack.pop_back();
      if (!trees_.insert(id).second) continue;
      blobs.insert(id);
      auto tree = repo_.load_tree(id);
      if (!tree.is_ok()) {
        problem(fmt::format("snapshot {}: tree {}: {}", snap.id.short_hex(), id.short_hex(), tree.status().message()));
        continue;
      }
      for (const auto& n : tree->nodes) {
        if (n.subtree) stack.push_back(*n.subtree);
        for (const auto& b : n.content) {
          if (!blobs.insert(b).second) continue;
          auto loc = repo_.locate(b);
          if (!loc)
            problem(fmt::format("snapshot {}: blob {} is not in the repository", snap.id.short_hex(), b.short_hex()));
          else if (loc->entry.is_delta() && blobs.insert(loc->entry.base).second && !repo_.locate(loc->entry.base))
            problem(fmt::format("snapshot {}: blob {} is a delta of blob {}, which is not in the repository",
                                snap.id.short_hex(), b.short_hex(), loc->entry.base.short_hex()));
        }
      }
    }
    return Status::ok();
  }

  Status verdict() const {
    if (problems_ == 0) return Status::ok();
    std::string list;
    for (const auto& m : messages_) list += (list.empty() ? "" : "; ") + m;
    if (problems_ > messages_.size()) list += fmt::format("; and {} more", problems_ - messages_.size());
    return Status(ErrorCode::kCorrupt,
                  fmt::format("prune needs every snapshot to be readable, and nothing was changed: {}. Run "
                              "`lifeboat check`, then `lifeboat repair index` and `lifeboat repair snapshots`",
                              list));
  }

  // A delta needs its base: whichever copy of a referenced blob stays
  // (another copy may be a delta of another base), its base stays too.
  // Bases are never deltas, so one pass closes the set.
  void add_bases(const std::vector<repo::PackEntry>& entries) {
    for (const auto& e : entries)
      if (e.is_delta() && blobs.count(e.id)) blobs.insert(e.base);
  }

  IdSet blobs;

 private:
  void problem(std::string m) {
    problems_++;
    if (messages_.size() < kMaxProblems) messages_.push_back(std::move(m));
  }

  const repo::Repository& repo_;
  const OpContext& ctx_;
  IdSet trees_;
  size_t problems_ = 0;
  std::vector<std::string> messages_;
};

struct PackInfo {
  std::vector<repo::PackEntry> entries;
  std::vector<bool> used;  // per entry: the copy of a referenced blob that stays
  std::vector<Id> files;   // the index files that name the pack
  uint64_t used_bytes = 0;
  uint64_t unused_bytes = 0;
  uint64_t size = 0;  // on storage; 0 if missing
};

struct LiveLocks {
  std::unordered_map<Id, repo::LockInfo, IdHash> by_session;  // other operations' live locks
};

std::string describe_lock(const repo::LockInfo& l) {
  return fmt::format("{} (PID {} on {}, since {})", l.operation.empty() ? "an operation" : l.operation, l.pid,
                     l.hostname, format_local(l.started_ns));
}

class Pruner {
 public:
  Pruner(repo::Repository& repo, const PruneOptions& options, const OpContext& ctx)
      : repo_(repo), options_(options), ctx_(ctx), referenced_(repo, ctx) {}

  Result<PruneResult> run();

 private:
  Status cancelled() const {
    return ctx_.cancelled() ? Status(ErrorCode::kCancelled, "prune interrupted; the repository is consistent")
                            : Status::ok();
  }
  Result<LiveLocks> live_locks() const;
  bool ready(const repo::CondemnedRecord& rec, const LiveLocks& live);
  Status load();
  Status walk_snapshots();
  void plan();
  Status repack();
  // Returns the operations alive once the index no longer names the packs.
  Result<LiveLocks> switch_index(repo::CondemnedRecord& record);
  Status sweep(const repo::CondemnedRecord& rec);

  repo::Repository& repo_;
  const PruneOptions& options_;
  const OpContext& ctx_;
  std::unique_ptr<repo::RepoLock> lock_;
  PruneResult result_;
  Referenced referenced_;
  IdSet snapshots_seen_;
  std::map<Id, PackInfo> packs_;  // indexed packs, in id order
  std::unordered_map<Id, std::vector<Id>, IdHash> file_packs_;
  std::unordered_map<Id, uint64_t, IdHash> on_storage_;  // pack -> size
  std::vector<repo::CondemnedRecord> records_;
  std::vector<Id> to_condemn_;  // unused and repacked packs, in id order
  std::vector<Id> to_repack_;
  std::unordered_set<Id, repo::IdHash> archived_;  // packs in an archive storage class
  std::vector<repo::IndexPack> written_;  // the repacked blobs' new packs
};

Result<LiveLocks> Pruner::live_locks() const {
  LB_ASSIGN_OR_RETURN(auto locks, repo::list_locks(repo_, ctx_.hostname));
  LiveLocks live;
  for (auto& l : locks) {
    if (l.stale || !l.readable) continue;
    if (lock_ && l.session == lock_->session()) continue;
    live.by_session.emplace(l.session, std::move(l));
  }
  return live;
}

bool Pruner::ready(const repo::CondemnedRecord& rec, const LiveLocks& live) {
  std::vector<const repo::LockInfo*> blocking;
  if (!rec.complete) {
    // Written by a prune that stopped halfway: which operations had read
    // the old index is unknown, so it waits until none runs at all.
    for (const auto& [session, l] : live.by_session) blocking.push_back(&l);
  } else {
    for (const auto& s : rec.lock_sessions)
      if (auto it = live.by_session.find(s); it != live.by_session.end()) blocking.push_back(&it->second);
  }
  for (const auto* l : blocking) {
    std::string d = describe_lock(*l);
    if (std::find(result_.waiting_for.begin(), result_.waiting_for.end(), d) == result_.waiting_for.end())
      result_.waiting_for.push_back(std::move(d));
  }
  return blocking.empty();
}

Status Pruner::load() {
  repo_.clear_index();
  LB_RETURN_IF_ERROR(repo_.scan_index_files([&](const Id& file, Result<std::vector<repo::IndexPack>> packs) -> Status {
    if (!packs.is_ok())
      return packs.status().with_context(
          "prune needs a readable index, and nothing was changed; run `lifeboat repair index`");
    auto& names = file_packs_[file];
    for (auto& p : *packs) {
      repo_.index().add_pack(p.pack_id, p.blobs);
      names.push_back(p.pack_id);
      auto& info = packs_[p.pack_id];
      if (info.files.empty()) info.entries = std::move(p.blobs);
      info.files.push_back(file);
    }
    return Status::ok();
  }));
  std::vector<std::string> bad_records;
  LB_ASSIGN_OR_RETURN(records_, repo_.load_condemned(&bad_records));
  for (const auto& m : bad_records) result_.notes.push_back(m + " (left alone; its packs stay)");
  LB_ASSIGN_OR_RETURN(auto stored, repo_.list_packs());
  for (const auto& p : stored) {
    on_storage_[p.id] = p.size;
    if (p.archived) archived_.insert(p.id);
  }
  uint64_t missing = 0;
  for (auto& [id, info] : packs_) {
    auto it = on_storage_.find(id);
    if (it == on_storage_.end()) missing++;
    else info.size = it->second;
  }
  for (const auto& p : stored)
    if (!packs_.count(p.id) && !repo_.condemned_index().has_pack(p.id)) result_.unindexed_packs++;
  if (missing)
    result_.notes.push_back(fmt::format(
        "{} pack(s) in the index are missing from storage and were left alone; run `lifeboat check`", missing));
  return Status::ok();
}

Status Pruner::walk_snapshots() {
  std::vector<std::string> damaged;
  LB_ASSIGN_OR_RETURN(auto snaps, repo_.load_snapshots(&damaged));
  if (!damaged.empty())
    return Status(ErrorCode::kCorrupt,
                  fmt::format("prune needs every snapshot to be readable, and nothing was changed: {}; run `lifeboat "
                              "check` and remove or repair the damaged snapshot",
                              damaged.front()));
  for (const auto& s : snaps) {
    if (std::find(options_.assume_forgotten.begin(), options_.assume_forgotten.end(), s.id) !=
        options_.assume_forgotten.end())
      continue;
    if (!snapshots_seen_.insert(s.id).second) continue;
    result_.snapshots++;
    LB_RETURN_IF_ERROR(referenced_.add(s));
  }
  return referenced_.verdict();
}

void Pruner::plan() {
  for (const auto& [id, info] : packs_) referenced_.add_bases(info.entries);
  const IdSet& refs = referenced_.blobs;
  IdSet kept;
  kept.reserve(refs.size());
  std::vector<std::pair<uint64_t, Id>> candidates;  // unused bytes, pack
  uint64_t unused_in_candidates = 0;
  for (auto& [id, info] : packs_) {
    result_.packs++;
    result_.pack_bytes += info.size;
    info.used.assign(info.entries.size(), false);
    for (size_t i = 0; i < info.entries.size(); ++i) {
      const auto& e = info.entries[i];
      if (refs.count(e.id) && kept.insert(e.id).second) {
        info.used[i] = true;
        info.used_bytes += e.length;
        result_.used_blobs++;
      } else {
        if (refs.count(e.id)) result_.duplicate_blobs++;
        info.unused_bytes += e.length;
        result_.unused_blobs++;
      }
    }
    // Blob bytes the index does not name (a damaged blob `repair index
    // --read-data` left out): gaps between the indexed blobs, which tile the
    // pack from offset 0.
    std::vector<std::pair<uint32_t, uint32_t>> spans;
    for (const auto& e : info.entries) spans.emplace_back(e.offset, e.length);
    std::sort(spans.begin(), spans.end());
    uint64_t expected = 0;
    for (const auto& [offset, length] : spans) {
      if (offset > expected) info.unused_bytes += offset - expected;
      expected = std::max<uint64_t>(expected, uint64_t{offset} + length);
    }
    // And after the last one: what the header of the indexed blobs does not
    // explain (beyond a box's larger envelope) is a left-out blob there.
    uint64_t explained = expected + repo::pack_header_size(info.entries);
    if (info.size > explained + crypto::kX25519KeySize) info.unused_bytes += info.size - explained;
    result_.used_bytes += info.used_bytes;
    result_.unused_bytes += info.unused_bytes;
    if (info.size == 0) continue;  // missing: neither deleted nor repacked
    if (info.used_bytes == 0) {
      to_condemn_.push_back(id);
      result_.packs_unused++;
      result_.bytes_condemned += info.size;
    } else if (info.unused_bytes > 0) {
      candidates.emplace_back(info.unused_bytes, id);
      unused_in_candidates += info.unused_bytes;
    }
  }
  uint64_t allowed;
  if (options_.max_unused_bytes) {
    allowed = *options_.max_unused_bytes;
  } else if (options_.max_unused_fraction >= 1.0) {
    allowed = UINT64_MAX;
  } else {
    // unused / (used + unused) <= f  <=>  unused <= used * f / (1 - f)
    double f = std::max(0.0, options_.max_unused_fraction);
    allowed = static_cast<uint64_t>(static_cast<double>(result_.used_bytes) * f / (1.0 - f));
  }
  std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  uint64_t remaining = unused_in_candidates;
  size_t cold = 0;
  for (const auto& [unused, id] : candidates) {
    if (remaining <= allowed) break;
    const PackInfo& info = packs_[id];
    // Repacking reads the pack: not from an archive class, which would
    // need a thaw first. (A wholly unused archived pack is deleted unread.)
    if (archived_.contains(id)) {
      cold++;
      continue;
    }
    if (options_.max_repack_bytes && result_.bytes_repacked + info.size > *options_.max_repack_bytes) continue;
    to_repack_.push_back(id);
    result_.packs_repacked++;
    result_.bytes_repacked += info.size;
    result_.bytes_condemned += info.size;
    for (size_t i = 0; i < info.entries.size(); ++i)
      if (info.used[i]) result_.blobs_repacked++;
    remaining -= unused;
  }
  result_.unused_bytes_after = remaining;
  if (cold)
    result_.notes.push_back(fmt::format("{} partly used pack(s) in an archive storage class were not repacked (that "
                                        "would need a thaw); their unused data stays until they are wholly unused",
                                        cold));
  std::sort(to_repack_.begin(), to_repack_.end());
  to_condemn_.insert(to_condemn_.end(), to_repack_.begin(), to_repack_.end());
  std::sort(to_condemn_.begin(), to_condemn_.end());
}

Status Pruner::repack() {
  std::vector<RepackSource> sources;
  for (const Id& id : to_repack_) sources.push_back({id, &packs_[id].entries, &packs_[id].used});
  RepackStats stats;
  LB_ASSIGN_OR_RETURN(written_, ops::repack(repo_, sources, ctx_, "prune cannot repack", stats));
  result_.packs_written = stats.packs_written;
  result_.bytes_written = stats.bytes_written;
  return Status::ok();
}

// The mark: the record first (so no backup adopts the packs once the index
// stops naming them), then the new index files, then the old ones go; then
// the sessions that may have read the old index are written down.
Result<LiveLocks> Pruner::switch_index(repo::CondemnedRecord& record) {
  record.time_ns = repo_.clock().now_ns();
  record.hostname = ctx_.hostname;
  record.complete = false;
  for (const Id& id : to_condemn_) record.packs.push_back({id, packs_[id].entries});
  LB_RETURN_IF_ERROR(repo_.write_condemned(record));

  IdSet condemned(to_condemn_.begin(), to_condemn_.end());
  std::vector<Id> affected;
  for (const Id& id : to_condemn_)
    for (const Id& f : packs_[id].files) affected.push_back(f);
  std::sort(affected.begin(), affected.end());
  affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
  std::vector<repo::IndexPack> replacement = written_;
  IdSet included;
  for (const Id& f : affected)
    for (const Id& pack : file_packs_[f])
      if (!condemned.count(pack) && included.insert(pack).second) replacement.push_back({pack, packs_[pack].entries});
  LB_RETURN_IF_ERROR(write_index_batches(repo_, std::move(replacement), options_.packs_per_index_file));
  for (const Id& f : affected) {
    Status s = repo_.remove("index/" + f.hex());
    if (!s.is_ok() && s.code() != ErrorCode::kNotFound) return s.with_context("unable to remove an old index file");
    result_.index_files_replaced++;
  }

  LB_ASSIGN_OR_RETURN(auto live, live_locks());
  repo::CondemnedRecord done = record;
  done.id = Id{};
  done.complete = true;
  for (const auto& [session, l] : live.by_session) done.lock_sessions.push_back(session);
  std::sort(done.lock_sessions.begin(), done.lock_sessions.end());
  LB_RETURN_IF_ERROR(repo_.write_condemned(done));
  repo_.remove("condemned/" + record.id.hex()).ignore();  // a leftover waits like an unfinished one
  record = std::move(done);
  return live;
}

Status Pruner::sweep(const repo::CondemnedRecord& rec) {
  for (const auto& p : rec.packs) referenced_.add_bases(p.blobs);
  const IdSet& refs = referenced_.blobs;
  std::vector<repo::IndexPack> rescue;
  for (const auto& p : rec.packs) {
    repo::IndexPack r{p.pack_id, {}};
    for (const auto& e : p.blobs)
      if (refs.count(e.id) && !repo_.index().lookup(e.id)) r.blobs.push_back(e);
    if (r.blobs.empty()) continue;
    if (!on_storage_.count(p.pack_id))
      return Status(ErrorCode::kCorrupt,
                    fmt::format("condemned pack {} holds blobs a snapshot references, but it is gone; run `lifeboat "
                                "check`",
                                p.pack_id.short_hex()));
    result_.blobs_rescued += r.blobs.size();
    rescue.push_back(std::move(r));
  }
  if (!rescue.empty()) {
    LB_RETURN_IF_ERROR(repo_.write_index(rescue).status().with_context("unable to index rescued blobs"));
    for (const auto& r : rescue) repo_.index().add_pack(r.pack_id, r.blobs);
  }
  for (const auto& p : rec.packs) {
    if (repo_.index().has_pack(p.pack_id)) continue;  // indexed again: kept
    Status s = repo_.remove(repo::pack_name(p.pack_id));
    if (s.code() == ErrorCode::kNotFound) continue;
    LB_RETURN_IF_ERROR(s.with_context("unable to delete a condemned pack"));
    result_.packs_deleted++;
    auto it = on_storage_.find(p.pack_id);
    if (it != on_storage_.end()) result_.bytes_deleted += it->second;
  }
  Status s = repo_.remove("condemned/" + rec.id.hex());
  if (!s.is_ok() && s.code() != ErrorCode::kNotFound) return s;
  result_.records_swept++;
  return Status::ok();
}

Result<PruneResult> Pruner::run() {
  LB_ASSIGN_OR_RETURN(lock_, lock_repository(repo_, repo::LockKind::kDelete, ctx_, "prune", options_.dry_run));
  // Which earlier records may be swept is decided before the snapshots are
  // listed: every snapshot that could reference their packs exists by then.
  LB_ASSIGN_OR_RETURN(auto live, live_locks());
  LB_RETURN_IF_ERROR(load());
  std::vector<const repo::CondemnedRecord*> sweepable;
  for (const auto& rec : records_) {
    if (ready(rec, live)) sweepable.push_back(&rec);
    else
      for (const auto& p : rec.packs) {
        result_.packs_waiting++;
        if (auto it = on_storage_.find(p.pack_id); it != on_storage_.end()) result_.bytes_waiting += it->second;
      }
  }
  LB_RETURN_IF_ERROR(walk_snapshots());
  plan();
  if (options_.dry_run) {
    for (const auto* rec : sweepable)
      for (const auto& p : rec->packs)
        if (auto it = on_storage_.find(p.pack_id); it != on_storage_.end() && !repo_.index().has_pack(p.pack_id)) {
          result_.packs_deleted++;
          result_.bytes_deleted += it->second;
        }
    return std::move(result_);
  }
  // A delta rescued from one record may have its base in another.
  for (const auto* rec : sweepable)
    for (const auto& p : rec->packs) referenced_.add_bases(p.blobs);
  for (const auto* rec : sweepable) {
    LB_RETURN_IF_ERROR(cancelled());
    LB_RETURN_IF_ERROR(sweep(*rec));
  }

  if (!to_condemn_.empty()) {
    LB_RETURN_IF_ERROR(cancelled());
    LB_RETURN_IF_ERROR(repack());
    LB_RETURN_IF_ERROR(cancelled());
    repo::CondemnedRecord record;
    LB_ASSIGN_OR_RETURN(auto at_mark, switch_index(record));
    if (record.lock_sessions.empty()) {
      // Nothing else runs: sweep now. Snapshots stored since the walk may
      // reference the packs (their backups ended in between): walk those too,
      // against the index as it is now.
      LB_RETURN_IF_ERROR(repo_.load_index());
      LB_RETURN_IF_ERROR(walk_snapshots());
      LB_RETURN_IF_ERROR(sweep(record));
    } else {
      result_.packs_waiting += record.packs.size();
      result_.bytes_waiting += result_.bytes_condemned;
      ready(record, at_mark);  // names what the deletion waits for
    }
  }

  std::string details = fmt::format(
      "{} packs condemned ({} bytes, {} repacked into {}), {} packs deleted ({} bytes), {} blobs rescued, {} packs "
      "waiting",
      to_condemn_.size(), result_.bytes_condemned, result_.packs_repacked, result_.packs_written,
      result_.packs_deleted, result_.bytes_deleted, result_.blobs_rescued, result_.packs_waiting);
  Status audited = audit(repo_, ctx_, "prune", Status::ok(), {}, details);
  if (!audited.is_ok()) result_.notes.push_back(audited.message());
  LB_RETURN_IF_ERROR(lock_->release());
  return std::move(result_);
}

}  // namespace

Result<PruneResult> prune(repo::Repository& repo, const PruneOptions& options, const OpContext& ctx) {
  Pruner p(repo, options, ctx);
  return p.run();
}

}  // namespace lifeboat::ops
