#include "ops/restore.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "ops/content.h"
#include "ops/locking.h"
#include "sources/fs/metadata.h"
#include "util/posix_error.h"
#include "util/utf8.h"

namespace lifeboat::ops {

namespace fs = sources::fs;
using repo::Id;
using repo::Node;
using repo::NodeType;

namespace {

std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    if (end > start) parts.emplace_back(p.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// --include semantics: "/a/b" selects /a/b and everything below; "b" (no
// leading slash) selects any entry named b (or path ending in the pattern's
// components) and everything below. Components are fnmatch(3) globs.
class IncludeMatcher {
 public:
  explicit IncludeMatcher(const std::vector<std::string>& includes) {
    for (const auto& inc : includes) patterns_.push_back({inc.starts_with('/'), split_path(inc)});
  }
  bool all() const { return patterns_.empty(); }
  bool selects(const std::vector<std::string>& path) const {
    for (const auto& p : patterns_) {
      if (p.parts.empty()) return true;
      size_t last_start = p.anchored ? 0 : path.size();
      for (size_t start = 0; start <= last_start && start + p.parts.size() <= path.size(); ++start) {
        bool ok = true;
        for (size_t i = 0; i < p.parts.size() && ok; ++i)
          ok = fnmatch(p.parts[i].c_str(), path[start + i].c_str(), 0) == 0;
        if (ok) return true;
      }
    }
    return false;
  }

 private:
  struct Pattern {
    bool anchored;
    std::vector<std::string> parts;
  };
  std::vector<Pattern> patterns_;
};

struct FileTarget {
  std::string path;
  Node node;  // metadata to apply; content cleared after planning
  std::atomic<uint32_t> blobs_left{0};
  std::atomic<bool> created{false};
  std::atomic<bool> failed{false};
  bool metadata_done = false;  // set by the writer of the last blob
};

struct BlobUse {
  uint32_t file;
  uint64_t offset;
};

struct PackPlan {
  Id pack_id;
  // blob entry -> where it goes; sorted by entry offset before reading
  std::vector<std::pair<repo::PackEntry, std::vector<BlobUse>>> blobs;
};

struct PendingDir {
  std::string path;
  std::optional<Node> node;  // none for the target root
  bool created = false;
};

class Restorer {
 public:
  Restorer(repo::Repository& repo, const repo::Snapshot& snapshot, const RestoreOptions& options, const OpContext& ctx,
           RestoreProgress* progress)
      : repo_(repo),
        snapshot_(snapshot),
        options_(options),
        ctx_(ctx),
        progress_(progress ? progress : &own_progress_),
        includes_(options.includes) {
    meta_.owner = ctx.is_root;
  }

  Result<RestoreResult> run();
  // Walks the snapshot as run() would, touching nothing, and returns the
  // packs it would read.
  Result<std::vector<Id>> plan();

 private:
  Status walk(const Id& tree_id, std::vector<std::string>& snap_path, std::vector<PendingDir>& parents,
              bool selected);
  Status ensure_parents(std::vector<PendingDir>& parents);
  Status make_dir(const std::string& path);
  void restore_leaf(const Node& node, const std::string& path);
  void plan_file(const Node& node, const std::string& path);
  void error(std::string message) {
    std::lock_guard lock(mu_);
    result_.errors.push_back(std::move(message));
  }
  void warning(std::string message) {
    std::lock_guard lock(mu_);
    result_.warnings.push_back(std::move(message));
  }
  // `data` and `plain` are the worker's buffers, reused from pack to pack.
  void restore_pack(PackPlan& plan, Bytes& data, Bytes& plain);
  void write_blob(ByteSpan data, const BlobUse& use);
  int open_target(FileTarget& f);

  repo::Repository& repo_;
  const repo::Snapshot& snapshot_;
  const RestoreOptions& options_;
  const OpContext& ctx_;
  RestoreProgress own_progress_;
  RestoreProgress* progress_;
  IncludeMatcher includes_;
  fs::MetadataOptions meta_;
  bool target_was_empty_ = true;
  std::shared_ptr<BufferPool> delta_windows_ = BufferPool::create(2);
  bool already_there(const Node& node, const std::string& path);

  std::mutex mu_;
  RestoreResult result_;
  std::vector<std::pair<std::string, Node>> dir_meta_;   // pre-order; applied in reverse
  std::vector<std::pair<std::string, Node>> leaf_meta_;  // symlinks, specials
  std::vector<std::unique_ptr<FileTarget>> files_;
  std::map<std::pair<uint64_t, uint64_t>, std::string> hardlink_first_;
  std::vector<std::pair<std::string, std::string>> hardlinks_;  // (link path, existing path)
  std::unordered_map<Id, size_t, repo::IdHash> pack_slot_;
  // blob id -> (pack slot, index in that pack's blobs): every use of a blob
  // is written from one read.
  std::unordered_map<Id, std::pair<uint32_t, uint32_t>, repo::IdHash> blob_slot_;
  std::vector<PackPlan> packs_;
  bool plan_only_ = false;
};

Status Restorer::make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return Status::ok();
  int err = errno;
  struct stat st;
  if (err == EEXIST && ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::ok();
  return posix_error(err, "unable to create directory " + escape_name(path));
}

Status Restorer::ensure_parents(std::vector<PendingDir>& parents) {
  for (auto& p : parents) {
    if (p.created) continue;
    if (!plan_only_) LB_RETURN_IF_ERROR(make_dir(p.path));
    p.created = true;
    if (p.node) dir_meta_.emplace_back(p.path, std::move(*p.node));
  }
  return Status::ok();
}

// Delta: whether the file at `path` already holds exactly `node`'s content.
bool Restorer::already_there(const Node& node, const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_size) != node.size)
    return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  size_t next = 0;
  bool differs = false;
  ReadFn read = [&](uint8_t* buf, size_t n) -> Result<size_t> {
    ssize_t got = ::read(fd, buf, n);
    if (got < 0) return posix_error(errno, "read");
    return static_cast<size_t>(got);
  };
  // Ids are compared as they are cut: the first difference stops the read.
  Cutter cutter = options_.delta(path);
  Cutter checked{[&](ByteSpan view) -> size_t {
                   size_t len = cutter.cut(view);
                   if (next >= node.content.size() || repo_.keys().blob_id(view.first(len)) != node.content[next++]) {
                     differs = true;
                     return view.size();  // end the comparison quickly
                   }
                   return len;
                 },
                 cutter.max_size};
  auto seen = store_content(repo_, nullptr, *delta_windows_, read, node.size, checked, nullptr,
                            [&] { return differs; });
  ::close(fd);
  return seen.is_ok() && !differs && next == node.content.size();
}

void Restorer::plan_file(const Node& node, const std::string& path) {
  auto target = std::make_unique<FileTarget>();
  target->path = path;
  target->node = node;
  target->node.content.clear();
  if (!plan_only_ && !target_was_empty_ && options_.delta && !node.content.empty() && already_there(node, path)) {
    // Kept as it is; phase 3 sets its metadata.
    result_.files_kept++;
    progress_->files_total++;
    progress_->bytes_total += node.size;
    files_.push_back(std::move(target));
    return;
  }
  if (!plan_only_ && !target_was_empty_ && options_.delta) ::unlink(path.c_str());  // differs: written anew
  uint32_t index = static_cast<uint32_t>(files_.size());
  uint64_t offset = 0;
  for (const Id& id : node.content) {
    auto loc = repo_.locate(id);
    if (!loc) {
      error(fmt::format("unable to restore {}: blob {} is missing from the repository", escape_name(path),
                        id.short_hex()));
      target->failed = true;
      break;
    }
    auto known = blob_slot_.find(id);
    if (known != blob_slot_.end()) {
      packs_[known->second.first].blobs[known->second.second].second.push_back({index, offset});
    } else {
      auto [it, inserted] = pack_slot_.emplace(loc->pack_id, packs_.size());
      if (inserted) packs_.push_back(PackPlan{loc->pack_id, {}});
      PackPlan& plan = packs_[it->second];
      blob_slot_.emplace(id, std::make_pair(static_cast<uint32_t>(it->second), static_cast<uint32_t>(plan.blobs.size())));
      plan.blobs.push_back({loc->entry, {{index, offset}}});
    }
    target->blobs_left++;
    offset += loc->entry.raw_length;
  }
  progress_->files_total++;
  progress_->bytes_total += node.size;
  if (target->failed) {
    files_.push_back(std::move(target));
    return;
  }
  if (node.content.empty() && !plan_only_) {
    // Nothing to write: create it now (phase 2 never sees it).
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      error(posix_error(errno, "unable to create " + escape_name(path)).message());
      target->failed = true;
    } else {
      ::close(fd);
    }
  }
  files_.push_back(std::move(target));
}

