// Scanner: walks the source file system and emits, in depth-first
// pre-order, one listing per directory with the metadata of its entries
// (lstat, owner names, extended attributes), excluded entries left out.
//
// It runs in its own thread ahead of the archiver, through a queue bounded
// by the number of entries, so the system calls of the walk overlap with
// everything else (key derivation while the repository opens, cache
// lookups, tree encoding). It never reads file contents.
//
// The root listing is "/" and holds only the entries on the way to the
// backup targets ("virtual" directories mirror the absolute paths); below a
// target, listings are complete. For every child directory marked `enter`,
// its own listing follows later in the stream, in order.
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "repo/tree.h"
#include "sources/fs/exclude.h"
#include "sources/fs/metadata.h"
#include "util/bounded_queue.h"
#include "util/status.h"

namespace lifeboat::sources::fs {

struct ScannedDir {
  std::string path;                  // absolute
  std::vector<repo::Node> children;  // sorted by name; no content or subtree
  std::vector<bool> enter;           // per child: its listing follows in the stream
  bool failed = false;               // could not be opened/listed: drop it (warning given)
};

class Scanner {
 public:
  struct Options {
    std::vector<std::string> targets;  // absolute, normalised, sorted, unique
    const ExcludeMatcher* excludes = nullptr;
    bool one_file_system = false;
  };

  // `out` is closed when the scan ends (or aborted by the consumer).
  Scanner(Options options, BoundedQueue<ScannedDir>& out, OwnerNames& owners);

  // Runs the scan to the end (call from the scanner thread). Unreadable
  // entries become warnings.
  void run();

  std::vector<std::string> take_warnings();

 private:
  struct Trie {
    bool target = false;
    std::map<std::string, Trie> children;
  };
  bool scan_real(const std::string& path, int dirfd, dev_t device);
  bool scan_virtual(const std::string& path, const Trie& trie);
  bool emit_children(ScannedDir& dir, int dirfd, dev_t device, const Trie* trie);
  void warn(std::string m);

  Options options_;
  BoundedQueue<ScannedDir>& out_;
  OwnerNames& owners_;
  Trie trie_;
  std::mutex mu_;
  std::vector<std::string> warnings_;
};

}  // namespace lifeboat::sources::fs
