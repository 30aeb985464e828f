// The files cache: lets an unchanged file be recorded without reading it.
//
// One cache file per (repository, host, set of backup paths), in the local
// cache directory, never in the repository. It maps each directory to the
// regular files seen in it by the last successful backup: name, size, mtime,
// ctime, inode and the blob ids of the content. A file whose size, mtime,
// ctime and inode all match, and whose blobs are all still in the index, is
// unchanged.
//
// Format (little-endian, all blocks zstd-compressed):
//   file    := "LBFC1\n" block* table footer
//   block   := zstd(varint(n) record{n})            one per directory, names sorted
//   record  := varint(len) name varint(size) varint(zz(mtime)) varint(zz(ctime))
//              varint(inode) varint(nids) id[32]{nids}
//   table   := zstd(varint(ndirs) (varint(len) dir_path varint(offset) varint(clen) varint(rawlen)){ndirs})
//   footer  := fixed64(table_offset) fixed64(table_clen) fixed64(table_rawlen) "LBFCEND1"
// Blocks are appended as directories complete, in any order; the table is
// loaded whole (memory grows with the number of directories, not files).
// A damaged or missing cache is treated as empty: the cache only ever saves
// reading, it never decides content.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "repo/id.h"
#include "util/status.h"

namespace lifeboat::sources::fs {

struct CachedFile {
  std::string name;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  std::vector<repo::Id> content;
};

class FileCacheReader {
 public:
  // Opens `path`; a missing or unreadable cache gives an empty reader.
  static std::unique_ptr<FileCacheReader> open(const std::string& path);
  ~FileCacheReader();

  // The files recorded for `dir_path`, sorted by name (empty if none).
  std::vector<CachedFile> load_dir(const std::string& dir_path) const;
  size_t dir_count() const { return table_.size(); }

 private:
  struct BlockRef {
    uint64_t offset = 0, clen = 0, rawlen = 0;
  };
  const uint8_t* map_ = nullptr;  // the whole file, mapped read-only
  size_t size_ = 0;
  std::unordered_map<std::string, BlockRef> table_;
};

// Writes a new cache next to the final path and renames it into place on
// commit(). add_dir() is thread-safe.
class FileCacheWriter {
 public:
  static Result<std::unique_ptr<FileCacheWriter>> create(const std::string& path);
  ~FileCacheWriter();  // discards unless committed

  void add_dir(const std::string& dir_path, const std::vector<CachedFile>& files);
  Status commit();

 private:
  FileCacheWriter() = default;
  std::mutex mu_;
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  Bytes pending_;  // written in 1 MiB pieces
  bool failed_ = false;
  bool committed_ = false;
  struct Entry {
    std::string dir;
    uint64_t offset, clen, rawlen;
  };
  std::vector<Entry> table_;
};

// The cache file for a backup: <cache_root>/<repo_id>/files/<hash of host and paths>.
std::string file_cache_path(const std::string& cache_root, const repo::Id& repo_id, const std::string& hostname,
                            const std::vector<std::string>& paths);

}  // namespace lifeboat::sources::fs
