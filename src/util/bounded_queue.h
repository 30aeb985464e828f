// A blocking multi-producer multi-consumer queue with a capacity, the
// building block of the backup and restore pipelines. Capacity is counted in
// "weight" (bytes, say), so memory stays bounded whatever the item sizes; an
// item heavier than the capacity is still admitted when the queue is empty.
// A full queue wakes its producers once it has drained to half, so that a
// producer refills it in a burst rather than waking for every item popped
// (a context switch per file when the consumers are the bottleneck).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace lifeboat {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Blocks while full. Returns false (and drops the item) once closed.
  bool push(T item, size_t weight = 1) {
    std::unique_lock lock(mu_);
    if (!admits(weight)) {
      ++waiting_producers_;
      not_full_.wait(lock, [&] { return admits(weight); });
      --waiting_producers_;
    }
    if (closed_) return false;
    weight_ += weight;
    items_.emplace_back(std::move(item), weight);
    not_empty_.notify_one();
    return true;
  }

  // Blocks while empty. Returns nullopt once closed and drained.
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    auto [item, weight] = std::move(items_.front());
    items_.pop_front();
    weight_ -= weight;
    // Every pop at or below the mark wakes them, so a heavy item that needs
    // more room than half is woken again until it fits.
    if (waiting_producers_ > 0 && weight_ <= capacity_ / 2) not_full_.notify_all();
    return std::move(item);
  }

  // Producers blocked in push() (for tests and diagnostics).
  int waiting_producers() {
    std::lock_guard lock(mu_);
    return waiting_producers_;
  }

  // No more pushes; pops drain what is left, then return nullopt.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  // Drops queued items and closes (used on cancellation).
  void abort() {
    std::lock_guard lock(mu_);
    closed_ = true;
    items_.clear();
    weight_ = 0;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  bool admits(size_t weight) const { return closed_ || weight_ == 0 || weight_ + weight <= capacity_; }

  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::pair<T, size_t>> items_;
  size_t capacity_;
  size_t weight_ = 0;
  int waiting_producers_ = 0;
  bool closed_ = false;
};

}  // namespace lifeboat