void Restorer::restore_leaf(const Node& node, const std::string& path) {
  if (plan_only_) {
    if (node.type == NodeType::kFile) plan_file(node, path);
    return;
  }
  if (!target_was_empty_) {
    struct stat st;
    // (Delta compares a regular file with the snapshot's before replacing it.)
    bool compare = options_.delta && node.type == NodeType::kFile && node.links <= 1;
    if (::lstat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode) && !(compare && S_ISREG(st.st_mode)))
      ::unlink(path.c_str());
  }
  switch (node.type) {
    case NodeType::kFile: {
      if (node.links > 1) {
        auto key = std::make_pair(node.device, node.inode);
        auto it = hardlink_first_.find(key);
        if (it != hardlink_first_.end()) {
          hardlinks_.emplace_back(path, it->second);
          result_.files++;
          return;
        }
        hardlink_first_.emplace(key, path);
      }
      plan_file(node, path);
      result_.files++;
      result_.bytes += node.size;
      return;
    }
    case NodeType::kSymlink:
      if (::symlink(node.link_target.c_str(), path.c_str()) != 0) {
        error(posix_error(errno, "unable to create symlink " + escape_name(path)).message());
        return;
      }
      break;
    case NodeType::kFifo:
      if (::mkfifo(path.c_str(), 0600) != 0) {
        error(posix_error(errno, "unable to create FIFO " + escape_name(path)).message());
        return;
      }
      break;
    case NodeType::kCharDev:
    case NodeType::kBlockDev: {
      if (!ctx_.is_root) {
        warning("skipped device node " + escape_name(path) + " (only root can create device nodes)");
        return;
      }
      mode_t type = node.type == NodeType::kCharDev ? S_IFCHR : S_IFBLK;
      if (::mknod(path.c_str(), type | 0600, static_cast<dev_t>(node.rdev)) != 0) {
        error(posix_error(errno, "unable to create device node " + escape_name(path)).message());
        return;
      }
      break;
    }
    case NodeType::kSocket:
      warning("skipped socket " + escape_name(path) + " (sockets are recreated by their programs)");
      return;
    case NodeType::kDir:
      return;
  }
  result_.others++;
  leaf_meta_.emplace_back(path, node);
}

