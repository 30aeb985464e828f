// A pool of reusable byte buffers. Large buffers that are freed and
// reallocated cost page faults and kernel page clearing on every use (a
// third of a backup's system time on the reference machine); recycling them
// keeps their pages mapped. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "util/bytes.h"

namespace lifeboat {

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  // Keeps at most `max_idle` buffers when they are returned.
  static std::shared_ptr<BufferPool> create(size_t max_idle) {
    return std::shared_ptr<BufferPool>(new BufferPool(max_idle));
  }

  // A cleared buffer with at least `capacity` reserved; it returns to the
  // pool when the last reference goes (the pool may be gone by then).
  std::shared_ptr<Bytes> acquire(size_t capacity) {
    Bytes* b = nullptr;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        b = idle_.back().release();
        idle_.pop_back();
      }
    }
    if (!b) b = new Bytes();
    b->clear();
    if (b->capacity() < capacity) b->reserve(capacity);
    std::weak_ptr<BufferPool> pool = weak_from_this();
    return std::shared_ptr<Bytes>(b, [pool](Bytes* p) {
      if (auto strong = pool.lock()) strong->give_back(p);
      else delete p;
    });
  }

  // Takes an unshared buffer back explicitly (e.g. moved out of a pack).
  void give_back(Bytes* b) {
    std::lock_guard lock(mu_);
    if (idle_.size() < max_idle_) idle_.emplace_back(b);
    else delete b;
  }

 private:
  explicit BufferPool(size_t max_idle) : max_idle_(max_idle) {}
  std::mutex mu_;
  std::vector<std::unique_ptr<Bytes>> idle_;
  size_t max_idle_;
};

}  // namespace lifeboat
