#include "sources/redis/rdb_scan.h"

#include <gtest/gtest.h>

#include <cstring>

namespace lifeboat::sources::redis {
namespace {

// Writes RDB bytes by the grammar in rdb_scan.cc.
class RdbWriter {
 public:
  explicit RdbWriter(int version = 10) { raw(fmt("REDIS%04d", version)); }
  RdbWriter& byte(uint8_t b) {
    out_.push_back(static_cast<char>(b));
    return *this;
  }
  RdbWriter& raw(std::string_view s) {
    out_.append(s);
    return *this;
  }
  RdbWriter& zeros(size_t n) {
    out_.append(n, '\0');
    return *this;
  }
  RdbWriter& len(uint64_t n) {
    if (n < 64) return byte(static_cast<uint8_t>(n));
    if (n < 16384) return byte(static_cast<uint8_t>(0x40 | (n >> 8))).byte(n & 0xFF);
    if (n <= 0xFFFFFFFFu) {
      byte(0x80);
      for (int i = 3; i >= 0; --i) byte((n >> (8 * i)) & 0xFF);
      return *this;
    }
    byte(0x81);
    for (int i = 7; i >= 0; --i) byte((n >> (8 * i)) & 0xFF);
    return *this;
  }
  RdbWriter& str(std::string_view s) { return len(s.size()).raw(s); }
  RdbWriter& int8_str(int8_t v) { return byte(0xC0).byte(static_cast<uint8_t>(v)); }
  RdbWriter& int32_str(int32_t v) {
    byte(0xC2);
    for (int i = 0; i < 4; ++i) byte((static_cast<uint32_t>(v) >> (8 * i)) & 0xFF);
    return *this;
  }
  RdbWriter& lzf_str(size_t clen, size_t ulen) { return byte(0xC3).len(clen).len(ulen).zeros(clen); }
  RdbWriter& aux(std::string_view k, std::string_view v) { return byte(250).str(k).str(v); }
  RdbWriter& select(int db) { return byte(254).len(static_cast<uint64_t>(db)); }
  RdbWriter& resize(uint64_t a, uint64_t b) { return byte(251).len(a).len(b); }
  RdbWriter& expire_ms() { return byte(252).zeros(8); }
  RdbWriter& eof() { return byte(255).zeros(8); }
  const std::string& bytes() const { return out_; }