Status Restorer::walk(const Id& tree_id, std::vector<std::string>& snap_path, std::vector<PendingDir>& parents,
                      bool selected) {
  if (ctx_.cancelled()) return Status(ErrorCode::kCancelled, "restore interrupted");
  auto tree = repo_.load_tree(tree_id);
  if (!tree.is_ok()) {
    std::string where = "/";
    for (const auto& p : snap_path) where += p + "/";
    error(fmt::format("unable to restore {}: {}", escape_name(where), tree.status().message()));
    return Status::ok();
  }
  for (const Node& node : tree->nodes) {
    if (node.name.empty() || node.name == "." || node.name == ".." || node.name.find('/') != std::string::npos) {
      error(fmt::format("refusing to restore an entry with an unsafe name \"{}\"", escape_name(node.name)));
      continue;
    }
    snap_path.push_back(node.name);
    std::string path = parents.back().path + "/" + node.name;
    bool sel = selected || includes_.selects(snap_path);
    if (node.type == NodeType::kDir) {
      Node meta = node;
      meta.subtree.reset();
      parents.push_back({path, std::move(meta), false});
      Status s = sel ? ensure_parents(parents) : Status::ok();
      if (!s.is_ok()) {
        error(s.message());
      } else {
        if (sel) result_.dirs++;
        if (node.subtree) LB_RETURN_IF_ERROR(walk(*node.subtree, snap_path, parents, sel));
      }
      parents.pop_back();
    } else if (sel) {
      Status s = ensure_parents(parents);
      if (!s.is_ok()) error(s.message());
      else restore_leaf(node, path);
    }
    snap_path.pop_back();
  }
  return Status::ok();
}

