// Cooperative cancellation. The CLI's SIGINT handler calls cancel(); long
// operations poll cancelled() between units of work and stop with
// ErrorCode::kCancelled, leaving the repository consistent.
#pragma once

#include <atomic>

namespace lifeboat {

class CancelToken {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

}  // namespace lifeboat
