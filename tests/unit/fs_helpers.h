// File-system helpers for backup/restore tests: a sample source tree and a
// comparison of two trees (types, content, modes, times, link targets,
// hard links).
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "unit/test_util.h"

namespace lifeboat::testing {

inline void set_mtime(const std::string& path, int64_t ns) {
  struct timespec ts[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)}};
  if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    throw std::runtime_error("utimensat " + path + ": " + std::strerror(errno));
}

inline void must(int rc, const std::string& what) {
  if (rc != 0) throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Files of every kind, a non-UTF-8 name with a newline, a hard link, data
// that spans many chunks (with 1/4/16 KiB chunker parameters) and zeros
// that deduplicate.
inline void make_sample_tree(const std::string& root) {
  must(::mkdir(root.c_str(), 0755), "mkdir " + root);
  write_file(root + "/a.txt", "hello world\n");
  set_mtime(root + "/a.txt", 1500000000'123456789);
  write_file(root + "/big.bin", as_string_view(splitmix_bytes(77, 200 * 1024)));
  write_file(root + "/zeros.bin", std::string(100 * 1024, '\0'));
  write_file(root + "/script.sh", "#!/bin/sh\necho hi\n");
  must(::chmod((root + "/script.sh").c_str(), 0755), "chmod");
  write_file(root + "/odd\xff name\nnewline", "odd");
  must(::mkdir((root + "/dir").c_str(), 0750), "mkdir dir");
  write_file(root + "/dir/nested.txt", "nested file\n");
  write_file(root + "/dir/empty.txt", "");
  must(::mkdir((root + "/dir/deeper").c_str(), 0700), "mkdir deeper");
  write_file(root + "/dir/deeper/x.txt", "x");
  must(::mkdir((root + "/empty_dir").c_str(), 0755), "mkdir empty_dir");
  must(::symlink("a.txt", (root + "/link").c_str()), "symlink");
  must(::link((root + "/dir/nested.txt").c_str(), (root + "/hard").c_str()), "link");
  must(::mkfifo((root + "/fifo").c_str(), 0640), "mkfifo");
  set_mtime(root + "/dir/deeper", 1400000000'000000001);
}

struct Entry {
  struct stat st;
  std::string content;  // files: data; symlinks: target
};

inline void scan_tree(const std::string& root, const std::string& rel, std::map<std::string, Entry>& out) {
  std::string path = rel.empty() ? root : root + "/" + rel;
  Entry e;
  must(::lstat(path.c_str(), &e.st), "lstat " + path);
  if (S_ISREG(e.st.st_mode)) {
    e.content = read_file(path);
  } else if (S_ISLNK(e.st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
    e.content.assign(buf, n > 0 ? static_cast<size_t>(n) : 0);
  }
  out[rel] = e;
  if (S_ISDIR(e.st.st_mode))
    for (const auto& name : dir_entries(path)) scan_tree(root, rel.empty() ? name : rel + "/" + name, out);
}

// What a tree holds, for comparisons that ignore metadata: relative path ->
// file type and content (symlinks: target).
inline std::map<std::string, std::string> tree_contents(const std::string& root) {
  std::map<std::string, Entry> scan;
  scan_tree(root, "", scan);
  std::map<std::string, std::string> out;
  for (const auto& [rel, e] : scan) out[rel] = std::to_string(e.st.st_mode & S_IFMT) + ":" + e.content;
  return out;
}

// Differences between two trees, one line each ("" if identical). Atimes
// and ctimes are not compared; directory times are.
inline std::vector<std::string> compare_trees(const std::string& expected_root, const std::string& actual_root) {
  std::map<std::string, Entry> a, b;
  scan_tree(expected_root, "", a);
  scan_tree(actual_root, "", b);
  std::vector<std::string> diffs;
  auto ns = [](const struct timespec& t) { return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
  for (const auto& [rel, x] : a) {
    auto it = b.find(rel);
    if (it == b.end()) {
      diffs.push_back("missing: " + rel);
      continue;
    }
    const Entry& y = it->second;
    if ((x.st.st_mode & S_IFMT) != (y.st.st_mode & S_IFMT)) {
      diffs.push_back("type differs: " + rel);
      continue;
    }
    if (!S_ISLNK(x.st.st_mode) && (x.st.st_mode & 07777) != (y.st.st_mode & 07777))
      diffs.push_back("mode differs: " + rel);
    if (x.content != y.content) diffs.push_back("content differs: " + rel);
    if (ns(x.st.st_mtim) != ns(y.st.st_mtim))
      diffs.push_back("mtime differs: " + rel + " (" + std::to_string(ns(x.st.st_mtim)) + " vs " +
                      std::to_string(ns(y.st.st_mtim)) + ")");
  }
  for (const auto& [rel, y] : b)
    if (!a.count(rel)) diffs.push_back("unexpected: " + rel);
  // Hard links: entries sharing an inode on one side share one on the other.
  for (const auto& [r1, x1] : a)
    for (const auto& [r2, x2] : a)
      if (r1 < r2 && S_ISREG(x1.st.st_mode) && x1.st.st_ino == x2.st.st_ino && b.count(r1) && b.count(r2) &&
          b[r1].st.st_ino != b[r2].st.st_ino)
        diffs.push_back("hard link lost: " + r1 + " / " + r2);
  return diffs;
}

}  // namespace lifeboat::testing