int Restorer::open_target(FileTarget& f) {
  int fd = ::open(f.path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (f.node.sparse && !f.created.exchange(true)) {
    // Size first: sparse files keep holes where zero runs are skipped (the
    // writes of a dense file cover it whole).
    if (::ftruncate(fd, static_cast<off_t>(f.node.size)) != 0) {
      int err = errno;
      ::close(fd);
      errno = err;
      return -1;
    }
  }
  return fd;
}

void Restorer::write_blob(ByteSpan data, const BlobUse& use) {
  FileTarget& f = *files_[use.file];
  if (f.failed.load()) return;
  int fd = open_target(f);
  auto fail = [&](const char* what) {
    if (!f.failed.exchange(true)) error(posix_error(errno, fmt::format("{} {}", what, escape_name(f.path))).message());
  };
  if (fd < 0) return fail("unable to create");
  auto write_range = [&](size_t from, size_t to) -> bool {
    while (from < to) {
      ssize_t n = ::pwrite(fd, data.data() + from, to - from, static_cast<off_t>(use.offset + from));
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      from += static_cast<size_t>(n);
    }
    return true;
  };
  bool ok = true;
  if (!f.node.sparse) {
    ok = write_range(0, data.size());
  } else {
    // Skip 4 KiB blocks (aligned in the file) that are all zero: they stay holes.
    constexpr size_t kBlock = 4096;
    size_t pos = 0;
    size_t run_start = 0;
    bool in_data = false;
    while (pos < data.size() && ok) {
      size_t block_end = std::min(data.size(), ((use.offset + pos) / kBlock + 1) * kBlock - use.offset);
      bool zero = std::all_of(data.begin() + static_cast<ptrdiff_t>(pos), data.begin() + static_cast<ptrdiff_t>(block_end),
                              [](uint8_t b) { return b == 0; });
      if (!zero && !in_data) {
        run_start = pos;
        in_data = true;
      } else if (zero && in_data) {
        ok = write_range(run_start, pos);
        in_data = false;
      }
      pos = block_end;
    }
    if (ok && in_data) ok = write_range(run_start, data.size());
  }
  if (!ok) {
    fail("unable to write");
  } else {
    progress_->bytes_done += data.size();
  }
  if (f.blobs_left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    // The last blob of the file: every other write happened before this
    // point, so owner, mode and times can be set on the open descriptor.
    progress_->files_done++;
    if (!f.failed.load() && f.node.links <= 1) {
      Status s = fs::apply_metadata_fd(fd, f.path, f.node, meta_);
      if (!s.is_ok()) warning(s.message());
      f.metadata_done = true;
    }
  }
  ::close(fd);
}

void Restorer::restore_pack(PackPlan& plan, Bytes& data, Bytes& plain) {
  auto& blobs = plan.blobs;
  std::sort(blobs.begin(), blobs.end(), [](const auto& a, const auto& b) { return a.first.offset < b.first.offset; });
  auto fail_uses = [&](const std::vector<BlobUse>& uses, const std::string& why) {
    for (const auto& u : uses) {
      FileTarget& f = *files_[u.file];
      if (!f.failed.exchange(true)) error(fmt::format("unable to restore {}: {}", escape_name(f.path), why));
    }
  };
  // Read in runs: consecutive needed blobs with gaps under 1 MiB share one read.
  size_t i = 0;
  while (i < blobs.size()) {
    if (ctx_.cancelled()) return;
    size_t j = i + 1;
    uint64_t run_start = blobs[i].first.offset;
    uint64_t run_end = run_start + blobs[i].first.length;
    while (j < blobs.size() && blobs[j].first.offset <= run_end + (1 << 20) &&
           blobs[j].first.offset + blobs[j].first.length - run_start <= (32u << 20)) {
      run_end = std::max<uint64_t>(run_end, blobs[j].first.offset + blobs[j].first.length);
      ++j;
    }
    Status read = repo_.read_pack_into(plan.pack_id, run_start, run_end - run_start, data);
    for (size_t k = i; k < j; ++k) {
      const auto& [entry, uses] = blobs[k];
      if (!read.is_ok()) {
        fail_uses(uses, fmt::format("pack {}: {}", plan.pack_id.short_hex(), read.message()));
        continue;
      }
      uint64_t rel = entry.offset - run_start;
      if (rel + entry.length > data.size()) {
        fail_uses(uses, fmt::format("pack {} is truncated", plan.pack_id.short_hex()));
        continue;
      }
      plain.clear();
      Bytes base;
      if (entry.is_delta()) {
        auto b = repo_.read_base(entry.base);
        if (!b.is_ok()) {
          fail_uses(uses, fmt::format("blob {} in pack {} cannot be read: {}", entry.id.short_hex(),
                                      plan.pack_id.short_hex(), b.status().message()));
          continue;
        }
        base = std::move(*b);
      }
      Status s = repo::open_blob(repo_.keys(), entry, ByteSpan(data.data() + rel, entry.length), plain, base);
      if (s.code() == ErrorCode::kCorrupt) {
        // Read this blob once more before calling it damaged: an object
        // store's response can be damaged on the way.
        Bytes again;
        Status r = repo_.read_pack_into(plan.pack_id, entry.offset, entry.length, again);
        if (r.is_ok() && again.size() == entry.length) {
          plain.clear();
          s = repo::open_blob(repo_.keys(), entry, again, plain, base);
        }
      }
      if (!s.is_ok()) {
        fail_uses(uses, fmt::format("blob {} in pack {} is damaged ({})", entry.id.short_hex(),
                                    plan.pack_id.short_hex(), s.message()));
        continue;
      }
      for (const auto& u : uses) write_blob(plain, u);
    }
    i = j;
  }
}

Result<RestoreResult> Restorer::run() {
  if (options_.target.empty()) return Status(ErrorCode::kInvalidArgument, "no target: give --target DIR");
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo_, repo::LockKind::kShared, ctx_, "restore"));
  LB_RETURN_IF_ERROR(repo_.load_index());

  std::string target = options_.target;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  struct stat st;
  if (::stat(target.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return Status(ErrorCode::kInvalidArgument, "restore target " + escape_name(target) + " is not a directory");
    int fd = ::open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      // Restoring into a non-empty directory replaces entries (slower path).
      std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(fd), ::closedir);
      if (d)
        while (struct dirent* e = ::readdir(d.get()))
          if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
            target_was_empty_ = false;
            break;
          }
    }
  } else {
    Status s = make_dirs(target);
    if (!s.is_ok()) return s.with_context("unable to create the restore target");
  }

  // Phase 1: structure and plan.
  std::vector<std::string> snap_path;
  std::vector<PendingDir> parents{{target, std::nullopt, true}};
  LB_RETURN_IF_ERROR(walk(snapshot_.tree, snap_path, parents, includes_.all()));
  if (!includes_.all() && result_.files + result_.dirs + result_.others == 0)
    return Status(ErrorCode::kNotFound, "nothing in the snapshot matches the --include patterns");

  // Phase 2: data, pack by pack, in parallel.
  // (At least as many as the backend wants requests in flight.)
  int workers = options_.workers > 0
                    ? options_.workers
                    : std::max(repo_.connections(), static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  // Packs are planned in tree order, so neighbouring packs feed the same
  // files. Each worker starts on its own contiguous share (workers writing
  // into one file serialise on its inode lock) and then helps the others.
  size_t n_workers = static_cast<size_t>(workers);
  std::vector<std::atomic<size_t>> cursor(n_workers);
  std::vector<size_t> share_end(n_workers);
  for (size_t w = 0; w < n_workers; ++w) {
    cursor[w] = packs_.size() * w / n_workers;
    share_end[w] = packs_.size() * (w + 1) / n_workers;
  }
  std::vector<std::thread> threads;
  for (size_t w = 0; w < n_workers; ++w)
    threads.emplace_back([&, w] {
      Bytes data, plain;
      for (size_t k = 0; k < n_workers; ++k) {
        size_t share = (w + k) % n_workers;
        for (size_t i; !ctx_.cancelled() && (i = cursor[share].fetch_add(1)) < share_end[share];)
          restore_pack(packs_[i], data, plain);
      }
    });
  for (auto& t : threads) t.join();
  if (ctx_.cancelled()) return Status(ErrorCode::kCancelled, "restore interrupted");

  // A file that could not be written whole (damaged or missing data, a write
  // error) is reported and removed: a complete-looking file with a hole of
  // zeros would be worse than none.
  for (const auto& f : files_) {
    if (!f->failed.load()) continue;
    if (::unlink(f->path.c_str()) != 0 && errno != ENOENT)
      error(posix_error(errno, "unable to remove the incomplete file " + escape_name(f->path)).message());
    result_.files--;
    result_.bytes -= f->node.size;
  }

  // Phase 3: hard links, then metadata (files in parallel, dirs bottom-up).
  for (const auto& [link, existing] : hardlinks_) {
    if (::link(existing.c_str(), link.c_str()) != 0)
      error(posix_error(errno, "unable to create hard link " + escape_name(link)).message());
  }
  std::atomic<size_t> next{0};
  threads.clear();
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < files_.size();) {
        FileTarget& f = *files_[i];
        if (f.failed.load() || f.metadata_done) continue;
        Status s = fs::apply_metadata(f.path, f.node, meta_);
        if (!s.is_ok()) warning(s.message());
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& [path, node] : leaf_meta_) {
    Status s = fs::apply_metadata(path, node, meta_);
    if (!s.is_ok()) warning(s.message());
  }
  for (auto it = dir_meta_.rbegin(); it != dir_meta_.rend(); ++it) {
    Status s = fs::apply_metadata(it->first, it->second, meta_);
    if (!s.is_ok()) warning(s.message());
  }
  LB_RETURN_IF_ERROR(lock->release());
  return std::move(result_);
}

