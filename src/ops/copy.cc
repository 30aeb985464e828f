#include "ops/copy.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "chunk/fastcdc.h"
#include "ops/audit.h"
#include "ops/locking.h"
#include "ops/pg_basebackup.h"
#include "ops/wal.h"
#include "repo/blob_saver.h"

namespace lifeboat::ops {
namespace {

using repo::Id;
using repo::IdHash;

struct ContentHash {
  size_t operator()(const std::vector<Id>& v) const {
    size_t h = v.size();
    for (const auto& id : v) h = h * 1099511628211ull ^ IdHash{}(id);
    return h;
  }
};

class Copier {
 public:
  Copier(repo::Repository& src, repo::Repository& dst, const CopyOptions& options, const OpContext& ctx)
      : src_(src), dst_(dst), options_(options), ctx_(ctx) {}

  Result<CopyResult> run();

 private:
  Status check_cancel() const {
    return ctx_.cancelled() ? Status(ErrorCode::kCancelled,
                                     "copy interrupted; snapshots copied so far are complete, and data stored for "
                                     "the next one is reused")
                            : Status::ok();
  }
  Result<std::vector<repo::Snapshot>> wanted();
  Status copy_wal_of(const std::set<uint64_t>& clusters);
  Result<std::vector<repo::Snapshot>> not_there(std::vector<repo::Snapshot> wanted);
  // Related path: the blob `id` must be in the destination.
  Status ensure_blob(const Id& id, repo::BlobType type);
  Status copy_trees_related(const Id& root);
  // Unrelated path: the destination's id of the source tree `id`.
  Result<Id> translate_tree(const Id& id);
  Result<std::vector<Id>> rechunk(const std::vector<Id>& content);
  // Stores the blob unless the destination has it (or reserved it already):
  // `plaintext` is called only then.
  Status store_if_new(repo::BlobType type, const Id& id, const std::function<Result<Bytes>()>& plaintext);

