// Counting the documents of a mongodump --archive stream as it passes, per
// database and collection. The archive format (mongo-tools,
// "archive-format.md"):
//
//   archive   := magic[4: 6d e2 99 81] header metadata* terminator
//                (segment | eof)*
//   segment   := ns-header{db, collection, EOF: false} document+ terminator
//   eof       := ns-header{db, collection, EOF: true, CRC} terminator
//   terminator:= ff ff ff ff
//
// where every header, metadata and document is a BSON document (an int32
// little-endian length first). Documents are skipped by their length, never
// decoded; only the small header and metadata documents are read.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::sources::mongo {

struct ArchiveStats {
  // database -> collection -> documents (collections without documents, as
  // named by the metadata, are present with 0).
  std::map<std::string, std::map<std::string, uint64_t>> collections;
  std::string server_version;
  std::string tool_version;
  bool complete = false;  // ended between segments, every collection with its EOF header
  uint64_t bytes = 0;
  uint64_t total_documents() const {
    uint64_t n = 0;
    for (const auto& [db, c] : collections)
      for (const auto& [name, docs] : c) n += docs;
    return n;
  }
};

class ArchiveScanner {
 public:
  // Stops reading (and remembers why) at the first thing that is not an
  // archive; later bytes are ignored.
  void feed(ByteSpan data);
  // kCorrupt when the stream was not a complete archive.
  Result<ArchiveStats> finish();

 private:
  enum class Phase { kMagic, kHeader, kMetadata, kNsHeader, kNsBody, kEofTerminator };
  void on_block();

  ArchiveStats stats_;
  Phase phase_ = Phase::kMagic;
  std::string want_;        // bytes collected for the current block
  size_t need_ = 4;         // how many the block needs
  bool in_document_ = false;  // collecting a document's content (after its length)
  uint64_t skip_ = 0;       // document bytes to pass over
  std::string db_, collection_;
  std::set<std::pair<std::string, std::string>> open_;  // namespaces without their EOF header yet
  Status error_;
};

}  // namespace lifeboat::sources::mongo
