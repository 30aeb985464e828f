#include "ops/backup.h"

#include "ops/audit.h"
#include "ops/locking.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "chunk/fastcdc.h"
#include "ops/content.h"
#include "ops/snapshot_builder.h"
#include "repo/blob_saver.h"
#include "sources/fs/exclude.h"
#include "sources/fs/file_cache.h"
#include "sources/fs/metadata.h"
#include "sources/fs/scanner.h"
#include "ops/tree_walk.h"
#include "util/bounded_queue.h"
#include "util/buffer_pool.h"
#include "util/path.h"
#include "util/posix_error.h"
#include "util/utf8.h"

namespace lifeboat::ops {

namespace fs = sources::fs;
using repo::BlobType;
using repo::Id;
using repo::Node;
using repo::NodeType;

namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Opens without updating atime where permitted (O_NOATIME needs ownership
// or CAP_FOWNER): a backup must not modify its source.
int open_noatime(int dirfd, const char* name, int flags) {
  int fd = ::openat(dirfd, name, flags | O_NOATIME | O_CLOEXEC);
  if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, name, flags | O_CLOEXEC);
  return fd;
}

// A directory being assembled. `pending` counts the walker's own hold plus
// every child still being read or walked; whoever brings it to zero
// finalises the directory (encodes and stores its tree) and releases the
// parent.
struct DirState {
  DirState* parent = nullptr;
  size_t slot = 0;  // index in parent->children
  std::string path;
  std::vector<Node> children;
  std::vector<bool> dropped;       // children that failed and are left out
  std::vector<bool> cacheable;     // file children whose content may be cached
  bool had_cache = false;          // the old files cache knew this directory
  std::atomic<int> pending{1};
};

struct FileJob {
  DirState* dir;
  size_t slot;
  std::string path;
};

class Archiver {
 public:
  Archiver(const RepositoryOpener& open, const BackupOptions& options, const OpContext& ctx, BackupProgress* progress)
      : open_(open),
        options_(options),
        ctx_(ctx),
        progress_(progress ? progress : &own_progress_),
        workers_(options.workers > 0 ? options.workers
                                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
        file_jobs_(static_cast<size_t>(workers_) * 64) {}

  Result<BackupResult> run();

 private:
  Status prepare_targets();
  Result<BackupResult> archive();
  // Consumes the listing of `dir` (the next in the scanner's stream), hands
  // its files to the readers and walks the entered subdirectories.
  void walk(DirState* dir);
  void release(DirState* dir);
  void finalize(DirState* dir);
  void reader_loop();
  void read_file(FileJob& job);
  bool cache_hit(const Node& node, const fs::CachedFile* cached) const;
  void warn(std::string message);  // an entry that is not in the snapshot
  void note(std::string message);  // worth saying, but the snapshot is complete
  bool stopping() const { return ctx_.cancelled() || saver_->status().code() != ErrorCode::kOk; }

  const RepositoryOpener& open_;
  repo::Repository* repo_ = nullptr;
  const BackupOptions& options_;
  const OpContext& ctx_;
  BackupProgress own_progress_;
  BackupProgress* progress_;
  std::optional<chunk::FastCdc> cdc_;
  int workers_;
  BoundedQueue<FileJob> file_jobs_;
  std::unique_ptr<repo::BlobSaver> saver_;
  std::shared_ptr<BufferPool> windows_ = make_window_pool();
  fs::ExcludeMatcher excludes_;
  fs::OwnerNames owners_;
  std::unique_ptr<fs::FileCacheReader> old_cache_;
  std::unique_ptr<fs::FileCacheWriter> new_cache_;
  std::vector<std::string> targets_;
  BoundedQueue<fs::ScannedDir> listings_{32 * 1024};  // bounded in entries
  int64_t start_ns_ = 0;

  std::mutex mu_;  // guards warnings_, root_, summary counters below
  std::condition_variable root_done_cv_;
  std::optional<Id> root_tree_;
  std::vector<std::string> warnings_;
  std::vector<std::string> notes_;
  std::atomic<uint64_t> files_new_{0}, files_changed_{0}, files_unmodified_{0};
  std::atomic<uint64_t> dirs_new_{0}, dirs_changed_{0}, dirs_unmodified_{0};
  std::atomic<uint64_t> files_total_{0}, dirs_total_{0}, bytes_total_{0};
};

void Archiver::warn(std::string message) {
  std::lock_guard lock(mu_);
  warnings_.push_back(std::move(message));
}

void Archiver::note(std::string message) {
  std::lock_guard lock(mu_);
  notes_.push_back(std::move(message));
}

Status Archiver::prepare_targets() {
  if (options_.paths.empty())
    return Status(ErrorCode::kInvalidArgument, "nothing to back up: give at least one path");
  for (const auto& p : options_.paths) {
    std::string abs = absolute_path(p, options_.working_dir);
    struct stat st;
    if (::lstat(abs.c_str(), &st) != 0)
      return posix_error(errno, fmt::format("cannot back up {}", escape_name(abs)));
    targets_.push_back(abs);
  }
  std::sort(targets_.begin(), targets_.end());
  targets_.erase(std::unique(targets_.begin(), targets_.end()), targets_.end());
  for (const auto& pattern : options_.excludes) excludes_.add(pattern);
  for (const auto& file : options_.exclude_files) LB_RETURN_IF_ERROR(excludes_.add_file(file));
  return Status::ok();
}

bool Archiver::cache_hit(const Node& node, const fs::CachedFile* cached) const {
  if (!cached || cached->size != node.size || cached->mtime_ns != node.mtime_ns ||
      cached->ctime_ns != node.ctime_ns || cached->inode != node.inode)
    return false;
  if (cached->content.empty() != (node.size == 0)) return false;
  for (const Id& id : cached->content)
    if (!repo_->index().contains(id)) return false;  // pruned since: read again
  return true;
}

void Archiver::walk(DirState* dir) {
  auto listing = listings_.pop();
  if (!listing || listing->path != dir->path) {
    // The scanner stopped early (cancelled) or, impossibly, went out of order.
    dir->dropped.assign(dir->children.size(), false);
    dir->cacheable.assign(dir->children.size(), false);
    release(dir);
    return;
  }
  if (listing->failed && dir->parent) {
    dir->parent->dropped[dir->slot] = true;
    DirState* parent = dir->parent;
    delete dir;
    release(parent);
    return;
  }
  dir->children = std::move(listing->children);
  dir->dropped.assign(dir->children.size(), false);
  dir->cacheable.assign(dir->children.size(), false);
  std::vector<fs::CachedFile> cached;
  if (old_cache_) cached = old_cache_->load_dir(dir->path);
  dir->had_cache = !cached.empty();
  // First pass: decide every file from the cache, so the children vector is
  // complete before any reader touches a slot.
  std::vector<size_t> to_read;
  for (size_t i = 0; i < dir->children.size(); ++i) {
    Node& n = dir->children[i];
    if (n.type != NodeType::kFile) continue;
    auto it = std::lower_bound(cached.begin(), cached.end(), n.name,
                               [](const fs::CachedFile& c, const std::string& k) { return c.name < k; });
    const fs::CachedFile* c = (it != cached.end() && it->name == n.name) ? &*it : nullptr;
    files_total_++;
    bytes_total_ += n.size;
    if (cache_hit(n, c)) {
      n.content = c->content;
      dir->cacheable[i] = true;
      files_unmodified_++;
      progress_->files_done++;
      progress_->bytes_done += n.size;
    } else {
      (c ? files_changed_ : files_new_)++;
      to_read.push_back(i);
    }
  }
  for (size_t i : to_read) {
    if (stopping()) break;
    dir->pending++;
    if (!file_jobs_.push(FileJob{dir, i, child_path(dir->path, dir->children[i].name)})) {
      dir->pending--;
      break;
    }
  }
  for (size_t i = 0; i < dir->children.size(); ++i) {
    Node& n = dir->children[i];
    if (n.type != NodeType::kDir) continue;
    auto* child = new DirState();
    child->parent = dir;
    child->slot = i;
    child->path = child_path(dir->path, n.name);
    dir->pending++;
    dirs_total_++;
    if (listing->enter[i] && !stopping()) {
      walk(child);
    } else {
      release(child);  // a mount point with -x: recorded, not entered
    }
  }
  release(dir);
}

void Archiver::release(DirState* dir) {
  if (dir->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) finalize(dir);
}

void Archiver::finalize(DirState* dir) {
  repo::Tree tree;
  std::vector<fs::CachedFile> cache_records;
  tree.nodes.reserve(dir->children.size());
  for (size_t i = 0; i < dir->children.size(); ++i) {
    if (dir->dropped[i]) continue;
    Node& n = dir->children[i];
    if (n.type == NodeType::kFile && dir->cacheable[i])
      cache_records.push_back({n.name, n.size, n.mtime_ns, n.ctime_ns, n.inode, n.content});
    tree.nodes.push_back(std::move(n));
  }
  Bytes encoded = repo::encode_tree(tree);
  Id id = repo_->keys().blob_id(encoded);
  bool is_new = repo_->index().reserve(id, BlobType::kTree);
  if (is_new) saver_->save(BlobType::kTree, id, std::move(encoded));
  if (dir->parent) {
    if (!is_new) dirs_unmodified_++;
    else (dir->had_cache ? dirs_changed_ : dirs_new_)++;
    progress_->dirs_done++;
  }
  if (new_cache_) new_cache_->add_dir(dir->path, cache_records);
  DirState* parent = dir->parent;
  size_t slot = dir->slot;
  delete dir;
  if (parent) {
    parent->children[slot].subtree = id;
    release(parent);
  } else {
    std::lock_guard lock(mu_);
    root_tree_ = id;
    root_done_cv_.notify_all();
  }
}

void Archiver::reader_loop() {
  while (auto job = file_jobs_.pop()) {
    if (!stopping()) read_file(*job);
    release(job->dir);
  }
}

// Reads a file through store_content (ops/content.h).
void Archiver::read_file(FileJob& job) {
  Node& node = job.dir->children[job.slot];
  auto drop = [&](int err, const char* what) {
    warn(posix_error(err, fmt::format("{} {}", what, escape_name(job.path))).message());
    job.dir->dropped[job.slot] = true;
    node.content.clear();
  };
  Fd fd(open_noatime(AT_FDCWD, job.path.c_str(), O_RDONLY | O_NOFOLLOW));
  if (fd.get() < 0) return drop(errno, "unable to open");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return drop(errno, "unable to stat");
  if (!S_ISREG(st.st_mode)) return drop(EINVAL, "changed type during backup:");
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);

