// A status line redrawn on the terminal while an operation runs; nothing at
// all when stdout is not a terminal (pipes, cron) or with --quiet/--json.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace lifeboat::cli {

class ProgressLine {
 public:
  // `render` is called every `interval_ms` from a background thread.
  ProgressLine(bool enabled, std::function<std::string(double elapsed_s)> render, int interval_ms = 250);
  ~ProgressLine();  // stop()
  void stop();      // clears the line

 private:
  void loop();
  bool enabled_;
  std::function<std::string(double)> render_;
  int interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// "1.23 GiB of 1.54 GiB (80%), 120 MiB/s, ETA 0:03"-style pieces.
std::string rate_and_eta(uint64_t done, uint64_t total, bool total_known, double elapsed_s);
std::string format_clock(double seconds);

// Runs `run(&bytes)`, which reads a stream of unknown size and counts it in
// `bytes`, under a "[0:03] LABEL 120 MiB, 40 MiB/s" line when `show`.
template <class Run>
auto with_stream_progress(bool show, const std::string& label, Run&& run) {
  std::atomic<uint64_t> bytes{0};
  ProgressLine line(show, [&](double elapsed) {
    return "[" + format_clock(elapsed) + "] " + label + rate_and_eta(bytes, 0, false, elapsed);
  });
  auto result = run(&bytes);
  line.stop();
  return result;
}

}  // namespace lifeboat::cli
