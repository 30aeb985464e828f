#include "ops/snapshot_builder.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "ops/audit.h"
#include "ops/locking.h"

namespace lifeboat::ops {

using repo::BlobType;
using repo::Id;
using repo::Node;
using repo::NodeType;

Status finish_saving(repo::BlobSaver& saver) {
  Status finished = saver.finish();
  if (finished.code() == ErrorCode::kNoSpace)
    return finished.with_context("backup failed, the repository's storage is full (free space there and run the "
                                 "backup again; what was stored is kept and reused)");
  if (!finished.is_ok()) return finished.with_context("backup failed");
  return Status::ok();
}

repo::Snapshot new_snapshot(const OpContext& ctx, const repo::SaverStats& stats) {
  repo::Snapshot snap;
  snap.hostname = ctx.hostname;
  snap.username = ctx.username;
  snap.uid = ctx.uid;
  snap.gid = ctx.gid;
  snap.program_version = LIFEBOAT_VERSION;
  auto& m = snap.summary;
  m.data_blobs = stats.data_blobs;
  m.tree_blobs = stats.tree_blobs;
  m.data_added = stats.packed_bytes;
  m.data_added_raw = stats.raw_bytes;
  return snap;
}

Status save_new_snapshot(repo::Repository& repo, repo::RepoLock& lock, repo::Snapshot& snap) {
  if (!repo.keys().write_only()) {
    if (auto snaps = repo.load_snapshots(); snaps.is_ok()) {
      for (auto it = snaps->rbegin(); it != snaps->rend(); ++it)
        if (it->hostname == snap.hostname && it->paths == snap.paths && it->kind == snap.kind) {
          snap.parent = it->id;
          break;
        }
    }
  }
  // Prune keeps condemned data only while the operations it saw running are;
  // a lock that was lost (stale, or removed by unlock) protects nothing.
  Status held = lock.verify();
  if (!held.is_ok())
    return held.with_context("no snapshot was written, as data it references may have been pruned meanwhile (the "
                             "data stored is kept; run the backup again)");
  return repo.save_snapshot(snap);
}

Result<std::pair<std::string, std::string>> split_entry_path(std::string_view path) {
  auto bad = [&] {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("invalid name \"{}\" in a snapshot: use a relative path without \".\" or \"..\"", path));
  };
  if (path.empty() || path.front() == '/' || path.back() == '/') return bad();
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return bad();
    start = end + 1;
  }
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return std::make_pair(std::string(), std::string(path));
  return std::make_pair(std::string(path.substr(0, slash)), std::string(path.substr(slash + 1)));
}

SnapshotBuilder::SnapshotBuilder(repo::Repository& repo, const OpContext& ctx)
    : repo_(repo), ctx_(ctx), cdc_(repo.keys().gear_table(), repo.config().chunker) {
  dirs_[""];
}

Result<std::unique_ptr<SnapshotBuilder>> SnapshotBuilder::begin(repo::Repository& repo, const OpContext& ctx,
                                                                int workers, std::atomic<uint64_t>* bytes_done) {
  std::unique_ptr<SnapshotBuilder> b(new SnapshotBuilder(repo, ctx));
  if (bytes_done) b->bytes_done_ = bytes_done;
  b->start_ns_ = repo.clock().now_ns();
  LB_ASSIGN_OR_RETURN(b->lock_, lock_repository(repo, repo::LockKind::kShared, ctx, "backup"));
  LB_RETURN_IF_ERROR(repo.load_index());
  if (!repo.keys().write_only()) LB_RETURN_IF_ERROR(repo.index_unindexed_packs().status());
  repo::BlobSaver::Options so;
  so.workers = workers > 0 ? workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  so.uploaders = repo.connections();
  b->saver_ = std::make_unique<repo::BlobSaver>(repo, so);
  return b;
}

SnapshotBuilder::~SnapshotBuilder() {
  if (!done_) abort();
}

void SnapshotBuilder::abort() {
  if (done_) return;
  done_ = true;
  if (saver_) saver_->abort();
  if (lock_) (void)lock_->release();
}

Node SnapshotBuilder::dir_node(std::string name) const {
  Node n;
  n.name = std::move(name);
  n.type = NodeType::kDir;
  n.mode = 0755;
  n.mtime_ns = start_ns_;
  n.uid = ctx_.uid;
  n.gid = ctx_.gid;
  return n;
}

