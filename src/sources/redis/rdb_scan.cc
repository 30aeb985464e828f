// The RDB grammar followed here is Redis's rdb.c/rdb.h (RDB versions 1-11):
//
//   rdb    := "REDIS" version[4 digits] item* 0xFF checksum[8, version >= 5]
//   item   := 0xFA string string          AUX field
//           | 0xFE length                 SELECTDB
//           | 0xFB length length          RESIZEDB (hints)
//           | 0xFD u32 | 0xFC u64         expiry of the next key (s / ms)
//           | 0xF9 u8 | 0xF8 length       LFU frequency / LRU idle of the next key
//           | 0xF7 length length length module-ops   module AUX data
//           | 0xF5 string                 a function library
//           | 0xF4 length length length   cluster slot info
//           | type string value           a key
//   length := 00xxxxxx | 01xxxxxx byte | 0x80 u32be | 0x81 u64be
//   string := length bytes | 11000000 i8 | 11000001 i16 | 11000010 i32
//           | 11000011 length(compressed) length(raw) bytes(compressed)
#include "sources/redis/rdb_scan.h"

#include <cstring>

#include <fmt/format.h>

namespace lifeboat::sources::redis {

namespace {

constexpr uint8_t kOpSlotInfo = 244;
constexpr uint8_t kOpFunction2 = 245;
constexpr uint8_t kOpFunctionPreGa = 246;
constexpr uint8_t kOpModuleAux = 247;
constexpr uint8_t kOpIdle = 248;
constexpr uint8_t kOpFreq = 249;
constexpr uint8_t kOpAux = 250;
constexpr uint8_t kOpResizeDb = 251;
constexpr uint8_t kOpExpireMs = 252;
constexpr uint8_t kOpExpire = 253;
constexpr uint8_t kOpSelectDb = 254;
constexpr uint8_t kOpEof = 255;

class Reader {
 public:
  explicit Reader(const RdbReadFn& read) : read_(read), buf_(256 << 10) {}

  uint64_t offset() const { return consumed_ + pos_; }
  size_t buffered() const { return end_ - pos_; }

  Status corrupt(std::string_view what) const {
    return Status(ErrorCode::kCorrupt, fmt::format("the RDB is damaged at byte {}: {}", offset(), what));
  }

  // Refills the buffer; false at the end of the stream.
  Result<bool> fill() {
    if (pos_ < end_) return true;
    consumed_ += end_;
    pos_ = end_ = 0;
    LB_ASSIGN_OR_RETURN(size_t n, read_(buf_.data(), buf_.size()));
    end_ = n;
    return n > 0;
  }

  Result<uint8_t> u8() {
    LB_ASSIGN_OR_RETURN(bool more, fill());
    if (!more) return corrupt("it ends early (truncated)");
    return buf_[pos_++];
  }

  Status bytes(uint8_t* out, size_t n) {
    while (n > 0) {
      LB_ASSIGN_OR_RETURN(bool more, fill());
      if (!more) return corrupt("it ends early (truncated)");
      size_t k = std::min(n, end_ - pos_);
      std::memcpy(out, buf_.data() + pos_, k);
      pos_ += k;
      out += k;
      n -= k;
    }
    return Status::ok();
  }

  Status skip(uint64_t n) {
    while (n > 0) {
      LB_ASSIGN_OR_RETURN(bool more, fill());
      if (!more) return corrupt("it ends early (truncated)");
      size_t k = static_cast<size_t>(std::min<uint64_t>(n, end_ - pos_));
      pos_ += k;
      n -= k;
    }
    return Status::ok();
  }

  // A length; `encoded` tells a special string encoding (11xxxxxx).
  Result<uint64_t> length(bool* encoded = nullptr) {
    if (encoded) *encoded = false;
    LB_ASSIGN_OR_RETURN(uint8_t b, u8());
    switch (b >> 6) {
      case 0: return uint64_t{b & 0x3Fu};
      case 1: {
        LB_ASSIGN_OR_RETURN(uint8_t b2, u8());
        return (uint64_t{b & 0x3Fu} << 8) | b2;
      }
      case 3:
        if (!encoded) return corrupt("an encoded value where a length belongs");
        *encoded = true;
        return uint64_t{b & 0x3Fu};
      default: break;
    }
    uint8_t raw[8];
    size_t n = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
    if (n == 0) return corrupt(fmt::format("unknown length prefix 0x{:02x}", b));
    LB_RETURN_IF_ERROR(bytes(raw, n));
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | raw[i];
    return v;
  }

