// Counting the rows of a mariadb-dump / mysqldump SQL stream as it passes:
// per database (USE `db`;) and table (CREATE TABLE `t`, INSERT INTO `t`
// VALUES (...),(...);). The counts are those of the dump itself, so they
// are exactly what a restore of it loads, whatever the live server did
// during or after the dump.
//
// The scanner follows the dump tool's output, not SQL at large: statements
// end at ';' outside quotes ('...' and "..." with backslash escapes,
// `...`), "--" lines between statements are comments, and everything
// between "DELIMITER ;;" and "DELIMITER ;" (routines, triggers, events) is
// skipped, so an INSERT in a procedure body is not counted.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "util/bytes.h"

namespace lifeboat::sources::mysql {

struct DumpStats {
  // database -> table -> rows; tables without rows are present with 0.
  std::map<std::string, std::map<std::string, uint64_t>> tables;
  std::string dump_header;     // "MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)"
  std::string server_version;  // "10.11.19-MariaDB-0+deb12u1"
  bool completed = false;      // the "-- Dump completed" trailer was seen
  uint64_t bytes = 0;
  uint64_t total_rows() const {
    uint64_t n = 0;
    for (const auto& [db, t] : tables)
      for (const auto& [name, rows] : t) n += rows;
    return n;
  }
};

class SqlDumpScanner {
 public:
  void feed(ByteSpan data);
  // Ends the stream (a statement without its ';' is dropped).
  const DumpStats& finish();
  const DumpStats& stats() const { return stats_; }

 private:
  void on_char(char c);
  void end_statement();
  void end_line();
  void classify();

  DumpStats stats_;
  std::string db_;
  // Line state (between statements).
  bool line_start_ = true;
  std::string line_;           // the current line while it may be a comment or DELIMITER
  bool in_line_comment_ = false;
  bool in_delimiter_block_ = false;
  // Statement state.
  bool in_statement_ = false;
  std::string head_;           // the statement's first bytes
  char quote_ = 0;             // ', " or ` while inside one
  bool escape_ = false;
  int depth_ = 0;
  enum class Kind { kUnknown, kInsert, kOther } kind_ = Kind::kUnknown;
  std::string insert_table_;
  bool values_seen_ = false;
  std::string window_;         // the last letters outside quotes at depth 0 (for VALUES)
  uint64_t rows_ = 0;
};

}  // namespace lifeboat::sources::mysql
