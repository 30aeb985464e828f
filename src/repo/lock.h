// Repository locks: locks/<id>, sealed JSON naming who holds it (host, pid,
// user, operation, kind, session, time); aad = "lock" id[32].
//
// Three kinds:
//   shared     operations that add data or only read (backup, restore,
//              check, copy): any number at once;
//   delete     operations that remove snapshots or data (forget, prune):
//              one at a time, alongside any number of shared locks. Prune
//              deletes in two phases (docs/FORMAT.md, "Prune") so that it
//              never pulls data from under a running backup;
//   exclusive  operations that rewrite the index or the keys (repair, key
//              remove, config): alone.
// A lock is stale when it was not refreshed for kStaleAfter, or when its
// process is gone from this host; stale locks never block and
// `lifeboat unlock` removes them.
//
// Acquisition: check for conflicts, write our lock, check again (to catch a
// racing writer), and back off if one appeared. A background thread
// refreshes the lock every kRefreshEvery while it is held, by writing a new
// object and removing the old one (objects are immutable); the session id
// inside stays the same for the lock's whole life, so prune can tell whether
// an operation it saw is still running.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "repo/id.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::repo {

inline constexpr int64_t kLockRefreshEveryNs = int64_t{5} * 60 * kNanosPerSecond;
inline constexpr int64_t kLockStaleAfterNs = int64_t{30} * 60 * kNanosPerSecond;

enum class LockKind { kShared, kDelete, kExclusive };
const char* lock_kind_name(LockKind kind);

struct LockInfo {
  Id id;
  Id session;              // stable across refreshes (the first object's id for old locks)
  int64_t time_ns = 0;     // of the last refresh
  int64_t started_ns = 0;  // when the lock was first taken
  LockKind kind = LockKind::kShared;
  std::string hostname;
  std::string username;
  int64_t pid = 0;
  std::string operation;
  bool stale = false;     // computed on load
  bool readable = true;   // false: could not be opened (other key, damaged)
  // Sealed under a data key, which this write-only key cannot open (a full
  // key's lock during key rotate --reencrypt): counts as exclusive.
  bool foreign = false;
};

struct LockOwner {
  std::string hostname;
  std::string username;
  int64_t pid = 0;
  std::string operation;
};

class RepoLock {
 public:
  ~RepoLock();  // releases (best effort)
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

  // kLocked with a message naming the holder when a conflicting lock exists.
  static Result<std::unique_ptr<RepoLock>> acquire(Repository& repo, LockKind kind, const LockOwner& owner);
  Status release();

  const Id& session() const { return session_; }
  // kLocked unless the lock is still ours: its object is in the repository
  // and it was refreshed within the stale limit. A backup checks this before
  // it stores its snapshot: a lock that went stale (a suspended host) or
  // was removed by `unlock` no longer holds prune off its data.
  Status verify();

 private:
  RepoLock(Repository& repo, LockKind kind, LockOwner owner);
  Status write_lock();
  void refresh_loop();

  Repository& repo_;
  LockKind kind_;
  LockOwner owner_;
  Id id_;
  Id session_;
  int64_t started_ns_ = 0;
  int64_t refreshed_ns_ = 0;  // by the repository's clock, when the current object was written
  bool lost_ = false;         // a refresh came later than the stale limit
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool released_ = false;
  std::thread refresher_;
};

// Lists all locks with staleness computed for `hostname` (the local host,
// where a dead pid can be detected).
Result<std::vector<LockInfo>> list_locks(const Repository& repo, const std::string& hostname);

}  // namespace lifeboat::repo
