#include "sources/fs/file_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "compress/zstd.h"
#include "crypto/keyed_hash.h"
#include "util/encoding.h"
#include "util/posix_error.h"

namespace lifeboat::sources::fs {
namespace {

constexpr std::string_view kMagic = "LBFC1\n";
constexpr std::string_view kEndMagic = "LBFCEND1";
constexpr size_t kFooterSize = 8 * 3 + 8;

bool write_all(int fd, ByteSpan data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t r = ::write(fd, data.data() + done, data.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

std::unique_ptr<FileCacheReader> FileCacheReader::open(const std::string& path) {
  auto r = std::unique_ptr<FileCacheReader>(new FileCacheReader());
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return r;
  struct stat st;
  if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < kMagic.size() + kFooterSize) {
    ::close(fd);
    return r;
  }
  // Mapped once: looking up a directory then costs no system call.
  size_t size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return r;
  r->map_ = static_cast<const uint8_t*>(map);
  r->size_ = size;
  ByteSpan file(r->map_, size);
  ByteSpan footer = file.subspan(size - kFooterSize);
  if (as_string_view(file.first(kMagic.size())) != kMagic || as_string_view(footer.subspan(24, 8)) != kEndMagic)
    return r;
  uint64_t toff = get_fixed64(footer.data()), tclen = get_fixed64(footer.data() + 8),
           traw = get_fixed64(footer.data() + 16);
  if (toff > size - kFooterSize || tclen > size - kFooterSize - toff || traw > (uint64_t{1} << 32)) return r;
  Bytes table;
  if (!compress::zstd_decompress(file.subspan(toff, tclen), static_cast<size_t>(traw), table).is_ok()) return r;
  ByteReader br(table);
  uint64_t n;
  if (!br.varint(n)) return r;
  std::unordered_map<std::string, BlockRef> map_table;
  map_table.reserve(static_cast<size_t>(std::min<uint64_t>(n, 1 << 20)));
  for (uint64_t i = 0; i < n; ++i) {
    ByteSpan dir;
    BlockRef ref;
    if (!br.length_prefixed(dir) || !br.varint(ref.offset) || !br.varint(ref.clen) || !br.varint(ref.rawlen) ||
        ref.offset > toff || ref.clen > toff - ref.offset)
      return r;
    map_table[to_string(dir)] = ref;
  }
  r->table_ = std::move(map_table);
  return r;
}

FileCacheReader::~FileCacheReader() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
}

std::vector<CachedFile> FileCacheReader::load_dir(const std::string& dir_path) const {
  std::vector<CachedFile> out;
  auto it = table_.find(dir_path);
  if (it == table_.end() || it->second.rawlen > (uint64_t{1} << 32)) return out;
  Bytes raw;
  ByteSpan compressed(map_ + it->second.offset, it->second.clen);
  if (!compress::zstd_decompress(compressed, static_cast<size_t>(it->second.rawlen), raw).is_ok()) return out;
  ByteReader br(raw);
  uint64_t n;
  if (!br.varint(n) || n > raw.size()) return out;
  out.resize(static_cast<size_t>(n));
  for (auto& f : out) {
    ByteSpan name;
    uint64_t mt, ct, nids;
    if (!br.length_prefixed(name) || !br.varint(f.size) || !br.varint(mt) || !br.varint(ct) || !br.varint(f.inode) ||
        !br.varint(nids) || nids > br.remaining() / 32)
      return {};
    f.name = to_string(name);
    f.mtime_ns = zigzag_decode(mt);
    f.ctime_ns = zigzag_decode(ct);
    f.content.resize(static_cast<size_t>(nids));
    for (auto& id : f.content) {
      ByteSpan b;
      if (!br.bytes(32, b)) return {};
      id = repo::Id::from_span(b);
    }
  }
  // Strictly increasing names: the lookup is a binary search.
  if (std::adjacent_find(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name >= b.name; }) !=
      out.end())
    return {};
  return out;
}

Result<std::unique_ptr<FileCacheWriter>> FileCacheWriter::create(const std::string& path) {
  std::string dir = path.substr(0, path.rfind('/'));
  LB_RETURN_IF_ERROR(make_dirs(dir));
  std::unique_ptr<FileCacheWriter> w(new FileCacheWriter());
  w->path_ = path;
  w->tmp_ = path + ".tmp-" + std::to_string(::getpid());
  w->fd_ = ::open(w->tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (w->fd_ < 0) return posix_error(errno, "unable to create " + w->tmp_);
  if (!write_all(w->fd_, as_bytes(kMagic))) return posix_error(errno, "unable to write " + w->tmp_);
  w->offset_ = kMagic.size();
  return w;
}

FileCacheWriter::~FileCacheWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !tmp_.empty()) ::unlink(tmp_.c_str());
}

void FileCacheWriter::add_dir(const std::string& dir_path, const std::vector<CachedFile>& files) {
  if (files.empty()) return;
  Bytes raw;
  put_varint(raw, files.size());
  for (const auto& f : files) {
    put_varint(raw, f.name.size());
    append(raw, f.name);
    put_varint(raw, f.size);
    put_varint(raw, zigzag_encode(f.mtime_ns));
    put_varint(raw, zigzag_encode(f.ctime_ns));
    put_varint(raw, f.inode);
    put_varint(raw, f.content.size());
    for (const auto& id : f.content) append(raw, id.span());
  }
  Bytes compressed;
  compress::zstd_compress(raw, 1, compressed);
  std::lock_guard lock(mu_);
  if (failed_) return;
  table_.push_back({dir_path, offset_, compressed.size(), raw.size()});
  offset_ += compressed.size();
  append(pending_, compressed);
  if (pending_.size() >= (1 << 20)) {
    failed_ = !write_all(fd_, pending_);
    pending_.clear();
  }
}

Status FileCacheWriter::commit() {
  std::lock_guard lock(mu_);
  if (failed_) return Status(ErrorCode::kIo, "unable to write the files cache " + tmp_);
  Bytes raw;
  put_varint(raw, table_.size());
  for (const auto& e : table_) {
    put_varint(raw, e.dir.size());
    append(raw, e.dir);
    put_varint(raw, e.offset);
    put_varint(raw, e.clen);
    put_varint(raw, e.rawlen);
  }
  Bytes tail;
  compress::zstd_compress(raw, 1, tail);
  uint64_t clen = tail.size();
  put_fixed64(tail, offset_);
  put_fixed64(tail, clen);
  put_fixed64(tail, raw.size());
  append(tail, kEndMagic);
  append(pending_, tail);
  if (!write_all(fd_, pending_) || ::close(fd_) != 0) {
    fd_ = -1;
    return posix_error(errno, "unable to write the files cache " + tmp_);
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) return posix_error(errno, "unable to replace " + path_);
  committed_ = true;
  return Status::ok();
}

std::string file_cache_path(const std::string& cache_root, const repo::Id& repo_id, const std::string& hostname,
                            const std::vector<std::string>& paths) {
  std::vector<std::string> sorted = paths;
  std::sort(sorted.begin(), sorted.end());
  std::string key = hostname;
  for (const auto& p : sorted) {
    key.push_back('\0');
    key += p;
  }
  auto digest = crypto::sha256(as_bytes(key));
  return cache_root + "/" + repo_id.hex() + "/files/" + hex_encode(ByteSpan(digest.data(), 16));
}

}  // namespace lifeboat::sources::fs
