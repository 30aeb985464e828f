// CopyToCsv: turns the SQL that pg_restore writes for one table's data
// (pg_restore -a -f -, a "COPY t (a, b) FROM stdin;" block in COPY's text
// format) into CSV exactly as `COPY t TO STDOUT WITH (FORMAT csv)` writes
// it: NULL as nothing, the empty string as "", a field quoted when it holds
// a comma, a quote, CR or LF, quotes doubled, LF at the end of each row.
// Streaming: memory is one line of the input.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::sources::pg {

class CopyToCsv {
 public:
  using Sink = std::function<Status(std::string_view)>;

  // `header`: a first line with the column names (as COPY's HEADER option).
  CopyToCsv(Sink sink, bool header) : sink_(std::move(sink)), header_(header) {}

  // Feeds the next piece of pg_restore's output.
  Status feed(std::string_view data);
  // After the last piece: kCorrupt when no complete COPY block was seen.
  Status finish();

  uint64_t rows() const { return rows_; }
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  Status line(std::string_view line);
  Status row(std::string_view line);

  Sink sink_;
  bool header_;
  enum class State { kBefore, kInCopy, kAfter } state_ = State::kBefore;
  std::string pending_;  // an incomplete line
  std::string out_;      // CSV waiting to go to the sink
  std::vector<std::string> columns_;
  uint64_t rows_ = 0;
};

// COPY text format field -> its value (backslash escapes undone); false for
// the NULL marker \N.
bool unescape_copy_text(std::string_view field, std::string& value);
// Appends `value` as one CSV field (quoted when needed; `single_column`
// quotes a lone "\." too, as PostgreSQL does).
void append_csv_field(std::string& out, std::string_view value, bool single_column);
// "public.t (a, \"B c\")" -> {"a", "B c"}.
std::vector<std::string> parse_copy_columns(std::string_view copy_line);

}  // namespace lifeboat::sources::pg
