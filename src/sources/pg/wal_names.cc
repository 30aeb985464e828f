#include "sources/pg/wal_names.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/posix_error.h"

namespace lifeboat::sources::pg {

namespace {

std::optional<uint32_t> hex32(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
    else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
    else return std::nullopt;  // PostgreSQL writes upper case only
  }
  return v;
}

}  // namespace

std::optional<WalName> parse_wal_name(std::string_view name) {
  WalName n;
  if (name.size() == 16 && name.substr(8) == ".history") {
    auto t = hex32(name.substr(0, 8));
    if (!t) return std::nullopt;
    n.kind = WalKind::kHistory;
    n.timeline = *t;
    return n;
  }
  if (name.size() < 24) return std::nullopt;
  auto t = hex32(name.substr(0, 8)), l = hex32(name.substr(8, 8)), s = hex32(name.substr(16, 8));
  if (!t || !l || !s) return std::nullopt;
  n.timeline = *t;
  n.log = *l;
  n.seg = *s;
  auto rest = name.substr(24);
  if (rest.empty()) n.kind = WalKind::kSegment;
  else if (rest == ".partial") n.kind = WalKind::kPartial;
  else if (rest.size() == 16 && rest.substr(0, 1) == "." && hex32(rest.substr(1, 8)) && rest.substr(9) == ".backup")
    n.kind = WalKind::kBackup;
  else return std::nullopt;
  return n;
}

uint64_t segno_of(const WalName& n, uint64_t seg_size) {
  return uint64_t{n.log} * segments_per_log(seg_size) + n.seg;
}

std::string segment_name(uint32_t timeline, uint64_t segno, uint64_t seg_size) {
  uint64_t per = segments_per_log(seg_size);
  return fmt::format("{:08X}{:08X}{:08X}", timeline, static_cast<uint32_t>(segno / per),
                     static_cast<uint32_t>(segno % per));
}

uint64_t segno_for_lsn(uint64_t lsn, uint64_t seg_size) { return lsn / seg_size; }

std::optional<uint64_t> parse_lsn(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size() || slash > 8 ||
      text.size() - slash - 1 > 8)
    return std::nullopt;
  uint64_t hi = 0, lo = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == slash) continue;
    char c = text[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    uint64_t& v = i < slash ? hi : lo;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return hi << 32 | lo;
}

std::string format_lsn(uint64_t lsn) {
  return fmt::format("{:X}/{:X}", static_cast<uint32_t>(lsn >> 32), static_cast<uint32_t>(lsn));
}

Result<SegmentHeader> read_segment_header(ByteSpan p) {
  // XLogPageHeaderData: xlp_magic u16, xlp_info u16, xlp_tli u32,
  // xlp_pageaddr u64, xlp_rem_len u32 (+4 padding); then xlp_sysid u64,
  // xlp_seg_size u32, xlp_xlog_blcksz u32. XLP_LONG_HEADER = 0x0002.
  if (p.size() < 40) return Status(ErrorCode::kCorrupt, "too short for a WAL segment");
  auto u16 = [&](size_t o) { return static_cast<uint16_t>(p[o] | p[o + 1] << 8); };
  auto u32 = [&](size_t o) { return uint32_t{p[o]} | uint32_t{p[o + 1]} << 8 | uint32_t{p[o + 2]} << 16 | uint32_t{p[o + 3]} << 24; };
  auto u64 = [&](size_t o) { return uint64_t{u32(o)} | uint64_t{u32(o + 4)} << 32; };
  uint16_t magic = u16(0), info = u16(2);
  if (magic < 0xD000 || magic > 0xDFFF || !(info & 0x0002))
    return Status(ErrorCode::kCorrupt, "not a WAL segment (no long page header)");
  SegmentHeader h;
  h.timeline = u32(4);
  h.page_addr = u64(8);
  h.system_id = u64(24);
  h.seg_size = u32(32);
  uint32_t blcksz = u32(36);
  if (h.seg_size < (1u << 20) || (h.seg_size & (h.seg_size - 1)) || blcksz < 1024 || (blcksz & (blcksz - 1)))
    return Status(ErrorCode::kCorrupt, "not a WAL segment (implausible segment or block size)");
  return h;
}

Result<uint64_t> read_control_system_id(const std::string& pgdata) {
  std::string path = pgdata + "/global/pg_control";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return posix_error(errno, "unable to read " + path);
  uint8_t b[8];
  ssize_t n = ::pread(fd, b, sizeof b, 0);
  ::close(fd);
  if (n != 8) return Status(ErrorCode::kCorrupt, path + " is too short");
  uint64_t id = 0;
  for (int i = 7; i >= 0; --i) id = id << 8 | b[i];
  return id;
}

}  // namespace lifeboat::sources::pg