  Status skip_string() {
    bool enc = false;
    LB_ASSIGN_OR_RETURN(uint64_t len, length(&enc));
    if (!enc) return skip(len);
    switch (len) {
      case 0: return skip(1);
      case 1: return skip(2);
      case 2: return skip(4);
      case 3: {
        LB_ASSIGN_OR_RETURN(uint64_t clen, length());
        LB_RETURN_IF_ERROR(length().status());
        return skip(clen);
      }
      default: return corrupt(fmt::format("unknown string encoding {}", len));
    }
  }

  // A string kept when it is short (AUX values); longer or compressed ones
  // are skipped and returned as "".
  Result<std::string> small_string(size_t max) {
    bool enc = false;
    LB_ASSIGN_OR_RETURN(uint64_t len, length(&enc));
    if (enc) {
      if (len <= 2) {
        uint8_t raw[4] = {0, 0, 0, 0};
        size_t n = len == 0 ? 1 : len == 1 ? 2 : 4;
        LB_RETURN_IF_ERROR(bytes(raw, n));
        int64_t v = n == 1 ? static_cast<int8_t>(raw[0])
                    : n == 2 ? static_cast<int16_t>(raw[0] | (raw[1] << 8))
                             : static_cast<int32_t>(raw[0] | (raw[1] << 8) | (raw[2] << 16) |
                                                    (static_cast<uint32_t>(raw[3]) << 24));
        return std::to_string(v);
      }
      if (len == 3) {
        LB_ASSIGN_OR_RETURN(uint64_t clen, length());
        LB_RETURN_IF_ERROR(length().status());
        LB_RETURN_IF_ERROR(skip(clen));
        return std::string();
      }
      return corrupt(fmt::format("unknown string encoding {}", len));
    }
    if (len > max) {
      LB_RETURN_IF_ERROR(skip(len));
      return std::string();
    }
    std::string s(len, '\0');
    LB_RETURN_IF_ERROR(bytes(reinterpret_cast<uint8_t*>(s.data()), len));
    return s;
  }