  int read_errno = 0;
  ReadFn read = [&](uint8_t* p, size_t n) -> Result<size_t> {
    for (;;) {
      ssize_t got = ::read(fd.get(), p, n);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno == EINTR) continue;
      read_errno = errno;
      return Status(ErrorCode::kIo, "read");
    }
  };
  node.content.clear();
  auto stored = store_content(*repo_, saver_.get(), *windows_, read, static_cast<uint64_t>(st.st_size),
                              Cutter::content_defined(*cdc_), &progress_->bytes_done, [this] { return stopping(); });
  if (!stored.is_ok()) {
    if (read_errno != 0) return drop(read_errno, "unable to read");
    return;  // stopping
  }
  node.content = std::move(stored->blobs);
  uint64_t total = stored->size;
  node.size = total;
  struct stat after;
  bool unchanged = ::fstat(fd.get(), &after) == 0 && after.st_mtim.tv_sec == st.st_mtim.tv_sec &&
                   after.st_mtim.tv_nsec == st.st_mtim.tv_nsec && static_cast<uint64_t>(after.st_size) == total;
  // A file modified within the last second may change again without its
  // mtime changing (coarse timestamps): do not trust the cache for it.
  bool racy = node.mtime_ns >= start_ns_ - kNanosPerSecond || node.ctime_ns >= start_ns_ - kNanosPerSecond;
  job.dir->cacheable[job.slot] = unchanged && !racy;
  progress_->files_done++;
}

