// Helpers shared by the unit tests: temporary directories, seeded random
// data (a failing random test prints its seed) and small byte utilities.
#pragma once

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat {
// gtest prints error codes by name.
inline void PrintTo(ErrorCode code, std::ostream* os) { *os << error_code_name(code); }
}  // namespace lifeboat

namespace lifeboat::testing {

// Environment variables for one test, restored afterwards.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (auto [k, v] : vars) {
      const char* old = std::getenv(k);
      saved_.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
      if (v) ::setenv(k, v, 1);
      else ::unsetenv(k);
    }
  }
  ~ScopedEnv() {
    for (auto& [k, v] : saved_) {
      if (v) ::setenv(k.c_str(), v->c_str(), 1);
      else ::unsetenv(k.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// SplitMix64: a tiny, well-known generator whose outputs are easy to
// reproduce in any language (golden vectors depend on it).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

// `n` bytes: the little-endian bytes of consecutive SplitMix64 outputs.
inline Bytes splitmix_bytes(uint64_t seed, size_t n) {
  SplitMix64 rng(seed);
  Bytes out(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng.next();
    for (size_t k = 0; k < 8 && i + k < n; ++k) out[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
  return out;
}

// The seed for a randomised test: LIFEBOAT_TEST_SEED if set (to replay a
// failure), otherwise a fresh one. Callers put it in a SCOPED_TRACE so a
// failure prints it.
inline uint64_t test_seed() {
  if (const char* s = std::getenv("LIFEBOAT_TEST_SEED")) return std::strtoull(s, nullptr, 0);
  return (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
}

inline std::string seed_trace(uint64_t seed) {
  return "random seed " + std::to_string(seed) + " (replay with LIFEBOAT_TEST_SEED=" + std::to_string(seed) + ")";
}

// Removes `path` and everything below it (does not follow symlinks).
inline void remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    ::chmod(path.c_str(), 0700);  // a test may have made it unreadable
    if (DIR* d = ::opendir(path.c_str())) {
      std::vector<std::string> names;
      while (struct dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      ::closedir(d);
      for (const auto& n : names) remove_tree(path + "/" + n);
    }
    ::rmdir(path.c_str());
  } else {
    ::unlink(path.c_str());
  }
}

// A directory under /tmp made with mkdtemp, removed with its contents when
// the object goes away.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/lifeboat-unit-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    path_ = tmpl;
  }
  ~TempDir() { remove_tree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

inline void write_file(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Names in a directory (not recursive), sorted, without "." and "..".
inline std::vector<std::string> dir_entries(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(path.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace lifeboat::testing