Result<std::vector<Id>> Restorer::plan() {
  plan_only_ = true;
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo_, repo::LockKind::kShared, ctx_, "restore"));
  LB_RETURN_IF_ERROR(repo_.load_index());
  std::vector<std::string> snap_path;
  std::vector<PendingDir> parents{{options_.target, std::nullopt, true}};
  LB_RETURN_IF_ERROR(walk(snapshot_.tree, snap_path, parents, includes_.all()));
  LB_RETURN_IF_ERROR(lock->release());
  std::vector<Id> out;
  out.reserve(packs_.size());
  for (const auto& p : packs_) out.push_back(p.pack_id);
  // Deltas are read through their bases, which may lie in other packs.
  std::unordered_set<Id, repo::IdHash> seen(out.begin(), out.end());
  for (const auto& p : packs_)
    for (const auto& [entry, uses] : p.blobs)
      if (entry.is_delta())
        if (auto base = repo_.locate(entry.base); base && seen.insert(base->pack_id).second)
          out.push_back(base->pack_id);
  return out;
}

// Runs fn(i) for every i of `items` on up to `threads` threads; the first
// error stops the rest.
Status parallel_each(const std::vector<size_t>& items, int threads, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first = Status::ok();
  std::vector<std::thread> pool;
  int n = std::max(1, std::min<int>(threads, static_cast<int>(items.size())));
  for (int t = 0; t < n; ++t)
    pool.emplace_back([&] {
      for (size_t k; (k = next.fetch_add(1)) < items.size();) {
        Status s = fn(items[k]);
        if (!s.is_ok()) {
          std::lock_guard lock(mu);
          if (first.is_ok()) first = std::move(s);
          next = items.size();
        }
      }
    });
  for (auto& t : pool) t.join();
  return first;
}

}  // namespace

