#include "repo/lock.h"

#include <signal.h>

#include <cerrno>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/time_format.h"

namespace lifeboat::repo {
namespace {

using json = nlohmann::json;

bool process_alive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

const char* article(LockKind kind) {
  switch (kind) {
    case LockKind::kExclusive: return "an exclusive";
    case LockKind::kDelete: return "a delete";
    case LockKind::kShared: break;
  }
  return "a";
}

std::optional<LockKind> parse_kind(std::string_view s) {
  if (s == "shared") return LockKind::kShared;
  if (s == "delete") return LockKind::kDelete;
  if (s == "exclusive") return LockKind::kExclusive;
  return std::nullopt;
}

bool conflicts(LockKind a, LockKind b) {
  if (a == LockKind::kExclusive || b == LockKind::kExclusive) return true;
  return a == LockKind::kDelete && b == LockKind::kDelete;
}

std::string describe(const LockInfo& l) {
  if (l.foreign)
    return fmt::format("lock {} is sealed under a data key, which this write-only key cannot read (a full key's "
                       "operation, such as key rotate --reencrypt)",
                       l.id.short_hex());
  return fmt::format("{} lock {} held by PID {} on {} (user {}, {}) since {}", article(l.kind),
                     l.id.short_hex(), l.pid, l.hostname, l.username,
                     l.operation.empty() ? "unknown operation" : l.operation, format_local(l.time_ns));
}

}  // namespace

const char* lock_kind_name(LockKind kind) {
  switch (kind) {
    case LockKind::kExclusive: return "exclusive";
    case LockKind::kDelete: return "delete";
    case LockKind::kShared: break;
  }
  return "shared";
}

Result<std::vector<LockInfo>> list_locks(const Repository& repo, const std::string& hostname) {
  LB_ASSIGN_OR_RETURN(auto names, repo.list_names("locks/"));
  std::vector<LockInfo> out;
  int64_t now = repo.clock().now_ns();
  for (const auto& name : names) {
    auto id = Id::from_hex(name.substr(name.rfind('/') + 1));
    if (!id) continue;
    LockInfo l;
    l.id = *id;
    auto body = repo.read_sealed(name, Repository::lock_aad(*id));
    if (!body.is_ok()) {
      if (body.status().code() == ErrorCode::kNotFound) continue;  // released meanwhile
      if (body.status().code() == ErrorCode::kPermission) {
        l.foreign = true;
        l.kind = LockKind::kExclusive;
        l.operation = "an operation of a full key";
      }
      l.readable = false;
      out.push_back(l);
      continue;
    }
    json j = json::parse(as_string_view(*body), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      l.readable = false;
      out.push_back(l);
      continue;
    }
    l.time_ns = j.value("time", int64_t{0});
    l.started_ns = j.value("started", l.time_ns);
    // "kind" since prune's delete locks; before, only "exclusive".
    auto kind = parse_kind(j.value("kind", ""));
    l.kind = kind ? *kind : j.value("exclusive", false) ? LockKind::kExclusive : LockKind::kShared;
    auto session = Id::from_hex(j.value("session", ""));
    l.session = session ? *session : l.id;
    l.hostname = j.value("hostname", "");
    l.username = j.value("username", "");
    l.pid = j.value("pid", int64_t{0});
    l.operation = j.value("operation", "");
    l.stale = now - l.time_ns > kLockStaleAfterNs || (l.hostname == hostname && !process_alive(l.pid));
    out.push_back(l);
  }
  return out;
}

RepoLock::RepoLock(Repository& repo, LockKind kind, LockOwner owner)
    : repo_(repo), kind_(kind), owner_(std::move(owner)) {}

RepoLock::~RepoLock() { release().ignore(); /* best effort: a leftover lock goes stale */ }

Status RepoLock::write_lock() {
  int64_t now = repo_.clock().now_ns();
  // "exclusive" stays true for delete locks, so that an older lifeboat,
  // which knows no delete locks, keeps out of prune's way.
  json j = {{"time", now},
            {"started", started_ns_},
            {"kind", lock_kind_name(kind_)},
            {"exclusive", kind_ != LockKind::kShared},
            {"session", session_.hex()},
            {"hostname", owner_.hostname},
            {"username", owner_.username},
            {"pid", owner_.pid},
            {"operation", owner_.operation}};
  std::string body = j.dump();
  Status s = repo_.write_sealed("locks/" + id_.hex(), as_bytes(body), Repository::lock_aad(id_));
  if (s.is_ok()) refreshed_ns_ = now;
  return s;
}

Result<std::unique_ptr<RepoLock>> RepoLock::acquire(Repository& repo, LockKind kind, const LockOwner& owner) {
  auto conflict = [&](const std::vector<LockInfo>& locks, const Id& self) -> std::optional<LockInfo> {
    for (const auto& l : locks) {
      if (l.id == self || l.stale || (!l.readable && !l.foreign)) continue;
      if (conflicts(kind, l.kind)) return l;
    }
    return std::nullopt;
  };
  auto locked = [&](const LockInfo& l) {
    return Status(ErrorCode::kLocked,
                  fmt::format("repository is locked: {}; wait for it to finish, or if that process is gone run "
                              "`lifeboat unlock`",
                              describe(l)));
  };
  LB_ASSIGN_OR_RETURN(auto before, list_locks(repo, owner.hostname));
  if (auto c = conflict(before, Id{})) return locked(*c);

  std::unique_ptr<RepoLock> lock(new RepoLock(repo, kind, owner));
  lock->id_ = Id::random();
  lock->session_ = lock->id_;
  lock->started_ns_ = repo.clock().now_ns();
  LB_RETURN_IF_ERROR(lock->write_lock().with_context("unable to create a lock"));
  auto after = list_locks(repo, owner.hostname);
  if (!after.is_ok()) {
    lock->release().ignore();
    return after.status();
  }
  if (auto c = conflict(*after, lock->id_)) {
    lock->release().ignore();  // the other side sees ours and backs off too, or wins the race
    return locked(*c);
  }
  lock->refresher_ = std::thread([l = lock.get()] { l->refresh_loop(); });
  return lock;
}

void RepoLock::refresh_loop() {
  std::unique_lock lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::nanoseconds(kLockRefreshEveryNs), [&] { return stop_; });
    if (stop_) break;
    // A gap past the stale limit (a suspended host) means others may have
    // treated the lock as gone; refreshing now does not undo that.
    if (lost_ || repo_.clock().now_ns() - refreshed_ns_ > kLockStaleAfterNs) lost_ = true;
    Id old = id_;
    id_ = Id::random();
    if (write_lock().is_ok()) {
      repo_.remove("locks/" + old.hex()).ignore();  // a leftover goes stale
    } else {
      id_ = old;  // keep the old one; retried next round
    }
  }
}

Status RepoLock::verify() {
  std::lock_guard lk(mu_);
  if (released_) return Status(ErrorCode::kLocked, "the repository lock was already released");
  if (lost_ || repo_.clock().now_ns() - refreshed_ns_ > kLockStaleAfterNs)
    return Status(ErrorCode::kLocked,
                  fmt::format("the repository lock {} could not be refreshed for more than {} minutes, so other "
                              "hosts may have treated it as stale",
                              session_.short_hex(), kLockStaleAfterNs / (60 * kNanosPerSecond)));
  auto body = repo_.read_sealed("locks/" + id_.hex(), Repository::lock_aad(id_));
  if (body.status().code() == ErrorCode::kNotFound)
    return Status(ErrorCode::kLocked,
                  fmt::format("the repository lock {} was removed by someone else (lifeboat unlock?)",
                              session_.short_hex()));
  return body.status();
}

Status RepoLock::release() {
  {
    std::lock_guard lk(mu_);
    if (released_) return Status::ok();
    released_ = true;
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  Status s = repo_.remove("locks/" + id_.hex());
  if (!s.is_ok() && s.code() == ErrorCode::kNotFound) return Status::ok();
  return s;
}

}  // namespace lifeboat::repo
