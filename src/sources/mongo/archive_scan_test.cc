#include "sources/mongo/archive_scan.h"

#include <gtest/gtest.h>

#include "sources/mongo/mongo_tools.h"

namespace lifeboat::sources::mongo {
namespace {

// A minimal BSON writer: strings, bools, int32/int64 and an embedded
// document, enough for archive headers and sample documents.
class Bson {
 public:
  Bson& str(const std::string& k, const std::string& v) {
    key(0x02, k);
    i32(static_cast<int32_t>(v.size() + 1));
    body_ += v;
    body_.push_back('\0');
    return *this;
  }
  Bson& boolean(const std::string& k, bool v) {
    key(0x08, k);
    body_.push_back(v ? 1 : 0);
    return *this;
  }
  Bson& int64(const std::string& k, int64_t v) {
    key(0x12, k);
    for (int i = 0; i < 8; ++i) body_.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF));
    return *this;
  }
  Bson& doc(const std::string& k, const Bson& d) {
    key(0x03, k);
    body_ += d.bytes();
    return *this;
  }
  std::string bytes() const {
    std::string out;
    int32_t n = static_cast<int32_t>(body_.size() + 5);
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    return out + body_ + std::string(1, '\0');
  }

 private:
  void key(char type, const std::string& k) {
    body_.push_back(type);
    body_ += k;
    body_.push_back('\0');
  }
  void i32(int32_t v) {
    for (int i = 0; i < 4; ++i) body_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string body_;
};

const std::string kTerm = "\xff\xff\xff\xff";

std::string ns(const std::string& db, const std::string& c, bool eof) {
  return Bson().str("db", db).str("collection", c).boolean("EOF", eof).int64("CRC", 0).bytes();
}

std::string sample() {
  std::string a = "\x6d\xe2\x99\x81";
  a += Bson().str("concurrent_collections", "x").str("version", "0.1").str("server_version", "7.0.5")
           .str("tool_version", "100.9.4").bytes();
  a += Bson().str("db", "shop").str("collection", "orders").str("metadata", "{}").bytes();
  a += Bson().str("db", "shop").str("collection", "empty").str("metadata", "{}").bytes();
  a += kTerm;
  Bson d1, d2;
  d1.str("_id", "1").doc("nested", Bson().str("x", "y"));
  d2.str("_id", "2");
  a += ns("shop", "orders", false) + d1.bytes() + d2.bytes() + kTerm;  // interleaved segments
  a += ns("app", "users", false) + d1.bytes() + kTerm;
  a += ns("shop", "orders", false) + d2.bytes() + kTerm;
  a += ns("shop", "orders", true) + kTerm;
  a += ns("app", "users", true) + kTerm;
  a += ns("shop", "empty", true) + kTerm;
  return a;
}

void feed(ArchiveScanner& s, const std::string& data, size_t piece) {
  for (size_t i = 0; i < data.size(); i += piece) {
    size_t k = std::min(piece, data.size() - i);
    s.feed(ByteSpan(reinterpret_cast<const uint8_t*>(data.data() + i), k));
  }
}

TEST(ArchiveScanner, CountsDocumentsPerCollection) {
  for (size_t piece : {size_t{1}, size_t{5}, size_t{4096}}) {
    ArchiveScanner s;
    feed(s, sample(), piece);
    auto stats = s.finish();
    ASSERT_TRUE(stats.is_ok()) << stats.status().to_string();
    EXPECT_EQ(stats->server_version, "7.0.5");
    EXPECT_EQ(stats->tool_version, "100.9.4");
    EXPECT_EQ(stats->collections.at("shop").at("orders"), 3u);
    EXPECT_EQ(stats->collections.at("shop").at("empty"), 0u);
    EXPECT_EQ(stats->collections.at("app").at("users"), 1u);
    EXPECT_EQ(stats->total_documents(), 4u);
    EXPECT_TRUE(stats->complete);
  }
}

TEST(ArchiveScanner, TruncatedOrForeignDataIsCorrupt) {
  std::string a = sample();
  for (size_t cut : {size_t{3}, size_t{30}, a.size() / 2, a.size() - 2}) {
    ArchiveScanner s;
    feed(s, a.substr(0, cut), 64);
    EXPECT_EQ(s.finish().status().code(), ErrorCode::kCorrupt) << cut;
  }
  ArchiveScanner s;
  feed(s, "-- MariaDB dump\n", 64);
  EXPECT_EQ(s.finish().status().code(), ErrorCode::kCorrupt);
}

TEST(MongoTools, RedactsThePassword) {
  EXPECT_EQ(redact_uri("mongodb://backup:s3cret@db1:27017/?authSource=admin"),
            "mongodb://backup@db1:27017/?authSource=admin");
  EXPECT_EQ(redact_uri("mongodb+srv://u:p@cluster.example.net"), "mongodb+srv://u@cluster.example.net");
  EXPECT_EQ(redact_uri("mongodb://db1:27017"), "mongodb://db1:27017");
}

}  // namespace
}  // namespace lifeboat::sources::mongo
