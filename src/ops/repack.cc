#include "ops/repack.h"

#include <algorithm>

#include <fmt/format.h>

namespace lifeboat::ops {

Result<std::vector<repo::IndexPack>> repack(repo::Repository& repo, const std::vector<RepackSource>& sources,
                                            const OpContext& ctx, const char* what, RepackStats& stats) {
  const uint32_t target = repo.config().pack_size;
  const int level = repo.config().compression_level;
  repo::PackWriter data_writer(repo.keys(), level), tree_writer(repo.keys(), level);
  std::vector<repo::IndexPack> written;
  auto flush = [&](repo::PackWriter& w) -> Status {
    if (w.empty()) return Status::ok();
    auto f = w.finish();
    LB_RETURN_IF_ERROR(repo.write_pack(f.pack_id, *f.data, f.entries));
    stats.packs_written++;
    stats.bytes_written += f.data->size();
    written.push_back({f.pack_id, std::move(f.entries)});
    return Status::ok();
  };
  Bytes data, stored;
  for (const auto& src : sources) {
    if (ctx.cancelled()) return Status(ErrorCode::kCancelled, fmt::format("{}: interrupted; nothing was removed", what));
    const auto& entries = *src.entries;
    // Every blob to keep must open before any is written; a pack that shows
    // damage is read once more (a response damaged on the way) before the
    // repack gives up.
    std::vector<std::pair<const repo::PackEntry*, Bytes>> kept;
    LB_RETURN_IF_ERROR(repo::reread_if_damaged([&]() -> Status {
      LB_RETURN_IF_ERROR(repo.read_pack_into(src.pack, 0, UINT64_MAX, data)
                             .with_context(fmt::format("{}; nothing was removed", what)));
      kept.clear();
      for (size_t i = 0; i < entries.size(); ++i) {
        if (src.keep && !(*src.keep)[i]) continue;
        const auto& e = entries[i];
        if (uint64_t{e.offset} + e.length > data.size() ||
            !repo::open_stored(repo.keys(), e, ByteSpan(data).subspan(e.offset, e.length), stored).is_ok())
          return Status(ErrorCode::kCorrupt,
                        fmt::format("{}: {} blob {} in pack {} is damaged, and nothing was removed; run `lifeboat "
                                    "check` and `lifeboat repair index --read-data`",
                                    what, repo::blob_type_name(e.type), e.id.short_hex(), src.pack.short_hex()));
        kept.emplace_back(&e, std::move(stored));
        stored = Bytes();
      }
      return Status::ok();
    }));
    for (const auto& [e, blob] : kept) {
      auto& w = e->type == repo::BlobType::kTree ? tree_writer : data_writer;
      w.add_stored(*e, blob);
      stats.blobs++;
      if (w.size() >= target) LB_RETURN_IF_ERROR(flush(w));
    }
  }
  LB_RETURN_IF_ERROR(flush(data_writer));
  LB_RETURN_IF_ERROR(flush(tree_writer));
  return written;
}

Status write_index_batches(repo::Repository& repo, std::vector<repo::IndexPack> packs, size_t per_file) {
  per_file = std::max<size_t>(1, per_file);
  for (size_t i = 0; i < packs.size(); i += per_file) {
    auto end = packs.begin() + static_cast<ptrdiff_t>(std::min(packs.size(), i + per_file));
    std::vector<repo::IndexPack> batch(std::make_move_iterator(packs.begin() + static_cast<ptrdiff_t>(i)),
                                       std::make_move_iterator(end));
    LB_RETURN_IF_ERROR(repo.write_index(batch).status());
  }
  return Status::ok();
}

}  // namespace lifeboat::ops