  repo::Repository& src_;
  repo::Repository& dst_;
  const CopyOptions& options_;
  const OpContext& ctx_;
  CopyResult result_;
  std::unique_ptr<repo::BlobSaver> saver_;
  std::optional<chunk::FastCdc> cdc_;
  std::unordered_set<Id, IdHash> trees_done_;
  std::unordered_map<Id, Id, IdHash> tree_map_;
  std::unordered_map<std::vector<Id>, std::vector<Id>, ContentHash> content_map_;
};

Result<std::vector<repo::Snapshot>> Copier::wanted() {
  std::vector<repo::Snapshot> wanted;
  if (options_.snapshots.empty()) {
    LB_ASSIGN_OR_RETURN(wanted, list_snapshots(src_, options_.filter));
  } else {
    for (const auto& ref : options_.snapshots) {
      LB_ASSIGN_OR_RETURN(auto s, find_snapshot(src_, ref, options_.filter));
      if (std::none_of(wanted.begin(), wanted.end(), [&](const auto& w) { return w.id == s.id; }))
        wanted.push_back(std::move(s));
    }
    std::sort(wanted.begin(), wanted.end(), [](const auto& a, const auto& b) { return a.time_ns < b.time_ns; });
  }
  return wanted;
}

Result<std::vector<repo::Snapshot>> Copier::not_there(std::vector<repo::Snapshot> wanted) {
  // What the destination holds already: copies of these snapshots, or (same
  // ids) the same snapshot under another name.
  LB_ASSIGN_OR_RETURN(auto existing, dst_.load_snapshots());
  std::set<std::pair<Id, Id>> copies;
  std::set<std::tuple<int64_t, std::string, std::vector<std::string>, Id>> identities;
  std::set<Id> own;
  for (const auto& s : existing) {
    own.insert(s.id);
    if (s.copied_from) copies.insert({s.copied_from->repository, s.copied_from->snapshot});
    identities.insert({s.time_ns, s.hostname, s.paths, s.tree});
  }
  std::vector<repo::Snapshot> todo;
  for (auto& s : wanted) {
    bool there = copies.count({src_.config().id, s.id}) ||
                 (result_.related && identities.count({s.time_ns, s.hostname, s.paths, s.tree}));
    // A copy knows where it came from: that snapshot, or another copy of it,
    // may be here already.
    if (!there && s.copied_from)
      there = copies.count({s.copied_from->repository, s.copied_from->snapshot}) > 0 ||
              (s.copied_from->repository == dst_.config().id && own.count(s.copied_from->snapshot) > 0);
    if (there) result_.already_there.push_back(s.id);
    else todo.push_back(std::move(s));
  }
  return todo;
}

Status Copier::store_if_new(repo::BlobType type, const Id& id, const std::function<Result<Bytes>()>& plaintext) {
  if (!dst_.index().reserve(id, type)) {
    result_.blobs_present++;
    return Status::ok();
  }
  LB_ASSIGN_OR_RETURN(Bytes data, plaintext());
  result_.blobs_copied++;
  if (!saver_->save(type, id, std::move(data))) return saver_->status();
  return Status::ok();
}

Status Copier::ensure_blob(const Id& id, repo::BlobType type) {
  return store_if_new(type, id, [&]() -> Result<Bytes> {
    auto data = src_.read_blob(id);
    if (!data.is_ok()) return data.status().with_context("cannot read from the source repository");
    result_.bytes_read += data->size();
    return data;
  });
}

Status Copier::copy_trees_related(const Id& root) {
  // Children before parents is not needed for safety (the snapshot comes
  // last, after the saver has finished), only every blob once.
  std::vector<Id> stack{root};
  while (!stack.empty()) {
    LB_RETURN_IF_ERROR(check_cancel());
    Id id = stack.back();
    stack.pop_back();
    if (!trees_done_.insert(id).second) continue;
    auto tree = src_.load_tree(id);
    if (!tree.is_ok()) return tree.status().with_context("cannot read from the source repository");
    for (const auto& n : tree->nodes) {
      for (const auto& b : n.content) LB_RETURN_IF_ERROR(ensure_blob(b, repo::BlobType::kData));
      if (n.subtree) stack.push_back(*n.subtree);
    }
    LB_RETURN_IF_ERROR(ensure_blob(id, repo::BlobType::kTree));
  }
  return Status::ok();
}

Result<std::vector<Id>> Copier::rechunk(const std::vector<Id>& content) {
  if (auto it = content_map_.find(content); it != content_map_.end()) return it->second;
  std::vector<Id> out;
  Bytes buf;
  size_t start = 0;
  const size_t max = cdc_->params().max_size;
  auto emit = [&](bool final) -> Status {
    while (buf.size() - start >= max || (final && start < buf.size())) {
      ByteSpan view(buf.data() + start, buf.size() - start);
      size_t len = cdc_->cut(view);
      Bytes chunk = to_bytes(view.first(len));
      Id id = dst_.keys().blob_id(chunk);
      out.push_back(id);
      LB_RETURN_IF_ERROR(store_if_new(repo::BlobType::kData, id, [&]() -> Result<Bytes> { return std::move(chunk); }));
      start += len;
    }
    if (start > 0) {
      buf.erase(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(start));
      start = 0;
    }
    return Status::ok();
  };
  for (const auto& b : content) {
    LB_RETURN_IF_ERROR(check_cancel());
    auto data = src_.read_blob(b);
    if (!data.is_ok()) return data.status().with_context("cannot read from the source repository");
    result_.bytes_read += data->size();
    append(buf, *data);
    LB_RETURN_IF_ERROR(emit(false));
  }
  LB_RETURN_IF_ERROR(emit(true));
  content_map_.emplace(content, out);
  return out;
}

Result<Id> Copier::translate_tree(const Id& id) {
  if (auto it = tree_map_.find(id); it != tree_map_.end()) return it->second;
  LB_RETURN_IF_ERROR(check_cancel());
  auto tree = src_.load_tree(id);
  if (!tree.is_ok()) return tree.status().with_context("cannot read from the source repository");
  for (auto& n : tree->nodes) {
    if (n.subtree) {
      LB_ASSIGN_OR_RETURN(Id sub, translate_tree(*n.subtree));
      n.subtree = sub;
    }
    if (!n.content.empty()) {
      LB_ASSIGN_OR_RETURN(n.content, rechunk(n.content));
    }
  }
  Bytes encoded = repo::encode_tree(*tree);
  Id out = dst_.keys().blob_id(encoded);
  LB_RETURN_IF_ERROR(
      store_if_new(repo::BlobType::kTree, out, [&]() -> Result<Bytes> { return std::move(encoded); }));
  tree_map_.emplace(id, out);
  return out;
}

Result<CopyResult> Copier::run() {
  if (src_.config().id == dst_.config().id)
    return Status(ErrorCode::kInvalidArgument,
                  "the source and the destination are the same repository; give another --from-repo");
  result_.related = src_.keys().master().id_key == dst_.keys().master().id_key &&
                    src_.config().chunker == dst_.config().chunker;
  // Bad references fail before anything is written, locks included.
  LB_ASSIGN_OR_RETURN(auto wanted_snapshots, wanted());
  LB_ASSIGN_OR_RETURN(auto src_lock,
                      lock_repository(src_, repo::LockKind::kShared, ctx_, "copy (source)", options_.dry_run));
  LB_ASSIGN_OR_RETURN(auto dst_lock, lock_repository(dst_, repo::LockKind::kShared, ctx_, "copy", options_.dry_run));
  // PITR from the copy needs the WAL too; it keeps arriving after a base
  // backup was copied, so it is brought up to date on every copy.
  std::set<uint64_t> clusters;
  for (const auto& s : wanted_snapshots)
    if (s.kind == "postgres-base")
      if (auto info = pg_base_info(s); info.is_ok()) clusters.insert(info->system_id);
  LB_ASSIGN_OR_RETURN(auto todo, not_there(std::move(wanted_snapshots)));
  if (options_.dry_run || todo.empty()) {
    for (const auto& s : todo) result_.copied.push_back({s.id, Id{}});
    LB_RETURN_IF_ERROR(copy_wal_of(clusters));
    if (src_lock) LB_RETURN_IF_ERROR(src_lock->release());
    if (dst_lock) LB_RETURN_IF_ERROR(dst_lock->release());
    return std::move(result_);
  }
  LB_RETURN_IF_ERROR(src_.load_index());
  LB_RETURN_IF_ERROR(dst_.load_index());
  LB_RETURN_IF_ERROR(dst_.index_unindexed_packs().status());
  if (!result_.related) cdc_.emplace(dst_.keys().gear_table(), dst_.config().chunker);

  for (const auto& s : todo) {
    repo::BlobSaver::Options so;
    so.workers = std::max(1, options_.workers);
    so.uploaders = dst_.connections();
    saver_ = std::make_unique<repo::BlobSaver>(dst_, so);
    repo::Snapshot copy = s;
    Status walked;
    if (result_.related) {
      walked = copy_trees_related(s.tree);
    } else {
      auto tree = translate_tree(s.tree);
      walked = tree.status();
      if (tree.is_ok()) copy.tree = *tree;
    }
    if (!walked.is_ok()) {
      saver_->abort();
      return walked;
    }
    Status finished = saver_->finish();
    result_.bytes_added += saver_->stats().packed_bytes;
    LB_RETURN_IF_ERROR(finished.with_context("copy failed"));
    copy.parent.reset();  // names a snapshot of the source
    copy.copied_from = repo::CopiedFrom{src_.config().id, s.id};
    LB_RETURN_IF_ERROR(dst_lock->verify().with_context("no snapshot was written"));
    LB_RETURN_IF_ERROR(dst_.save_snapshot(copy));
    result_.copied.push_back({s.id, copy.id});
    Status audited = audit(dst_, ctx_, "copy", Status::ok(), {copy.id.hex()},
                           fmt::format("snapshot {} of {} ({})", s.id.hex(), src_.config().id.hex(), src_.location()));
    if (!audited.is_ok()) return audited;
  }
  LB_RETURN_IF_ERROR(copy_wal_of(clusters));
  LB_RETURN_IF_ERROR(src_lock->release());
  LB_RETURN_IF_ERROR(dst_lock->release());
  return std::move(result_);
}

Status Copier::copy_wal_of(const std::set<uint64_t>& clusters) {
  for (uint64_t id : clusters) {
    LB_ASSIGN_OR_RETURN(auto w, copy_wal(src_, dst_, id, options_.dry_run, ctx_));
    result_.wal_files_copied += w.files;
    result_.wal_bytes_copied += w.bytes;
  }
  return Status::ok();
}

}  // namespace

Result<CopyResult> copy(repo::Repository& source, repo::Repository& dest, const CopyOptions& options,
                        const OpContext& ctx) {
  Copier c(source, dest, options, ctx);
  return c.run();
}

}  // namespace lifeboat::ops
