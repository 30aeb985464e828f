// Subprocess: run another program (pg_dump, mariadb-dump, redis-cli, a
// user's command) with its standard output as a stream this process reads,
// or its standard input as a stream this process writes.
//
// The child gets its own process group-less fork+exec (no shell), with the
// caller's environment plus `env`. Its standard error is kept (the last
// 64 KiB), so a failure can be reported in the child's own words.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat {

class Subprocess {
 public:
  enum class Pipe { kNone, kRead, kWrite };  // the child's stdout read by us / its stdin written by us

  struct Options {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH
    std::map<std::string, std::string> env;  // added to (or replacing in) the environment
    Pipe pipe = Pipe::kRead;
    std::string cwd;  // empty: ours
  };

  // Starts the program; kNotFound (one line naming it) when it does not exist.
  static Result<Subprocess> start(const Options& options);

  Subprocess(Subprocess&& o) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  Subprocess(const Subprocess&) = delete;
  ~Subprocess();  // kills and reaps a child still running

  // Reads the child's stdout (Pipe::kRead); 0 at its end.
  Result<size_t> read(uint8_t* buf, size_t n);
  // Writes to the child's stdin (Pipe::kWrite).
  Status write(ByteSpan data);
  // Closes our end of the pipe (the child sees end of input).
  void close_pipe();

  // Waits for the child to end. OK when it exited with 0; otherwise an error
  // naming the program, its exit code or signal, and the last line of its
  // standard error.
  Status wait();
  // The child's standard error so far (complete after wait()).
  std::string stderr_text() const;
  // Stops the child (SIGTERM, then SIGKILL after a grace period) and reaps it.
  void kill();
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

 private:
  Subprocess() = default;
  void drain_stderr(bool block);

  pid_t pid_ = -1;
  int pipe_fd_ = -1;
  int err_fd_ = -1;
  std::string name_;
  std::string err_;
  bool reaped_ = false;
  int wstatus_ = 0;
};

// Runs a program to its end and returns its standard output (for small
// outputs such as `pg_dump --version`).
Result<std::string> run_capture(const std::vector<std::string>& argv,
                                const std::map<std::string, std::string>& env = {});

// The absolute path of `program` found in PATH (or as given when it contains
// a slash and exists); empty when absent.
std::string find_program(const std::string& program);

}  // namespace lifeboat
