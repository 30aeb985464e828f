// Storing one stream of bytes as a file's content: read in windows, cut
// into chunks, give each its keyed id, and queue the chunks the repository
// does not have yet. Shared by the file backup and the stream sources
// (stdin, a command's output, a database's files).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "chunk/fastcdc.h"
#include "repo/blob_saver.h"
#include "repo/repository.h"
#include "util/buffer_pool.h"
#include "util/status.h"

namespace lifeboat::ops {

// Reads up to `n` bytes into `buf`; 0 at the end of the stream.
using ReadFn = std::function<Result<size_t>(uint8_t* buf, size_t n)>;

// Reads `data` from its start to its end (`data` must outlive the function).
ReadFn read_from(ByteSpan data);

// Where chunks end.
struct Cutter {
  // Content-defined (FastCDC): an insertion shifts no later cut.
  static Cutter content_defined(const chunk::FastCdc& cdc) {
    return Cutter{[&cdc](ByteSpan d) { return cdc.cut(d); }, cdc.params().max_size};
  }
  // Fixed size: for files of fixed-size pages (a database's relation files),
  // where nothing shifts and a changed page changes one chunk.
  static Cutter fixed(size_t size) {
    return Cutter{[size](ByteSpan d) { return std::min(d.size(), size); }, size};
  }
  std::function<size_t(ByteSpan)> cut;  // the length of the chunk at the start of the view
  size_t max_size = 0;                  // the view holds at least this much unless it is the end
};

struct StoredContent {
  std::vector<repo::Id> blobs;
  uint64_t size = 0;
};

// The pool of read windows for store_content(), shared by the readers of
// one backup: large enough to keep every window in flight (the saver's
// queue holds 16 MiB of them, each reader and worker one more), as a
// window freed and mapped again costs a page fault per 4 KiB.
inline std::shared_ptr<BufferPool> make_window_pool() { return BufferPool::create(16); }

// Reads `read` to its end. `size_hint` sizes the first buffer (0 when
// unknown). Stops early (returning kCancelled) when `stopping` says so or
// the saver failed. Without a saver, only computes the blob ids (a delta
// restore comparing a file on disk with a stored one). With `previous`
// (the chunks of the same file's earlier version, cut alike: fixed-size
// chunks), a new chunk is saved as a new version of the chunk at the same
// position there (BlobSaver::save_version).
Result<StoredContent> store_content(repo::Repository& repo, repo::BlobSaver* saver, BufferPool& windows,
                                    const ReadFn& read, uint64_t size_hint, const Cutter& cutter,
                                    std::atomic<uint64_t>* bytes_done = nullptr,
                                    const std::function<bool()>& stopping = nullptr,
                                    const std::vector<repo::Id>* previous = nullptr);

}  // namespace lifeboat::ops