Status SnapshotBuilder::insert(std::string_view path, Node node) {
  LB_ASSIGN_OR_RETURN(auto parts, split_entry_path(path));
  std::lock_guard lock(mu_);
  // Create the missing parents, each recorded in its own parent.
  // (A directory is known once its parent lists it: "a/b/c" makes "a/b"
  // and "a" too, each listed in its own parent.)
  std::string dir = parts.first;
  while (!dir.empty()) {
    auto slash = dir.rfind('/');
    std::string parent = slash == std::string::npos ? "" : dir.substr(0, slash);
    std::string name = slash == std::string::npos ? dir : dir.substr(slash + 1);
    auto& siblings = dirs_[parent];
    if (auto it = siblings.find(name); it != siblings.end()) {
      if (it->second.type != NodeType::kDir)
        return Status(ErrorCode::kAlreadyExists, fmt::format("\"{}\" is added both as a file and as a directory", dir));
      break;
    }
    dirs_[dir];
    siblings.emplace(name, dir_node(name));
    dir = parent;
  }
  auto& entries = dirs_[parts.first];
  node.name = parts.second;
  auto it = entries.find(node.name);
  if (it != entries.end()) {
    // A directory created implicitly takes the metadata given later.
    if (it->second.type == NodeType::kDir && node.type == NodeType::kDir) {
      it->second = std::move(node);
      return Status::ok();
    }
    return Status(ErrorCode::kAlreadyExists, fmt::format("\"{}\" is added twice to the snapshot", path));
  }
  if (node.type == NodeType::kDir) dirs_[std::string(path)];
  if (node.type == NodeType::kFile) {
    files_++;
    bytes_ += node.size;
  }
  entries.emplace(node.name, std::move(node));
  return Status::ok();
}

namespace {
Node meta_node(NodeType type, const EntryMeta& meta, int64_t default_time) {
  Node n;
  n.type = type;
  n.mode = meta.mode & 07777;
  n.mtime_ns = meta.mtime_ns ? meta.mtime_ns : default_time;
  n.atime_ns = n.mtime_ns;
  n.ctime_ns = n.mtime_ns;
  n.uid = meta.uid;
  n.gid = meta.gid;
  n.user = meta.user;
  n.group = meta.group;
  return n;
}
}  // namespace

Result<StoredContent> SnapshotBuilder::add_file(std::string_view path, const ReadFn& read, const EntryMeta& meta,
                                                uint64_t size_hint, const std::optional<Cutter>& cutter) {
  return store(path, read, meta, size_hint, cutter ? *cutter : Cutter::content_defined(cdc_), nullptr);
}

Result<StoredContent> SnapshotBuilder::add_file_version(std::string_view path, const ReadFn& read,
                                                        const EntryMeta& meta, uint64_t size_hint,
                                                        const Cutter& fixed) {
  std::vector<repo::Id> previous = previous_content(path);
  return store(path, read, meta, size_hint, fixed, previous.empty() ? nullptr : &previous);
}

void SnapshotBuilder::set_previous(const repo::Snapshot& snapshot) {
  std::lock_guard lock(previous_mu_);
  previous_root_ = snapshot.tree;
  previous_dirs_.clear();
}

std::vector<repo::Id> SnapshotBuilder::previous_content(std::string_view path) {
  std::lock_guard lock(previous_mu_);
  if (!previous_root_) return {};
  auto find = [](const repo::Tree& t, std::string_view name) -> const repo::Node* {
    for (const auto& n : t.nodes)
      if (n.name == name) return &n;
    return nullptr;
  };
  // Walks down from the root, reading each directory once.
  std::string dir;
  std::optional<repo::Id> tree_id = previous_root_;
  size_t pos = 0;
  for (;;) {
    auto it = previous_dirs_.find(dir);
    if (it == previous_dirs_.end()) {
      auto loaded = repo_.load_tree(*tree_id);
      it = previous_dirs_.emplace(dir, loaded.is_ok() ? std::optional<repo::Tree>(std::move(*loaded)) : std::nullopt)
               .first;
    }
    if (!it->second) return {};  // unreadable: stored whole, as without a previous version
    size_t slash = path.find('/', pos);
    std::string_view name = path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    const repo::Node* n = find(*it->second, name);
    if (!n) return {};
    if (slash == std::string_view::npos) return n->type == repo::NodeType::kFile ? n->content : std::vector<repo::Id>{};
    if (!n->subtree) return {};
    tree_id = n->subtree;
    dir = std::string(path.substr(0, slash));
    pos = slash + 1;
  }
}

