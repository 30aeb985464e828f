#include "ops/content.h"

#include <algorithm>
#include <cstring>

namespace lifeboat::ops {

namespace {
constexpr size_t kWindow = 4 << 20;
}

ReadFn read_from(ByteSpan data) {
  return [data, off = size_t{0}](uint8_t* buf, size_t n) mutable -> Result<size_t> {
    size_t k = std::min(n, data.size() - off);
    std::copy_n(data.data() + off, k, buf);
    off += k;
    return k;
  };
}

// Reads in windows of kWindow bytes, cuts chunks and hands new ones to the
// saver as slices of the window (no copy; a window lives until its last
// chunk is packed). A cut point found inside the window is final (the gear
// hash at a position depends only on the bytes before it), so only the
// unfinished tail of a window is copied into the next one.
Result<StoredContent> store_content(repo::Repository& repo, repo::BlobSaver* saver, BufferPool& windows,
                                    const ReadFn& read, uint64_t size_hint, const Cutter& cutter,
                                    std::atomic<uint64_t>* bytes_done, const std::function<bool()>& stopping,
                                    const std::vector<repo::Id>* previous) {
  StoredContent out;
  std::shared_ptr<Bytes> buf;
  size_t start = 0, end = 0;
  bool eof = false;
  auto cancelled = [&] { return (stopping && stopping()) || (saver && !saver->status().is_ok()); };
  for (;;) {
    ByteSpan view = buf ? ByteSpan(buf->data() + start, end - start) : ByteSpan();
    size_t len = view.empty() ? 0 : cutter.cut(view);
    bool need_more = !eof && (view.empty() || (len == view.size() && view.size() < cutter.max_size));
    if (need_more) {
      // An unknown size (a stream) is read a window at a time: growing the
      // buffer by a page per read would copy and rescan it quadratically.
      uint64_t expected = size_hint == 0 ? kWindow : size_hint > out.size ? size_hint - out.size : 0;
      size_t want = view.size() + static_cast<size_t>(std::clamp<uint64_t>(expected + 1, 4096, kWindow));
      // Small files get an exact buffer; windows of large streams are
      // recycled, so their pages stay mapped. Every window is reserved at
      // the size the largest can need (a window plus an unfinished chunk),
      // so a recycled one never has to grow (a new mapping, fresh pages).
      auto next = want >= kWindow ? windows.acquire(kWindow + cutter.max_size) : std::make_shared<Bytes>();
      next->resize(want);
      if (!view.empty()) std::memcpy(next->data(), view.data(), view.size());
      start = 0;
      end = view.size();
      buf = std::move(next);
      while (!eof && end < buf->size()) {
        LB_ASSIGN_OR_RETURN(size_t n, read(buf->data() + end, buf->size() - end));
        if (n == 0) eof = true;
        end += n;
        out.size += n;
      }
      continue;
    }
    if (view.empty()) break;
    if (cancelled()) return Status(ErrorCode::kCancelled, "stopped");
    ByteSpan chunk = view.first(len);
    repo::Id id = repo.keys().blob_id(chunk);
    size_t position = out.blobs.size();
    out.blobs.push_back(id);
    if (saver && repo.index().reserve(id, repo::BlobType::kData)) {
      bool queued = previous && position < previous->size()
                        ? saver->save_version(id, buf, chunk, (*previous)[position])
                        : saver->save(repo::BlobType::kData, id, buf, chunk);
      if (!queued) return Status(ErrorCode::kCancelled, "stopped");
    }
    if (bytes_done) *bytes_done += len;
    start += len;
  }
  return out;
}

}  // namespace lifeboat::ops
