// Repository locks: locks/<id>, sealed JSON naming who holds it (host, pid,
// user, operation, time, shared or exclusive); aad = "lock" id[32].
//
// Operations that add data (backup) or only read take a shared lock; only
// operations that delete (prune, forget, key remove) take an exclusive one.
// A lock conflicts with an exclusive lock, and an exclusive lock with any
// lock. A lock is stale when it was not refreshed for kStaleAfter, or when
// its process is gone from this host; stale locks never block and
// `lifeboat unlock` removes them.
//
// Acquisition: check for conflicts, write our lock, check again (to catch a
// racing writer), and back off if one appeared. A background thread
// refreshes the lock every kRefreshEvery while it is held.
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

struct LockInfo {
  Id id;
  int64_t time_ns = 0;
  bool exclusive = false;
  std::string hostname;
  std::string username;
  int64_t pid = 0;
  std::string operation;
  bool stale = false;     // computed on load
  bool readable = true;   // false: could not be opened (other key, damaged)
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
  static Result<std::unique_ptr<RepoLock>> acquire(Repository& repo, bool exclusive, const LockOwner& owner);
  Status release();

 private:
  RepoLock(Repository& repo, bool exclusive, LockOwner owner);
  Status write_lock();
  void refresh_loop();

  Repository& repo_;
  bool exclusive_;
  LockOwner owner_;
  Id id_;
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