Result<StoredContent> SnapshotBuilder::store(std::string_view path, const ReadFn& read, const EntryMeta& meta,
                                             uint64_t size_hint, const Cutter& cutter,
                                             const std::vector<repo::Id>* previous) {
  LB_RETURN_IF_ERROR(split_entry_path(path).status());
  if (done_) return Status(ErrorCode::kInternal, "the snapshot is already finished");
  auto stored = store_content(repo_, saver_.get(), *windows_, read, size_hint, cutter, bytes_done_,
                              [this] { return ctx_.cancelled(); }, previous);
  if (!stored.is_ok()) {
    if (stored.status().code() == ErrorCode::kCancelled && !saver_->status().is_ok()) return saver_->status();
    if (stored.status().code() == ErrorCode::kCancelled && ctx_.cancelled())
      return Status(ErrorCode::kCancelled, "interrupted; no snapshot was written (data stored so far is kept and "
                                           "reused by the next backup)");
    return stored.status();
  }
  Node n = meta_node(NodeType::kFile, meta, start_ns_);
  n.size = stored->size;
  n.content = stored->blobs;
  LB_RETURN_IF_ERROR(insert(path, std::move(n)));
  return stored;
}

Status SnapshotBuilder::add_bytes(std::string_view path, ByteSpan data, const EntryMeta& meta) {
  return add_file(path, read_from(data), meta, data.size()).status();
}

Status SnapshotBuilder::add_dir(std::string_view path, const EntryMeta& meta) {
  return insert(path, meta_node(NodeType::kDir, meta, start_ns_));
}

Status SnapshotBuilder::add_symlink(std::string_view path, std::string_view target, const EntryMeta& meta) {
  Node n = meta_node(NodeType::kSymlink, meta, start_ns_);
  n.mode = 0777;
  n.link_target = std::string(target);
  return insert(path, std::move(n));
}

Result<repo::Snapshot> SnapshotBuilder::commit(const SnapshotInfo& info) {
  if (done_) return Status(ErrorCode::kInternal, "the snapshot is already finished");
  if (ctx_.cancelled()) {
    abort();
    return Status(ErrorCode::kCancelled,
                  "interrupted; no snapshot was written (data stored so far is kept and reused by the next backup)");
  }
  // Trees bottom-up: deeper directories first, so each subtree id is known
  // before its parent is encoded.
  std::vector<std::string> order;
  for (const auto& [path, _] : dirs_) order.push_back(path);
  auto depth = [](const std::string& p) { return p.empty() ? 0 : 1 + std::count(p.begin(), p.end(), '/'); };
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) { return depth(a) > depth(b); });
  Id root;
  for (const auto& path : order) {
    repo::Tree tree;
    for (auto& [name, node] : dirs_[path]) tree.nodes.push_back(node);
    Bytes encoded = repo::encode_tree(tree);
    Id id = repo_.keys().blob_id(encoded);
    if (repo_.index().reserve(id, BlobType::kTree)) saver_->save(BlobType::kTree, id, std::move(encoded));
    if (path.empty()) {
      root = id;
      continue;
    }
    auto slash = path.rfind('/');
    std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
    dirs_[parent][slash == std::string::npos ? path : path.substr(slash + 1)].subtree = id;
  }
  Status finished = finish_saving(*saver_);
  if (!finished.is_ok()) {
    abort();
    return finished;
  }
  repo::Snapshot snap = new_snapshot(ctx_, saver_->stats());
  snap.time_ns = info.time_ns.value_or(start_ns_);
  snap.kind = info.kind;
  snap.paths = info.paths;
  snap.tags = info.tags;
  snap.tree = root;
  snap.source_json = info.source_json;
  auto& m = snap.summary;
  m.files_new = files_;
  m.dirs_new = dirs_.size() - 1;
  m.total_files_processed = files_;
  m.total_dirs_processed = dirs_.size() - 1;
  m.total_bytes_processed = bytes_;
  m.backup_start_ns = start_ns_;
  m.backup_end_ns = repo_.clock().now_ns();
  Status saved = save_new_snapshot(repo_, *lock_, snap);
  if (!saved.is_ok()) {
    abort();
    return saved;
  }
  std::string details = fmt::format("{} {}, {} bytes added", snap.kind, fmt::join(snap.paths, " "), m.data_added);
  if (!info.audit_details.empty()) details += ", " + info.audit_details;
  (void)audit(repo_, ctx_, "backup", Status::ok(), {snap.id.hex()}, details);
  done_ = true;
  LB_RETURN_IF_ERROR(lock_->release());
  return snap;
}

}  // namespace lifeboat::ops
