#include "ops/keys.h"

#include <algorithm>

#include <fmt/format.h>

#include "ops/audit.h"
#include "ops/locking.h"
#include "repo/audit.h"

namespace lifeboat::ops {
namespace {

repo::KeyFileInfo new_key_info(const KeyAddOptions& o, const OpContext& ctx) {
  repo::KeyFileInfo info;
  info.hostname = o.hostname.empty() ? ctx.hostname : o.hostname;
  info.username = o.username.empty() ? ctx.username : o.username;
  info.kdf = o.kdf;
  return info;
}

Result<repo::Id> resolve_key(const repo::Repository& repo, std::string_view ref) {
  bool hex = ref.size() >= 4 && ref.size() <= 64 &&
             std::all_of(ref.begin(), ref.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (!hex)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("invalid key id \"{}\": give at least 4 hex digits (see `lifeboat key list`)", ref));
  LB_ASSIGN_OR_RETURN(auto keys, repo.list_keys());
  std::vector<repo::Id> hits;
  for (const auto& k : keys)
    if (k.info.id.hex().starts_with(ref)) hits.push_back(k.info.id);
  if (hits.empty()) return Status(ErrorCode::kNotFound, fmt::format("no key matches \"{}\" (see `lifeboat key list`)", ref));
  if (hits.size() > 1)
    return Status(ErrorCode::kInvalidArgument, fmt::format("key id \"{}\" is ambiguous: give more digits", ref));
  return hits[0];
}

}  // namespace

Result<std::vector<repo::Repository::KeyListing>> key_list(const repo::Repository& repo) { return repo.list_keys(); }

Result<size_t> reseal_metadata(repo::Repository& repo, const OpContext& ctx) {
  size_t n = 0;
  auto one = [&](const std::string& name, ByteSpan aad) -> Status {
    if (ctx.cancelled()) return Status(ErrorCode::kCancelled, "interrupted; run the command again to finish");
    auto r = repo.reseal_if_stale(name, aad);
    if (!r.is_ok() && r.status().code() == ErrorCode::kNotFound) return Status::ok();  // removed meanwhile
    if (!r.is_ok()) return r.status();
    n += *r ? 1 : 0;
    return Status::ok();
  };
  LB_RETURN_IF_ERROR(one("config", as_bytes("config")));
  using R = repo::Repository;
  for (const auto& [prefix, aad] : {std::pair{"index/", &R::index_aad}, std::pair{"locks/", &R::lock_aad}}) {
    LB_ASSIGN_OR_RETURN(auto names, repo.list_names(prefix));
    for (const auto& name : names)
      if (auto id = repo::Id::from_hex(name.substr(name.rfind('/') + 1)))
        LB_RETURN_IF_ERROR(one(name, aad(*id)));
  }
  LB_ASSIGN_OR_RETURN(size_t records, repo::reseal_audit(repo));
  return n + records;
}

Result<repo::Id> key_add(repo::Repository& repo, std::string_view new_password, const KeyAddOptions& options,
                         const OpContext& ctx) {
  if (repo.keys().write_only()) return write_only_refusal("key add");
  if (options.write_only) {
    LB_RETURN_IF_ERROR(repo::check_new_password(new_password));  // before anything is re-sealed
    // Exclusive: no operation may write metadata under a data key while it
    // is re-sealed, and none that began before knows the shared key.
    LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kExclusive, ctx, "key add --write-only"));
    LB_RETURN_IF_ERROR(repo.create_shared_key());
    LB_ASSIGN_OR_RETURN(size_t resealed, reseal_metadata(repo, ctx));
    // The key last: it exists only once everything it must read opens with it.
    LB_ASSIGN_OR_RETURN(repo::Id id, repo.add_write_only_key(new_password, new_key_info(options, ctx)));
    LB_RETURN_IF_ERROR(audit(repo, ctx, "key add", Status::ok(), {},
                             fmt::format("write-only key {}; {} metadata objects re-sealed", id.hex(), resealed)));
    LB_RETURN_IF_ERROR(lock->release());
    return id;
  }
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kShared, ctx, "key add"));
  LB_ASSIGN_OR_RETURN(repo::Id id, repo.add_key(new_password, new_key_info(options, ctx)));
  LB_RETURN_IF_ERROR(audit(repo, ctx, "key add", Status::ok(), {}, "key " + id.hex()));
  LB_RETURN_IF_ERROR(lock->release());
  return id;
}

Result<repo::Id> key_remove(repo::Repository& repo, std::string_view ref, const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(repo::Id id, resolve_key(repo, ref));
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kExclusive, ctx, "key remove"));
  LB_RETURN_IF_ERROR(repo.remove_key(id));
  LB_RETURN_IF_ERROR(audit(repo, ctx, "key remove", Status::ok(), {}, "key " + id.hex()));
  LB_RETURN_IF_ERROR(lock->release());
  return id;
}

Result<repo::Id> key_passwd(repo::Repository& repo, std::string_view new_password, const KeyAddOptions& options,
                            const OpContext& ctx) {
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kExclusive, ctx, "key passwd"));
  // The new key first: a crash in between leaves two working keys, never none.
  LB_ASSIGN_OR_RETURN(repo::Id id, repo.add_key(new_password, new_key_info(options, ctx)));
  Status removed = repo.remove_key(repo.key_id(), true);
  if (!removed.is_ok())
    return removed.with_context(fmt::format("the new key {} works, but the old key {} could not be removed",
                                            id.short_hex(), repo.key_id().short_hex()));
  LB_RETURN_IF_ERROR(audit(repo, ctx, "key passwd", Status::ok(), {},
                           "key " + id.hex() + " replaces key " + repo.key_id().hex()));
  LB_RETURN_IF_ERROR(lock->release());
  return id;
}

Result<uint32_t> key_rotate(repo::Repository& repo, const OpContext& ctx) {
  // Exclusive: an operation that opened the repository before the rotation
  // would not know the new epoch when it met an object sealed with it.
  LB_ASSIGN_OR_RETURN(auto lock, lock_repository(repo, repo::LockKind::kExclusive, ctx, "key rotate"));
  LB_ASSIGN_OR_RETURN(uint32_t epoch, repo.rotate_data_key());
  LB_RETURN_IF_ERROR(audit(repo, ctx, "key rotate", Status::ok(), {}, fmt::format("data key epoch {}", epoch)));
  LB_RETURN_IF_ERROR(lock->release());
  return epoch;
}

}  // namespace lifeboat::ops