Result<BackupResult> Archiver::run() {
  start_ns_ = SystemClock::instance().now_ns();
  LB_RETURN_IF_ERROR(prepare_targets());
  // The scan starts before the repository is open: the walk's system calls
  // overlap the key derivation (~0.2 s of scrypt).
  fs::Scanner::Options so;
  so.targets = targets_;
  so.excludes = &excludes_;
  so.one_file_system = options_.one_file_system;
  fs::Scanner scanner(so, listings_, owners_);
  std::thread scan_thread([&] { scanner.run(); });
  auto result = archive();
  listings_.abort();  // stops the scanner if the archive ended early
  scan_thread.join();
  if (result.is_ok()) {
    auto scan_warnings = scanner.take_warnings();
    auto& w = result->warnings;
    w.insert(w.begin(), scan_warnings.begin(), scan_warnings.end());
    result->snapshot.summary.errors = w.size();
  }
  return result;
}

Result<BackupResult> Archiver::archive() {
  LB_ASSIGN_OR_RETURN(repo_, open_());
  start_ns_ = repo_->clock().now_ns();
  cdc_.emplace(repo_->keys().gear_table(), repo_->config().chunker);

  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(*repo_, repo::LockKind::kShared, ctx_, "backup"));
  LB_RETURN_IF_ERROR(repo_->load_index());
  // Packs left by an interrupted backup are adopted, so their blobs are
  // reused. (Not under a write-only key, which cannot read pack headers.)
  if (!repo_->keys().write_only()) LB_RETURN_IF_ERROR(repo_->index_unindexed_packs().status());

  std::string cache_path;
  if (!options_.cache_root.empty()) {
    cache_path = fs::file_cache_path(options_.cache_root, repo_->config().id, ctx_.hostname, targets_);
    old_cache_ = fs::FileCacheReader::open(cache_path);
    auto writer = fs::FileCacheWriter::create(cache_path);
    if (writer.is_ok()) new_cache_ = std::move(*writer);
    else note("files cache disabled: " + writer.status().message());
  }

  repo::BlobSaver::Options so;
  so.workers = workers_;
  so.uploaders = repo_->connections();
  saver_ = std::make_unique<repo::BlobSaver>(*repo_, so);

  std::thread counter;
  if (options_.scan) {
    // For the progress ETA only: a quick count of files and bytes.
    counter = std::thread([this] {
      uint64_t files = 0, bytes = 0;
      std::vector<std::string> stack(targets_.begin(), targets_.end());
      while (!stack.empty() && !stopping() && !progress_->scan_finished.load()) {
        std::string p = stack.back();
        stack.pop_back();
        struct stat st;
        if (::lstat(p.c_str(), &st) != 0) continue;
        if (S_ISREG(st.st_mode)) {
          files++;
          bytes += static_cast<uint64_t>(st.st_size);
        } else if (S_ISDIR(st.st_mode)) {
          DIR* d = ::opendir(p.c_str());
          if (!d) continue;
          while (struct dirent* e = ::readdir(d)) {
            if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
            std::string c = child_path(p, e->d_name);
            if (!excludes_.excluded(c)) stack.push_back(c);
          }
          ::closedir(d);
        }
        progress_->files_total = files;
        progress_->bytes_total = bytes;
      }
      progress_->scan_finished = true;
    });
  }

  std::vector<std::thread> readers;
  for (int i = 0; i < workers_; ++i) readers.emplace_back([this] { reader_loop(); });

  auto* root = new DirState();
  root->path = "/";
  walk(root);
  file_jobs_.close();
  for (auto& t : readers) t.join();
  progress_->scan_finished = true;
  if (counter.joinable()) counter.join();

  if (ctx_.cancelled()) {
    saver_->abort();
    return Status(ErrorCode::kCancelled, "backup interrupted; no snapshot was written (data stored so far is "
                                         "kept and reused by the next backup)");
  }
  Status saver_status = saver_->status();
  {
    std::unique_lock lock(mu_);
    if (!root_tree_ && saver_status.is_ok()) return Status(ErrorCode::kInternal, "backup: root tree was not built");
  }
  LB_RETURN_IF_ERROR(finish_saving(*saver_));

  int64_t end_ns = repo_->clock().now_ns();
  repo::Snapshot snap = new_snapshot(ctx_, saver_->stats());
  snap.time_ns = options_.time_ns.value_or(start_ns_);
  snap.paths = targets_;
  snap.tags = options_.tags;
  snap.excludes = excludes_.patterns();
  snap.tree = *root_tree_;
  auto& m = snap.summary;
  m.files_new = files_new_;
  m.files_changed = files_changed_;
  m.files_unmodified = files_unmodified_;
  m.dirs_new = dirs_new_;
  m.dirs_changed = dirs_changed_;
  m.dirs_unmodified = dirs_unmodified_;
  m.total_files_processed = files_total_;
  m.total_dirs_processed = dirs_total_;
  m.total_bytes_processed = bytes_total_;
  m.errors = warnings_.size();
  m.backup_start_ns = start_ns_;
  m.backup_end_ns = end_ns;
  LB_RETURN_IF_ERROR(save_new_snapshot(*repo_, *lock, snap));
  Status audited = audit(*repo_, ctx_, "backup", Status::ok(), {snap.id.hex()},
                         fmt::format("{} files, {} bytes added{}", m.total_files_processed, m.data_added,
                                     warnings_.empty() ? "" : fmt::format(", {} unreadable", warnings_.size())));
  if (!audited.is_ok()) note(audited.message());
  if (new_cache_) {
    Status s = new_cache_->commit();
    if (!s.is_ok()) note("files cache not updated: " + s.message());
  }
  LB_RETURN_IF_ERROR(lock->release());
  BackupResult result;
  result.snapshot = std::move(snap);
  result.warnings = std::move(warnings_);
  result.notes = std::move(notes_);
  return result;
}

}  // namespace

Result<BackupResult> backup(const RepositoryOpener& open, const BackupOptions& options, const OpContext& ctx,
                            BackupProgress* progress) {
  Archiver archiver(open, options, ctx, progress);
  return archiver.run();
}

Result<BackupResult> backup(repo::Repository& repo, const BackupOptions& options, const OpContext& ctx,
                            BackupProgress* progress) {
  RepositoryOpener open = [&repo]() -> Result<repo::Repository*> { return &repo; };
  return backup(open, options, ctx, progress);
}

}  // namespace lifeboat::ops
