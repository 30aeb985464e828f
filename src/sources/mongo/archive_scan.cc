#include "sources/mongo/archive_scan.h"

#include <cstring>

#include <fmt/format.h>

namespace lifeboat::sources::mongo {

namespace {

constexpr uint8_t kMagic[4] = {0x6d, 0xe2, 0x99, 0x81};
constexpr int32_t kMaxDocument = 64 << 20;  // BSON's limit is 16 MiB; leave room

int32_t le32(const char* p) {
  uint32_t v = static_cast<uint8_t>(p[0]) | (static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 8) |
               (static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 16) |
               (static_cast<uint32_t>(static_cast<uint8_t>(p[3])) << 24);
  return static_cast<int32_t>(v);
}

// The top-level string and bool fields of a BSON document (the length
// prefix included); parsing stops at a type it cannot step over.
void read_fields(std::string_view doc, std::map<std::string, std::string>& strings,
                 std::map<std::string, bool>& bools) {
  size_t i = 4;
  while (i < doc.size()) {
    uint8_t type = static_cast<uint8_t>(doc[i++]);
    if (type == 0) return;
    size_t nul = doc.find('\0', i);
    if (nul == std::string_view::npos) return;
    std::string name(doc.substr(i, nul - i));
    i = nul + 1;
    size_t size = 0;
    switch (type) {
      case 0x02:  // string
      case 0x0D:  // JavaScript
      case 0x0E: {  // symbol
        if (i + 4 > doc.size()) return;
        int32_t len = le32(doc.data() + i);
        if (len < 1 || i + 4 + static_cast<size_t>(len) > doc.size()) return;
        if (type == 0x02) strings[name] = std::string(doc.substr(i + 4, static_cast<size_t>(len) - 1));
        size = 4 + static_cast<size_t>(len);
        break;
      }
      case 0x08:  // bool
        if (i + 1 > doc.size()) return;
        bools[name] = doc[i] != 0;
        size = 1;
        break;
      case 0x01: case 0x09: case 0x11: case 0x12: size = 8; break;  // double, datetime, timestamp, int64
      case 0x10: size = 4; break;                                     // int32
      case 0x13: size = 16; break;                                    // decimal128
      case 0x07: size = 12; break;                                    // ObjectId
      case 0x06: case 0x0A: case 0x7F: case 0xFF: size = 0; break;    // undefined, null, max/min key
      case 0x03: case 0x04: {  // document, array
        if (i + 4 > doc.size()) return;
        int32_t len = le32(doc.data() + i);
        if (len < 5) return;
        size = static_cast<size_t>(len);
        break;
      }
      case 0x05: {  // binary
        if (i + 4 > doc.size()) return;
        int32_t len = le32(doc.data() + i);
        if (len < 0) return;
        size = 5 + static_cast<size_t>(len);
        break;
      }
      default: return;
    }
    i += size;
  }
}

}  // namespace

void ArchiveScanner::feed(ByteSpan data) {
  stats_.bytes += data.size();
  size_t i = 0;
  while (i < data.size() && error_.is_ok()) {
    if (skip_ > 0) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(skip_, data.size() - i));
      skip_ -= k;
      i += k;
      continue;
    }
    size_t k = std::min(need_ - want_.size(), data.size() - i);
    want_.append(reinterpret_cast<const char*>(data.data() + i), k);
    i += k;
    if (want_.size() == need_) on_block();
  }
}

void ArchiveScanner::on_block() {
  auto corrupt = [&](std::string_view why) {
    error_ = Status(ErrorCode::kCorrupt, fmt::format("the mongodump archive is damaged: {}", why));
  };
  if (phase_ == Phase::kMagic) {
    if (std::memcmp(want_.data(), kMagic, 4) != 0) return corrupt("it does not start with the archive magic number");
    phase_ = Phase::kHeader;
    want_.clear();
    need_ = 4;
    return;
  }
  if (!in_document_) {
    // A length (or a terminator).
    int32_t len = le32(want_.data());
    if (len == -1) {
      switch (phase_) {
        case Phase::kMetadata:
        case Phase::kNsBody:
        case Phase::kEofTerminator:
          phase_ = Phase::kNsHeader;
          break;
        default:
          return corrupt("a terminator where a document belongs");
      }
      want_.clear();
      need_ = 4;
      return;
    }
    if (len < 5 || len > kMaxDocument) return corrupt(fmt::format("a document length of {}", len));
    if (phase_ == Phase::kEofTerminator) return corrupt("no terminator after the end of a collection");
    if (phase_ == Phase::kNsBody) {
      stats_.collections[db_][collection_]++;
      skip_ = static_cast<uint64_t>(len) - 4;
      want_.clear();
      need_ = 4;
      return;
    }
    in_document_ = true;
    need_ = static_cast<size_t>(len);  // want_ keeps the length, the content follows
    return;
  }
  // A whole header or metadata document.
  in_document_ = false;
  std::map<std::string, std::string> strings;
  std::map<std::string, bool> bools;
  read_fields(want_, strings, bools);
  want_.clear();
  need_ = 4;
  switch (phase_) {
    case Phase::kHeader:
      stats_.server_version = strings["server_version"];
      stats_.tool_version = strings["tool_version"];
      phase_ = Phase::kMetadata;
      return;
    case Phase::kMetadata:
      if (strings.count("db") && strings.count("collection")) {
        stats_.collections[strings["db"]][strings["collection"]];
        open_.emplace(strings["db"], strings["collection"]);
      }
      return;
    case Phase::kNsHeader:
      db_ = strings["db"];
      collection_ = strings["collection"];
      if (bools["EOF"]) {
        open_.erase({db_, collection_});
        phase_ = Phase::kEofTerminator;
      } else {
        stats_.collections[db_][collection_];
        open_.emplace(db_, collection_);
        phase_ = Phase::kNsBody;
      }
      return;
    default:
      return corrupt("an unexpected document");
  }
}

Result<ArchiveStats> ArchiveScanner::finish() {
  if (!error_.is_ok()) return error_;
  stats_.complete = phase_ == Phase::kNsHeader && !in_document_ && want_.empty() && skip_ == 0 && open_.empty();
  if (!stats_.complete) return Status(ErrorCode::kCorrupt, "the mongodump archive ends early (truncated)");
  return stats_;
}

}  // namespace lifeboat::sources::mongo
