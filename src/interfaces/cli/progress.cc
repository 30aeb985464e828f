#include "interfaces/cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>

#include <fmt/format.h>

#include "util/time_format.h"

namespace lifeboat::cli {

ProgressLine::ProgressLine(bool enabled, std::function<std::string(double)> render, int interval_ms)
    : enabled_(enabled), render_(std::move(render)), interval_ms_(interval_ms) {
  if (enabled_) thread_ = std::thread([this] { loop(); });
}

ProgressLine::~ProgressLine() { stop(); }

void ProgressLine::stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    fmt::print("\r\033[K");
    std::fflush(stdout);
  }
}

void ProgressLine::loop() {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [&] { return stop_; })) {
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string line = render_(elapsed);
    struct winsize ws {};
    size_t width = (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) ? ws.ws_col : 80;
    if (line.size() >= width) line.resize(width - 1);
    fmt::print("\r\033[K{}", line);
    std::fflush(stdout);
  }
}

std::string format_clock(double seconds) {
  auto s = static_cast<long>(seconds);
  if (s >= 3600) return fmt::format("{}:{:02d}:{:02d}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02d}", s / 60, s % 60);
}

std::string rate_and_eta(uint64_t done, uint64_t total, bool total_known, double elapsed_s) {
  double rate = elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0;
  std::string out = format_bytes(done);
  if (total_known && total > 0) {
    double pct = 100.0 * static_cast<double>(std::min(done, total)) / static_cast<double>(total);
    out += fmt::format(" of {} ({:.0f}%)", format_bytes(total), pct);
  }
  out += fmt::format(", {}/s", format_bytes(static_cast<uint64_t>(rate)));
  if (total_known && rate > 0 && total > done)
    out += ", ETA " + format_clock(static_cast<double>(total - done) / rate);
  return out;
}

}  // namespace lifeboat::cli
