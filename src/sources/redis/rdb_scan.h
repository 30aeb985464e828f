// Reading an RDB file's structure without loading it: the number of keys
// (and of keys with a time to live) in each database, the auxiliary fields
// (redis-ver, ctime, ...), and whether the file is complete. The counts are
// those of the RDB itself, so they match what a server loads from it,
// whatever the live server did meanwhile.
//
// Values are skipped, not decoded: only lengths are read, so the cost is
// one pass over the bytes. Types up to Redis 7.2 are known (strings, lists,
// sets, sorted sets, hashes in every encoding, streams v1-v3, module values
// of the self-describing kind, functions).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::sources::redis {

struct RdbDbStats {
  uint64_t keys = 0;
  uint64_t expires = 0;  // keys with an expiry time
  bool operator==(const RdbDbStats&) const = default;
};

struct RdbSummary {
  int version = 0;                           // the "REDIS0011" number
  std::map<int, RdbDbStats> dbs;             // databases holding keys
  std::map<std::string, std::string> aux;    // AUX fields (redis-ver, redis-bits, ctime, used-mem, ...)
  uint64_t functions = 0;                    // function libraries (Redis 7)
  uint64_t bytes = 0;                        // the RDB's length
  uint64_t total_keys() const {
    uint64_t n = 0;
    for (const auto& [db, s] : dbs) n += s.keys;
    return n;
  }
};

using RdbReadFn = std::function<Result<size_t>(uint8_t* buf, size_t n)>;

// Reads an RDB from `read` to its end (0). kCorrupt when the bytes are not
// an RDB or end early; kUnsupported for a value type it cannot skip (a
// pre-release module type or a type newer than it knows).
Result<RdbSummary> scan_rdb(const RdbReadFn& read);

// scan_rdb on a thread of its own, over copies of the bytes given to
// feed(), so that a stream being stored is counted as it passes without a
// second read. Memory is bounded: feed() waits while 8 MiB are queued.
class RdbScanThread {
 public:
  RdbScanThread();
  ~RdbScanThread();  // finish() unless called
  RdbScanThread(const RdbScanThread&) = delete;
  RdbScanThread& operator=(const RdbScanThread&) = delete;

  void feed(ByteSpan data);
  // Marks the end of the stream and returns the scanner's result.
  Result<RdbSummary> finish();

 private:
  Result<size_t> pull(uint8_t* buf, size_t n);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t queued_ = 0;
  size_t front_off_ = 0;
  bool ended_ = false;     // no more feed()
  bool stopped_ = false;   // the scanner returned
  bool finished_ = false;
  Result<RdbSummary> result_ = Status(ErrorCode::kInternal, "the RDB scan did not run");
  std::thread thread_;
};

}  // namespace lifeboat::sources::redis