 private:
  const RdbReadFn& read_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;
  size_t end_ = 0;
  uint64_t consumed_ = 0;
};

// Module values saved with RedisModule_Save* are self-describing: each
// field has an opcode (moduleTypeSerializer, RDB_MODULE_OPCODE_*).
Status skip_module_fields(Reader& r) {
  for (;;) {
    LB_ASSIGN_OR_RETURN(uint64_t op, r.length());
    switch (op) {
      case 0: return Status::ok();  // EOF
      case 1:                       // signed int
      case 2: LB_RETURN_IF_ERROR(r.length().status()); break;  // unsigned int
      case 3: LB_RETURN_IF_ERROR(r.skip(4)); break;            // float
      case 4: LB_RETURN_IF_ERROR(r.skip(8)); break;            // double
      case 5: LB_RETURN_IF_ERROR(r.skip_string()); break;      // string
      default: return r.corrupt(fmt::format("unknown module field opcode {}", op));
    }
  }
}

Status skip_strings(Reader& r, uint64_t per_item) {
  LB_ASSIGN_OR_RETURN(uint64_t n, r.length());
  for (uint64_t i = 0; i < n * per_item; ++i) LB_RETURN_IF_ERROR(r.skip_string());
  return Status::ok();
}

Status skip_stream(Reader& r, uint8_t type) {
  LB_ASSIGN_OR_RETURN(uint64_t listpacks, r.length());
  for (uint64_t i = 0; i < listpacks; ++i) {
    LB_RETURN_IF_ERROR(r.skip_string());  // master id
    LB_RETURN_IF_ERROR(r.skip_string());  // listpack
  }
  int lengths = type >= 19 ? 3 + 5 : 3;  // items, last id; v2: first id, max deleted id, entries added
  for (int i = 0; i < lengths; ++i) LB_RETURN_IF_ERROR(r.length().status());
  LB_ASSIGN_OR_RETURN(uint64_t groups, r.length());
  for (uint64_t g = 0; g < groups; ++g) {
    LB_RETURN_IF_ERROR(r.skip_string());  // name
    LB_RETURN_IF_ERROR(r.length().status());
    LB_RETURN_IF_ERROR(r.length().status());  // last id
    if (type >= 19) LB_RETURN_IF_ERROR(r.length().status());  // entries read
    LB_ASSIGN_OR_RETURN(uint64_t pel, r.length());
    for (uint64_t p = 0; p < pel; ++p) {
      LB_RETURN_IF_ERROR(r.skip(16 + 8));  // id, delivery time
      LB_RETURN_IF_ERROR(r.length().status());  // delivery count
    }
    LB_ASSIGN_OR_RETURN(uint64_t consumers, r.length());
    for (uint64_t c = 0; c < consumers; ++c) {
      LB_RETURN_IF_ERROR(r.skip_string());  // name
      LB_RETURN_IF_ERROR(r.skip(type >= 21 ? 16 : 8));  // seen time (v3: and active time)
      LB_ASSIGN_OR_RETURN(uint64_t cpel, r.length());
      LB_RETURN_IF_ERROR(r.skip(cpel * 16));
    }
  }
  return Status::ok();
}

Status skip_value(Reader& r, uint8_t type) {
  switch (type) {
    case 0:  // string
      return r.skip_string();
    case 1:   // list (linked)
    case 2:   // set
    case 14:  // quicklist of ziplists
      return skip_strings(r, 1);
    case 4:  // hash
      return skip_strings(r, 2);
    case 3: {  // sorted set, doubles as text
      LB_ASSIGN_OR_RETURN(uint64_t n, r.length());
      for (uint64_t i = 0; i < n; ++i) {
        LB_RETURN_IF_ERROR(r.skip_string());
        LB_ASSIGN_OR_RETURN(uint8_t len, r.u8());
        if (len < 253) LB_RETURN_IF_ERROR(r.skip(len));
      }
      return Status::ok();
    }
    case 5: {  // sorted set, binary doubles
      LB_ASSIGN_OR_RETURN(uint64_t n, r.length());
      for (uint64_t i = 0; i < n; ++i) {
        LB_RETURN_IF_ERROR(r.skip_string());
        LB_RETURN_IF_ERROR(r.skip(8));
      }
      return Status::ok();
    }
    case 7:  // module value
      LB_RETURN_IF_ERROR(r.length().status());  // module id
      return skip_module_fields(r);
    case 9:   // hash zipmap
    case 10:  // list ziplist
    case 11:  // set intset
    case 12:  // zset ziplist
    case 13:  // hash ziplist
    case 16:  // hash listpack
    case 17:  // zset listpack
    case 20:  // set listpack
      return r.skip_string();
    case 18: {  // quicklist of listpacks
      LB_ASSIGN_OR_RETURN(uint64_t n, r.length());
      for (uint64_t i = 0; i < n; ++i) {
        LB_RETURN_IF_ERROR(r.length().status());  // container kind
        LB_RETURN_IF_ERROR(r.skip_string());
      }
      return Status::ok();
    }
    case 15:
    case 19:
    case 21:
      return skip_stream(r, type);
    case 6:
      return Status(ErrorCode::kUnsupported, "the RDB holds a value of a pre-release module type, which cannot be "
                                             "skipped without the module");
    default:
      return Status(ErrorCode::kUnsupported,
                    fmt::format("the RDB holds a value of type {}, which this version of lifeboat does not know "
                                "(written by a newer Redis?)",
                                type));
  }
}

}  // namespace

Result<RdbSummary> scan_rdb(const RdbReadFn& read) {
  Reader r(read);
  RdbSummary s;
  uint8_t magic[9];
  {
    Status st = r.bytes(magic, 9);
    if (!st.is_ok() || std::memcmp(magic, "REDIS", 5) != 0)
      return Status(ErrorCode::kCorrupt, "the data is not an RDB file (no REDIS header)");
  }
  for (int i = 5; i < 9; ++i) {
    if (magic[i] < '0' || magic[i] > '9') return Status(ErrorCode::kCorrupt, "the RDB header has no version");
    s.version = s.version * 10 + (magic[i] - '0');
  }
  int db = 0;
  bool expiry = false;
  for (;;) {
    LB_ASSIGN_OR_RETURN(uint8_t op, r.u8());
    switch (op) {
      case kOpExpire:
        LB_RETURN_IF_ERROR(r.skip(4));
        expiry = true;
        continue;
      case kOpExpireMs:
        LB_RETURN_IF_ERROR(r.skip(8));
        expiry = true;
        continue;
      case kOpFreq:
        LB_RETURN_IF_ERROR(r.skip(1));
        continue;
      case kOpIdle:
        LB_RETURN_IF_ERROR(r.length().status());
        continue;
      case kOpAux: {
        LB_ASSIGN_OR_RETURN(std::string key, r.small_string(256));
        LB_ASSIGN_OR_RETURN(std::string value, r.small_string(4096));
        if (!key.empty()) s.aux[key] = value;
        continue;
      }
      case kOpResizeDb:
        LB_RETURN_IF_ERROR(r.length().status());
        LB_RETURN_IF_ERROR(r.length().status());
        continue;
      case kOpSelectDb: {
        LB_ASSIGN_OR_RETURN(uint64_t n, r.length());
        if (n > (1u << 24)) return r.corrupt("database number out of range");
        db = static_cast<int>(n);
        continue;
      }
      case kOpModuleAux:
        LB_RETURN_IF_ERROR(r.length().status());  // module id
        LB_RETURN_IF_ERROR(r.length().status());  // when opcode
        LB_RETURN_IF_ERROR(r.length().status());  // when
        LB_RETURN_IF_ERROR(skip_module_fields(r));
        continue;
      case kOpFunction2:
        LB_RETURN_IF_ERROR(r.skip_string());
        s.functions++;
        continue;
      case kOpFunctionPreGa:
        return Status(ErrorCode::kUnsupported, "the RDB holds functions in a Redis 7.0 release-candidate format");
      case kOpSlotInfo:
        for (int i = 0; i < 3; ++i) LB_RETURN_IF_ERROR(r.length().status());
        continue;
      case kOpEof: {
        if (s.version >= 5) LB_RETURN_IF_ERROR(r.skip(8));  // CRC64
        s.bytes = r.offset();
        // Nothing may follow.
        uint8_t extra[4096];
        uint64_t trailing = r.buffered();
        for (;;) {
          LB_ASSIGN_OR_RETURN(size_t n, read(extra, sizeof extra));
          if (n == 0) break;
          trailing += n;
        }
        if (trailing)
          return Status(ErrorCode::kCorrupt, fmt::format("the RDB has {} bytes after its end mark", trailing));
        return s;
      }
      default:
        LB_RETURN_IF_ERROR(r.skip_string());  // the key
        LB_RETURN_IF_ERROR(skip_value(r, op));
        auto& d = s.dbs[db];
        d.keys++;
        if (expiry) d.expires++;
        expiry = false;
        continue;
    }
  }
}

// ---------------------------------------------------------------- thread

namespace {
constexpr size_t kMaxQueued = 8 << 20;
}

RdbScanThread::RdbScanThread() {
  thread_ = std::thread([this] {
    auto r = scan_rdb([this](uint8_t* buf, size_t n) { return pull(buf, n); });
    std::lock_guard lock(mu_);
    result_ = std::move(r);
    stopped_ = true;
    queue_.clear();
    queued_ = 0;
    front_off_ = 0;
    cv_.notify_all();
  });
}

RdbScanThread::~RdbScanThread() {
  if (!finished_) (void)finish().status();
}

void RdbScanThread::feed(ByteSpan data) {
  if (data.empty()) return;
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stopped_ || queued_ < kMaxQueued; });
  if (stopped_) return;  // the scanner ended early (its result says why)
  queue_.emplace_back(reinterpret_cast<const char*>(data.data()), data.size());
  queued_ += data.size();
  cv_.notify_all();
}

Result<size_t> RdbScanThread::pull(uint8_t* buf, size_t n) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return ended_ || !queue_.empty(); });
  if (queue_.empty()) return size_t{0};
  auto& front = queue_.front();
  size_t k = std::min(n, front.size() - front_off_);
  std::memcpy(buf, front.data() + front_off_, k);
  front_off_ += k;
  if (front_off_ == front.size()) {
    queued_ -= front.size();
    queue_.pop_front();
    front_off_ = 0;
    cv_.notify_all();
  }
  return k;
}

Result<RdbSummary> RdbScanThread::finish() {
  if (!finished_) {
    {
      std::lock_guard lock(mu_);
      ended_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    finished_ = true;
  }
  return result_;
}

}  // namespace lifeboat::sources::redis
