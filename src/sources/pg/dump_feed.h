// FifoFeeder: lays out stored files in a directory for a program that opens
// them by name (pg_restore reading a dump), without writing them whole to
// disk: each file is a named pipe that this process fills when the program
// opens it, in whatever order and how many at once it opens them
// (pg_restore --jobs N opens N). Small files the program may read twice or
// expect to be regular (pg_dump's toc.dat, blobs.toc) are written as
// regular files before it starts.
//
// A file the program never opens is never read. A pipe the program closes
// before its end (pg_restore stops reading a custom-format archive after
// the last entry it needs) is not an error: the program's exit status says
// whether it got what it needed.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::sources::pg {

class FifoFeeder {
 public:
  struct File {
    std::string name;      // within the directory (no '/')
    bool regular = false;  // written in full by create()
  };
  // Writes the whole content of `name` through `sink` (which returns an
  // error once the reader is gone; pass it on).
  using Sink = std::function<Status(ByteSpan)>;
  using WriteFn = std::function<Status(const std::string& name, const Sink& sink)>;

  // Creates the regular files (writing them now) and the pipes in `dir`,
  // which must exist.
  static Result<std::unique_ptr<FifoFeeder>> create(const std::string& dir, const std::vector<File>& files,
                                                    WriteFn write);
  ~FifoFeeder();  // finish()

  // Starts serving the pipes (a thread that notices each open).
  void start();
  // After the reading program ended: stops, waits for the writers, and
  // returns the first error other than the reader going away.
  Status finish();

  uint64_t bytes_written() const { return bytes_.load(); }

 private:
  FifoFeeder(std::string dir, WriteFn write) : dir_(std::move(dir)), write_(std::move(write)) {}
  void serve();
  void feed(const std::string& name, int fd);

  std::string dir_;
  WriteFn write_;
  std::vector<std::string> pending_;
  std::thread server_;
  std::mutex mu_;
  std::vector<std::thread> writers_;
  Status first_error_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> bytes_{0};
  bool finished_ = false;
};

}  // namespace lifeboat::sources::pg
