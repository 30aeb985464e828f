// PostgreSQL WAL file names and headers, as the archive sees them:
//   segment  TTTTTTTTXXXXXXXXYYYYYYYY          timeline, log, seg (hex)
//   history  TTTTTTTT.history
//   backup   TTTTTTTTXXXXXXXXYYYYYYYY.OOOOOOOO.backup
//   partial  TTTTTTTTXXXXXXXXYYYYYYYY.partial
// A segment's first page has a long header that names the cluster's system
// identifier and the segment size (XLogLongPageHeaderData).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::sources::pg {

enum class WalKind { kSegment, kHistory, kBackup, kPartial };

struct WalName {
  WalKind kind = WalKind::kSegment;
  uint32_t timeline = 0;
  uint64_t segno = 0;  // log * segments-per-log + seg (needs the segment size)
  uint32_t log = 0;
  uint32_t seg = 0;
};

// Parses a WAL file name; nullopt for anything else (a path, "..", junk).
std::optional<WalName> parse_wal_name(std::string_view name);

// Segment numbers: segments per "log" id = 2^32 / segment size.
inline uint64_t segments_per_log(uint64_t seg_size) { return (uint64_t{1} << 32) / seg_size; }
uint64_t segno_of(const WalName& n, uint64_t seg_size);
std::string segment_name(uint32_t timeline, uint64_t segno, uint64_t seg_size);
// The segment that holds `lsn` ("16/B374D848" text form accepted by parse_lsn).
uint64_t segno_for_lsn(uint64_t lsn, uint64_t seg_size);
std::optional<uint64_t> parse_lsn(std::string_view text);
std::string format_lsn(uint64_t lsn);

struct SegmentHeader {
  uint64_t system_id = 0;
  uint32_t timeline = 0;
  uint64_t page_addr = 0;
  uint32_t seg_size = 0;
};
// The long page header at the start of a segment; kCorrupt if the magic or
// layout is not a WAL segment's.
Result<SegmentHeader> read_segment_header(ByteSpan first_page);

// The system identifier from a data directory's global/pg_control.
Result<uint64_t> read_control_system_id(const std::string& pgdata);

}  // namespace lifeboat::sources::pg