 private:
  static std::string fmt(const char* f, int v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
  }
  std::string out_;
};

RdbReadFn reader(const std::string& data, size_t piece = 7) {
  auto off = std::make_shared<size_t>(0);
  return [&data, off, piece](uint8_t* buf, size_t n) -> Result<size_t> {
    size_t k = std::min({n, piece, data.size() - *off});
    std::memcpy(buf, data.data() + *off, k);
    *off += k;
    return k;
  };
}

std::string sample() {
  RdbWriter w(11);
  w.aux("redis-ver", "7.2.4").aux("redis-bits", "").byte(250).str("ctime").int32_str(1700000000);
  w.byte(250).str("aof-base").int8_str(0);
  w.byte(245).str("#!lua name=lib\nredis.register_function('f', function() return 1 end)");
  w.select(0).resize(9, 1);
  w.byte(0).str("plain").str("value");                        // string
  w.expire_ms().byte(0).str("ttl").int8_str(5);               // string with a TTL, int-encoded
  w.byte(249).byte(3).byte(0).str("lzf").lzf_str(20, 100);    // LFU freq, compressed string
  w.byte(248).len(1000).byte(18).str("list").len(2).len(2).str("lp1").len(2).str("lp2");  // quicklist 2
  w.byte(5).str("zset").len(2).str("a").zeros(8).str("b").zeros(8);  // zset, binary doubles
  w.byte(3).str("oldzset").len(3).str("a").byte(3).raw("1.5").str("b").byte(253).str("c").byte(254);
  w.byte(4).str("hash").len(2).str("f1").str("v1").str("f2").str("v2");
  w.byte(16).str("hashlp").str("listpack-bytes");
  w.byte(7).str("module").len(0x123456789ULL).len(2).len(7).len(3).zeros(4).len(4).zeros(8).len(5).str("s").len(0);
  w.select(3).resize(1, 0);
  // A stream v2 with one listpack, a group with a pending entry and a
  // consumer.
  w.byte(19).str("stream").len(1).str(std::string(16, 'i')).str("lp");
  w.len(1).len(1700000000000ULL).len(0);                      // items, last id
  w.len(1700000000000ULL).len(0).len(0).len(0).len(1);        // first id, max deleted, entries added
  w.len(1).str("grp").len(1700000000000ULL).len(0).len(1);   // group, last id, entries read
  w.len(1).zeros(16).zeros(8).len(1);                         // PEL: id, time, count
  w.len(1).str("alice").zeros(8).len(1).zeros(16);            // consumer: seen, PEL
  w.byte(247).len(77).len(2).len(1).len(5).str("aux").len(0);  // module aux
  w.eof();
  return w.bytes();
}

TEST(RdbScan, CountsKeysAndExpiresPerDatabase) {
  std::string data = sample();
  auto s = scan_rdb(reader(data));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->version, 11);
  ASSERT_EQ(s->dbs.size(), 2u);
  EXPECT_EQ(s->dbs[0].keys, 9u);
  EXPECT_EQ(s->dbs[0].expires, 1u);
  EXPECT_EQ(s->dbs[3].keys, 1u);
  EXPECT_EQ(s->dbs[3].expires, 0u);
  EXPECT_EQ(s->total_keys(), 10u);
  EXPECT_EQ(s->aux["redis-ver"], "7.2.4");
  EXPECT_EQ(s->aux["ctime"], "1700000000");
  EXPECT_EQ(s->aux["aof-base"], "0");
  EXPECT_EQ(s->functions, 1u);
  EXPECT_EQ(s->bytes, data.size());
}

TEST(RdbScan, StreamVersion3HasConsumerActiveTime) {
  RdbWriter w(12);
  w.select(0).byte(21).str("s").len(0).len(0).len(0).len(0);  // no listpacks, items 0, last id
  w.len(0).len(0).len(0).len(0).len(0);
  w.len(1).str("g").len(0).len(0).len(0).len(0);              // group without PEL
  w.len(1).str("c").zeros(8).zeros(8).len(0);                 // consumer: seen, active, PEL
  w.eof();
  auto s = scan_rdb(reader(w.bytes()));
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->dbs[0].keys, 1u);
}

TEST(RdbScan, TruncationIsCorruption) {
  std::string data = sample();
  for (size_t cut : {size_t{5}, size_t{40}, data.size() / 2, data.size() - 1}) {
    std::string part = data.substr(0, cut);
    auto s = scan_rdb(reader(part));
    ASSERT_FALSE(s.is_ok()) << cut;
    EXPECT_EQ(s.status().code(), ErrorCode::kCorrupt) << cut;
  }
}

TEST(RdbScan, TrailingBytesAndBadHeaderAreCorruption) {
  std::string data = sample() + "x";
  EXPECT_EQ(scan_rdb(reader(data)).status().code(), ErrorCode::kCorrupt);
  std::string not_rdb = "HELLO0010";
  EXPECT_EQ(scan_rdb(reader(not_rdb)).status().code(), ErrorCode::kCorrupt);
  std::string empty;
  EXPECT_EQ(scan_rdb(reader(empty)).status().code(), ErrorCode::kCorrupt);
}

TEST(RdbScan, UnknownTypeIsUnsupported) {
  RdbWriter w;
  w.select(0).byte(30).str("k").str("v").eof();
  auto s = scan_rdb(reader(w.bytes()));
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUnsupported);
  EXPECT_NE(s.status().message().find("type 30"), std::string::npos);
}

TEST(RdbScanThread, CountsWhatIsFedInPieces) {
  std::string data = sample();
  RdbScanThread scan;
  for (size_t i = 0; i < data.size(); i += 3) {
    size_t k = std::min<size_t>(3, data.size() - i);
    scan.feed(ByteSpan(reinterpret_cast<const uint8_t*>(data.data() + i), k));
  }
  auto s = scan.finish();
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ(s->total_keys(), 10u);
}

TEST(RdbScanThread, EarlyStopDoesNotBlockTheFeeder) {
  // After a parse error the scanner stops; feeding more must not wait for it.
  RdbScanThread scan;
  std::string junk(1 << 20, 'x');
  for (int i = 0; i < 40; ++i) scan.feed(ByteSpan(reinterpret_cast<const uint8_t*>(junk.data()), junk.size()));
  EXPECT_EQ(scan.finish().status().code(), ErrorCode::kCorrupt);
}

}  // namespace
}  // namespace lifeboat::sources::redis