Result<std::vector<Id>> packs_for_restore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                          const RestoreOptions& options, const OpContext& ctx) {
  Restorer r(repo, snapshot, options, ctx, nullptr);
  return r.plan();
}

Status thaw_packs(const repo::Repository& repo, const std::vector<Id>& packs, const ThawOptions& options,
                  const OpContext& ctx) {
  using storage::ThawState;
  using Clock = std::chrono::steady_clock;
  if (packs.empty()) return Status::ok();
  const auto deadline = Clock::now() + std::chrono::nanoseconds(options.wait_ns);
  std::vector<ThawState> state(packs.size(), ThawState::kArchived);
  std::vector<size_t> pending(packs.size());
  for (size_t i = 0; i < packs.size(); ++i) pending[i] = i;
  ThawProgress progress;
  progress.needed = packs.size();
  std::atomic<size_t> requested{0};
  for (;;) {
    // Look at what is not readable yet, and ask for a thaw of what is
    // archived: the first time, or again when a thawed copy has expired.
    Status s = parallel_each(pending, repo.connections(), [&](size_t i) -> Status {
      LB_ASSIGN_OR_RETURN(ThawState st, repo.pack_thaw_state(packs[i]));
      if (st == ThawState::kArchived) {
        LB_RETURN_IF_ERROR(repo.thaw_pack(packs[i], options.days));
        st = ThawState::kThawing;
      }
      if (state[i] == ThawState::kArchived) requested++;
      state[i] = st;
      return Status::ok();
    });
    LB_RETURN_IF_ERROR(s);
    std::vector<size_t> still;
    for (size_t i : pending)
      if (state[i] != ThawState::kReadable) still.push_back(i);
    pending = std::move(still);
    progress.requested = requested.load();
    progress.ready = packs.size() - pending.size();
    if (options.on_progress) options.on_progress(progress);
    if (pending.empty()) return Status::ok();
    if (Clock::now() >= deadline)
      return Status(ErrorCode::kArchived,
                    fmt::format("{} of the {} archived packs this restore needs are still being thawed by the store "
                                "(asked to keep them readable for {} days); run the same restore again later, or "
                                "pass --thaw-wait DURATION to wait for them",
                                pending.size(), packs.size(), options.days));
    auto wake = std::min(deadline, Clock::now() + std::chrono::nanoseconds(options.poll_ns));
    while (Clock::now() < wake) {
      if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "restore interrupted while waiting for the thaw");
      std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(200), wake - Clock::now()));
    }
  }
}

Result<RestoreResult> restore(repo::Repository& repo, const repo::Snapshot& snapshot, const RestoreOptions& options,
                              const OpContext& ctx, RestoreProgress* progress) {
  if (repo.keys().write_only()) return write_only_refusal("restore");
  // Packs in an archive class are thawed first, and only the ones this
  // restore reads; on a store with archive tiers, one listing tells whether
  // there are any at all.
  std::unordered_set<Id, repo::IdHash> archived;
  if (repo.has_archive_tiers()) {
    LB_ASSIGN_OR_RETURN(auto listed, repo.list_packs());
    for (const auto& p : listed)
      if (p.archived) archived.insert(p.id);
  }
  if (!archived.empty()) {
    LB_ASSIGN_OR_RETURN(auto needed, packs_for_restore(repo, snapshot, options, ctx));
    std::erase_if(needed, [&](const Id& id) { return !archived.contains(id); });
    LB_RETURN_IF_ERROR(thaw_packs(repo, needed, options.thaw, ctx));
  }
  Restorer r(repo, snapshot, options, ctx, progress);
  return r.run();
}

}  // namespace lifeboat::ops
