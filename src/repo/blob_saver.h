// BlobSaver: the back half of the backup pipeline.
//
//   save() -> [queue, bounded in bytes] -> N workers: compress, seal, append
//   to the worker's own pack -> [queue of full packs] -> uploader threads:
//   write the pack, then record its blobs in the index -> every
//   `index_every_packs` packs and at finish(): write an index file.
//
// A pack reaches the index only after it is stored, and an index file only
// names stored packs, so a process killed at any instant leaves a
// consistent repository. Memory is bounded by queue_bytes plus one pack per
// worker plus one per uploader, whatever the size of the input.
//
// Thread-safety: save() may be called from many threads; finish() and
// abort() from one.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "repo/index.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "util/bounded_queue.h"
#include "util/status.h"

namespace lifeboat::repo {

struct SaverStats {
  std::atomic<uint64_t> data_blobs{0};
  std::atomic<uint64_t> tree_blobs{0};
  std::atomic<uint64_t> raw_bytes{0};     // plaintext of stored blobs
  std::atomic<uint64_t> packed_bytes{0};  // bytes of packs written
  std::atomic<uint64_t> packs{0};
  std::atomic<uint64_t> delta_blobs{0};   // of data_blobs, stored as deltas
};

class BlobSaver {
 public:
  struct Options {
    int workers = 2;
    int uploaders = 1;
    size_t queue_bytes = 16 << 20;
    size_t index_every_packs = 64;
  };

  BlobSaver(Repository& repo, Options options);
  ~BlobSaver();  // aborts unless finish() was called
  BlobSaver(const BlobSaver&) = delete;
  BlobSaver& operator=(const BlobSaver&) = delete;

  // Queues a blob whose id the caller reserved (Index::reserve() returned
  // true). `data` lies inside `owner`, which is kept alive until the blob is
  // packed (so a reader can hand over slices of its buffer without copying).
  // Blocks while the queue is full. Returns false once the saver has failed
  // or was aborted (status() tells why).
  bool save(BlobType type, const Id& id, std::shared_ptr<const Bytes> owner, ByteSpan data);
  bool save(BlobType type, const Id& id, Bytes plaintext);
  // The same for a data blob that replaces `previous` (the chunk at the same
  // place in the file's earlier version): it is stored as a delta against
  // that version's whole form when that takes less than half the room
  // (docs/FORMAT.md, "Deltas").
  bool save_version(const Id& id, std::shared_ptr<const Bytes> owner, ByteSpan data, const Id& previous);

  // Computes the id, and queues the blob unless the repository has it.
  // Returns the id; check status() for failure.
  Id save_if_new(BlobType type, Bytes plaintext);

  // Writes the partial packs and the index file; returns the first error.
  Status finish();
  // Stops without writing partial packs (on cancellation). Packs already
  // written stay and are reused by the next backup.
  void abort();

  Status status() const;
  const SaverStats& stats() const { return stats_; }

 private:
  struct Job {
    BlobType type;
    Id id;
    std::shared_ptr<const Bytes> owner;
    ByteSpan data;
    Id previous;  // zero: none
  };
  bool push(Job job);  // blocks while the queue is full
  void worker_loop();
  bool add_delta(PackWriter& writer, const Job& job);
  void uploader_loop();
  void fail(Status s);
  void submit_pack(PackWriter& writer);
  void pack_done();
  Status flush_index();

  Repository& repo_;
  Options options_;
  BoundedQueue<Job> jobs_;
  BoundedQueue<PackWriter::Finished> uploads_;
  // Packs handed to uploaders and not yet written, at most options_.uploaders:
  // a finished pack waits in its worker until an uploader is free, so memory
  // holds one pack per worker plus one per uploader.
  std::mutex inflight_mu_;
  std::condition_variable inflight_cv_;
  int inflight_ = 0;
  std::shared_ptr<BufferPool> pack_buffers_;
  std::mutex tree_mu_;
  std::unique_ptr<PackWriter> tree_writer_;
  std::mutex index_mu_;
  std::vector<IndexPack> unindexed_;
  mutable std::mutex status_mu_;
  Status status_;
  std::atomic<bool> failed_{false};
  std::vector<std::thread> workers_;
  std::vector<std::thread> uploaders_;
  bool finished_ = false;
  SaverStats stats_;
};

}  // namespace lifeboat::repo
