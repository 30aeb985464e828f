#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "util/clock.h"
#include "ops/repo_config.h"
#include "util/time_format.h"

namespace lifeboat::cli {

void add_config_command(CLI::App& app, Globals& g) {
  auto lock_days = std::make_shared<int64_t>(-1);
  auto* cmd = app.add_subcommand("config", "Show the repository's settings, or raise its retention lock");
  cmd->add_option("--lock-days", *lock_days,
                  "Retention lock: snapshots younger than N days cannot be forgotten (can only be raised)")
      ->check(CLI::Range(int64_t{0}, int64_t{36500}));
  cmd->callback([&g, lock_days] {
    g.action = [&g, lock_days]() -> int {
      auto repo = open_repository(g);
      if (!repo.is_ok()) return fail(repo.status());
      if (*lock_days >= 0) {
        Status s = ops::set_lock_days(**repo, static_cast<uint32_t>(*lock_days), make_context());
        if (!s.is_ok()) return fail(s);
      }
      const auto& c = (*repo)->config();
      const auto& data_keys = (*repo)->keys().master().data_keys;
      if (g.json) {
        nlohmann::json epochs = nlohmann::json::array();
        for (const auto& d : data_keys)
          epochs.push_back({{"epoch", d.epoch}, {"created", format_rfc3339(d.created_ns)},
                            {"current", &d == &data_keys.back()}});
        fmt::print("{}\n", nlohmann::json{{"id", c.id.hex()},
                                          {"version", c.version},
                                          {"created", format_rfc3339(c.created_ns)},
                                          {"chunker",
                                           {{"min_size", c.chunker.min_size},
                                            {"avg_size", c.chunker.avg_size},
                                            {"max_size", c.chunker.max_size}}},
                                          {"compression_level", c.compression_level},
                                          {"pack_size", c.pack_size},
                                          {"lock_days", c.lock_days},
                                          {"store_enforces_lock", (*repo)->store_enforces_retention()},
                                          {"data_keys", epochs}}
                               .dump());
      } else {
        fmt::print("repository {} (format {}), created {}\n", c.id.short_hex(), c.version, format_local(c.created_ns));
        fmt::print("chunker: FastCDC {}/{}/{} bytes; zstd level {}; packs of {} bytes\n", c.chunker.min_size,
                   c.chunker.avg_size, c.chunker.max_size, c.compression_level, c.pack_size);
        fmt::print("retention lock: {}{}\n", c.lock_days ? fmt::format("{} days", c.lock_days) : std::string("none"),
                   (*repo)->store_enforces_retention() ? " (also enforced by the store: S3 Object Lock)" : "");
        const auto& cur = data_keys.back();
        fmt::print("data key: epoch {}, created {} ({} days ago){}\n", cur.epoch, format_local(cur.created_ns),
                   (SystemClock::instance().now_ns() - cur.created_ns) / (86400 * kNanosPerSecond),
                   data_keys.size() > 1 ? fmt::format("; {} older epochs still readable", data_keys.size() - 1) : "");
      }
      return kExitOk;
    };
  });
}

}  // namespace lifeboat::cli
