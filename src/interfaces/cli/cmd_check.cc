#include <chrono>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "interfaces/cli/progress.h"
#include "ops/check.h"
#include "util/time_format.h"

namespace lifeboat::cli {

namespace {
struct CheckArgs {
  bool read_data = false;
  std::string subset;
  uint64_t seed = 0;
  bool seed_given = false;
  int workers = 0;
};

// "10%" or "1/5" -> fraction
Result<double> parse_subset(const std::string& s) {
  char* end = nullptr;
  if (!s.empty() && s.back() == '%') {
    double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() + s.size() - 1 && v > 0 && v <= 100) return v / 100.0;
  } else if (auto slash = s.find('/'); slash != std::string::npos) {
    long n = std::strtol(s.c_str(), &end, 10);
    long d = std::strtol(s.c_str() + slash + 1, nullptr, 10);
    if (n > 0 && d > 0 && n <= d) return static_cast<double>(n) / static_cast<double>(d);
  }
  return Status(ErrorCode::kInvalidArgument,
                fmt::format("invalid --read-data-subset \"{}\": give a percentage (10%) or a fraction (1/5)", s));
}

int run_check(Globals& g, const CheckArgs& a) {
  ops::CheckOptions o;
  o.read_data = a.read_data || !a.subset.empty();
  o.workers = a.workers;
  if (!a.subset.empty()) {
    auto f = parse_subset(a.subset);
    if (!f.is_ok()) return fail(f.status());
    o.read_fraction = *f;
  }
  if (a.seed_given) o.seed = a.seed;
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  enable_graceful_interrupt();
  ops::CheckProgress progress;
  auto start = std::chrono::steady_clock::now();
  ProgressLine line(stdout_is_terminal() && !g.quiet && !g.json && o.read_data, [&](double elapsed) {
    return fmt::format("[{}] {} / {} packs read, {}", format_clock(elapsed), progress.packs_done.load(),
                       progress.packs_total.load(), rate_and_eta(progress.bytes_done, 0, false, elapsed));
  });
  auto r = ops::check(**repo, o, make_context(), &progress);
  line.stop();
  if (!r.is_ok()) return fail(r.status());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (g.json) {
    nlohmann::json damaged = nlohmann::json::array();
    for (const auto& d : r->damaged)
      damaged.push_back({{"blob", d.blob.hex()}, {"pack", d.pack.is_zero() ? "" : d.pack.hex()},
                         {"reason", d.reason}, {"affected", d.affected}});
    nlohmann::json j = {{"message_type", "summary"}, {"ok", r->ok()}, {"snapshots", r->snapshots},
                        {"index_files", r->index_files}, {"packs", r->packs}, {"trees", r->trees},
                        {"blobs", r->blobs}, {"packs_read", r->packs_read}, {"bytes_read", r->bytes_read},
                        {"errors", r->errors}, {"notes", r->notes}, {"damaged", damaged},
                        {"total_duration", seconds}};
    if (o.read_fraction < 1.0) j["seed"] = r->seed;
    fmt::print("{}\n", j.dump());
  } else {
    for (const auto& e : r->errors) fmt::print(stderr, "error: {}\n", e);
    for (const auto& d : r->damaged) {
      fmt::print(stderr, "damaged blob {}{}: {}\n", d.blob.short_hex(),
                 d.pack.is_zero() ? "" : " in pack " + d.pack.short_hex(), d.reason);
      for (const auto& p : d.affected) fmt::print(stderr, "    affects {}\n", p);
    }
    for (const auto& n : r->notes) fmt::print("note: {}\n", n);
    if (!g.quiet) {
      fmt::print("checked {} snapshots, {} trees, {} blobs in {} packs ({} index files)\n", r->snapshots, r->trees,
                 r->blobs, r->packs, r->index_files);
      if (o.read_data)
        fmt::print("read {} packs, {}{}\n", r->packs_read, format_bytes(r->bytes_read),
                   o.read_fraction < 1.0 ? fmt::format(" (random subset, seed {})", r->seed) : "");
    }
    if (r->ok()) fmt::print("no errors were found ({})\n", format_clock(seconds));
  }
  if (!r->ok()) {
    fmt::print(stderr, "lifeboat: error: check found {} problem{} in {}\n", r->errors.size(),
               r->errors.size() == 1 ? "" : "s", (*repo)->location());
    return kExitFatal;
  }
  return kExitOk;
}
}  // namespace

void add_check_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<CheckArgs>();
  auto* cmd = app.add_subcommand("check", "Verify the repository (structure; with --read-data every byte)");
  cmd->add_flag("--read-data", a->read_data, "Read and authenticate every blob of every pack");
  cmd->add_option("--read-data-subset", a->subset, "Read a random share of the packs: \"10%\" or \"1/5\"");
  cmd->add_option("--seed", a->seed, "Seed for --read-data-subset (default: random, printed)")
      ->each([a](const std::string&) { a->seed_given = true; });
  cmd->add_option("--workers", a->workers, "Worker threads (default: one per CPU)")->check(CLI::Range(0, 256));
  cmd->callback([&g, a] { g.action = [&g, a] { return run_check(g, *a); }; });
}

}  // namespace lifeboat::cli
