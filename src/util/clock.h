// Time as the rest of the code sees it: nanoseconds since the Unix epoch.
//
// Nothing reads the system clock directly; operations take a Clock so tests
// can fix time.
#pragma once

#include <cstdint>

namespace lifeboat {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, ns since 1970-01-01T00:00:00Z.
  virtual int64_t now_ns() const = 0;
  // A monotonic time for measuring durations, ns since an arbitrary origin.
  virtual int64_t monotonic_ns() const = 0;
};

// The real clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  int64_t now_ns() const override;
  int64_t monotonic_ns() const override;
  static const SystemClock& instance();
};

// A clock that returns what the test sets. Not thread-safe to set.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ns = 0) : now_(now_ns) {}
  int64_t now_ns() const override { return now_; }
  int64_t monotonic_ns() const override { return now_; }
  void set(int64_t now_ns) { now_ = now_ns; }
  void advance(int64_t delta_ns) { now_ += delta_ns; }

 private:
  int64_t now_;
};

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

}  // namespace lifeboat
