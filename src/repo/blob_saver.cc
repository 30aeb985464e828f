#include "repo/blob_saver.h"

namespace lifeboat::repo {

BlobSaver::BlobSaver(Repository& repo, Options options)
    : repo_(repo),
      options_(options),
      jobs_(options.queue_bytes),
      uploads_(static_cast<size_t>(std::max(1, options.uploaders))),
      pack_buffers_(BufferPool::create(static_cast<size_t>(std::max(1, options.workers) + std::max(1, options.uploaders)))),
      tree_writer_(std::make_unique<PackWriter>(repo.keys(), repo.config().compression_level)) {
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { worker_loop(); });
  for (int i = 0; i < std::max(1, options_.uploaders); ++i) uploaders_.emplace_back([this] { uploader_loop(); });
}

BlobSaver::~BlobSaver() {
  if (!finished_) abort();
}

bool BlobSaver::push(Job job) {
  if (failed_.load()) return false;
  size_t weight = job.data.size() + 64;
  return jobs_.push(std::move(job), weight) && !failed_.load();
}

bool BlobSaver::save(BlobType type, const Id& id, std::shared_ptr<const Bytes> owner, ByteSpan data) {
  return push(Job{type, id, std::move(owner), data});
}

bool BlobSaver::save_version(const Id& id, std::shared_ptr<const Bytes> owner, ByteSpan data, const Id& previous) {
  return push(Job{BlobType::kData, id, std::move(owner), data, previous});
}

bool BlobSaver::save(BlobType type, const Id& id, Bytes plaintext) {
  auto owner = std::make_shared<const Bytes>(std::move(plaintext));
  ByteSpan span(*owner);
  return save(type, id, std::move(owner), span);
}

Id BlobSaver::save_if_new(BlobType type, Bytes plaintext) {
  Id id = repo_.keys().blob_id(plaintext);
  if (repo_.index().reserve(id, type)) save(type, id, std::move(plaintext));
  return id;
}

void BlobSaver::fail(Status s) {
  {
    std::lock_guard lock(status_mu_);
    if (status_.is_ok()) status_ = std::move(s);
  }
  failed_.store(true);
  jobs_.abort();
  uploads_.abort();
  std::lock_guard lock(inflight_mu_);
  inflight_cv_.notify_all();
}

Status BlobSaver::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

void BlobSaver::submit_pack(PackWriter& writer) {
  if (writer.empty()) return;
  {
    std::unique_lock lock(inflight_mu_);
    inflight_cv_.wait(lock, [&] { return failed_.load() || inflight_ < std::max(1, options_.uploaders); });
    if (failed_.load()) return;
    ++inflight_;
  }
  uploads_.push(writer.finish());  // false only once aborted
}

void BlobSaver::pack_done() {
  std::lock_guard lock(inflight_mu_);
  --inflight_;
  inflight_cv_.notify_one();
}

void BlobSaver::worker_loop() {
  const size_t target = repo_.config().pack_size;
  // Reserve room for a full pack plus one maximal blob: untouched pages cost no RSS.
  PackWriter data_writer(repo_.keys(), repo_.config().compression_level, target + (9 << 20), pack_buffers_);
  while (auto job = jobs_.pop()) {
    if (job->type == BlobType::kTree) {
      std::lock_guard lock(tree_mu_);
      tree_writer_->add(job->type, job->id, job->data);
      if (tree_writer_->size() >= target) submit_pack(*tree_writer_);
    } else {
      if (job->previous.is_zero() || !add_delta(data_writer, *job)) data_writer.add(job->type, job->id, job->data);
      if (data_writer.size() >= target) submit_pack(data_writer);
    }
    (job->type == BlobType::kTree ? stats_.tree_blobs : stats_.data_blobs)++;
    stats_.raw_bytes += job->data.size();
  }
  if (!failed_.load()) submit_pack(data_writer);
}

// Deltas go one level deep: against the previous version's base when that
// version is a delta itself, so reading any blob takes at most two. A
// version that drifted far from its base (the delta would take half the
// base's room or more) is stored whole and becomes the next base. Bases
// come from the index only, never from condemned packs (docs/FORMAT.md,
// "Prune": a base is referenced like any blob a snapshot names).
bool BlobSaver::add_delta(PackWriter& writer, const Job& job) {
  if (repo_.keys().write_only() || repo_.config().compression_level <= 0) return false;
  auto prev = repo_.index().lookup(job.previous);
  if (!prev || prev->entry.type != BlobType::kData) return false;
  Id base = prev->entry.is_delta() ? prev->entry.base : job.previous;
  auto loc = prev->entry.is_delta() ? repo_.index().lookup(base) : prev;
  if (!loc || loc->entry.is_delta() || loc->entry.type != BlobType::kData || loc->entry.raw_length == 0) return false;
  auto plain = repo_.read_base(base);
  if (!plain.is_ok()) return false;  // stored whole; check reports a damaged base
  if (!writer.add_delta(job.id, job.data, base, *plain, loc->entry.length / 2)) return false;
  stats_.delta_blobs++;
  return true;
}

void BlobSaver::uploader_loop() {
  while (auto pack = uploads_.pop()) {
    Status s = repo_.write_pack(pack->pack_id, *pack->data, pack->entries);
    size_t pack_size = pack->data->size();
    pack->data.reset();  // back to the pool before waking a worker with the next pack
    pack_done();
    if (!s.is_ok()) {
      fail(std::move(s));
      return;
    }
    stats_.packed_bytes += pack_size;
    stats_.packs++;
    repo_.index().add_pack(pack->pack_id, pack->entries);
    bool flush = false;
    {
      std::lock_guard lock(index_mu_);
      unindexed_.push_back({pack->pack_id, std::move(pack->entries)});
      flush = unindexed_.size() >= options_.index_every_packs;
    }
    if (flush) {
      Status st = flush_index();
      if (!st.is_ok()) {
        fail(std::move(st));
        return;
      }
    }
  }
}

Status BlobSaver::flush_index() {
  std::vector<IndexPack> packs;
  {
    std::lock_guard lock(index_mu_);
    packs.swap(unindexed_);
  }
  if (packs.empty()) return Status::ok();
  return repo_.write_index(packs).status();
}

Status BlobSaver::finish() {
  finished_ = true;
  jobs_.close();
  for (auto& t : workers_) t.join();
  workers_.clear();
  if (!failed_.load()) {
    std::lock_guard lock(tree_mu_);
    submit_pack(*tree_writer_);
  }
  uploads_.close();
  for (auto& t : uploaders_) t.join();
  uploaders_.clear();
  if (failed_.load()) return status();
  Status s = flush_index();
  if (!s.is_ok()) fail(s);
  return s;
}

void BlobSaver::abort() {
  finished_ = true;
  fail(Status(ErrorCode::kCancelled, "interrupted"));
  for (auto& t : workers_) t.join();
  workers_.clear();
  for (auto& t : uploaders_) t.join();
  uploaders_.clear();
  // Packs already stored are named by an index file, so the next backup
  // reuses them without reading their headers.
  flush_index().ignore();  // best effort; index_unindexed_packs() covers a failure
}

}  // namespace lifeboat::repo
