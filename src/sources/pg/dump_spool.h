// SpoolFollower: reads the files another program writes into a directory
// while it writes them (pg_dump --format=directory --jobs N), so that they can
// be stored as they grow and the directory never holds the whole dump.
//
// The directory is watched with inotify from open() on: every file created
// in it is handed out once by next_file(), in creation order (directory order
// for files found by a rescan: after an overflow, or when the writer ended
// before their events were read), and read from
// its start by a Reader, which waits for more data until the writer closes
// the file (IN_CLOSE_WRITE) or ends (writer_done()). What a Reader has
// returned is released at once (the file's blocks are punched out with
// fallocate, so its size stays and the writer appends on), and a file read
// to its end is unlinked. On a file system that cannot punch holes (the
// punch fails with EOPNOTSUPP) a file is released only at its end, so the
// spool then holds up to one whole file per writer.
//
// The writer must only append (pg_dump's directory format does); a file
// that shrinks fails its Reader with kCorrupt. next_file() and a Reader's
// read() block; they may be called from different threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "util/status.h"

namespace lifeboat::sources::pg {

class SpoolFollower {
 public:
  // `dir` must exist and be empty.
  static Result<std::unique_ptr<SpoolFollower>> open(const std::string& dir);
  ~SpoolFollower();
  SpoolFollower(const SpoolFollower&) = delete;
  SpoolFollower& operator=(const SpoolFollower&) = delete;

  // The next file created (a name within the directory); nullopt once the
  // writer is done and every file was handed out; kCancelled after cancel()
  // or once `stopping` says so (it is asked a few times a second).
  Result<std::optional<std::string>> next_file(const std::function<bool()>& stopping = nullptr);

  class Reader {
   public:
    ~Reader();
    // Up to `n` bytes from where the last call ended; waits for the writer;
    // 0 at the file's end.
    Result<size_t> read(uint8_t* buf, size_t n);

   private:
    friend class SpoolFollower;
    Reader(SpoolFollower& f, std::string name, int fd) : f_(f), name_(std::move(name)), fd_(fd) {}
    void release(bool all);
    SpoolFollower& f_;
    std::string name_;
    int fd_;
    uint64_t offset_ = 0;
    uint64_t released_ = 0;
    bool done_ = false;
    bool punch_ = true;
  };
  // A reader of `name` (as next_file() gave it).
  Result<std::unique_ptr<Reader>> reader(const std::string& name);

  // The writer ended (after it was waited for): with an error, readers
  // waiting for more data fail with it.
  void writer_done(const Status& status);
  bool writer_finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return writer_done_;
  }
  // Wakes every waiting call with kCancelled.
  void cancel();

  // The bytes written to the spool and not read yet (what it holds when
  // holes are punched; what a writer may be paused on, since readers always
  // drain it without the writer's help).
  uint64_t unread_bytes();

  // Whether released space was given back while files were written.
  bool punching() const { return punch_ok_.load(); }

 private:
  explicit SpoolFollower(std::string dir) : dir_(std::move(dir)) {}
  void watch_loop();
  void rescan_locked();
  void add_locked(const std::string& name, bool closed);

  struct FileState {
    bool closed = false;
    bool finished = false;  // read to its end and unlinked
    uint64_t offset = 0;    // how far its reader got
  };

  std::string dir_;
  int inotify_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread watcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;  // bumped on every change; waiters wait for a new one
  std::map<std::string, FileState> files_;
  std::deque<std::string> fresh_;  // created, not yet handed out
  bool writer_done_ = false;
  bool cancelled_ = false;
  Status writer_status_;
  Status watch_status_;
  std::atomic<bool> punch_ok_{true};
};

}  // namespace lifeboat::sources::pg
