#include "sources/pg/dump_copy.h"

#include <fmt/format.h>

namespace lifeboat::sources::pg {

namespace {

constexpr size_t kFlushAt = 256 << 10;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool unescape_copy_text(std::string_view field, std::string& value) {
  value.clear();
  if (field == "\\N") return false;
  value.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    char c = field[i];
    if (c != '\\' || i + 1 == field.size()) {
      value += c;
      continue;
    }
    char e = field[++i];
    switch (e) {
      case 'b': value += '\b'; break;
      case 'f': value += '\f'; break;
      case 'n': value += '\n'; break;
      case 'r': value += '\r'; break;
      case 't': value += '\t'; break;
      case 'v': value += '\v'; break;
      case 'x': {
        int v = 0, digits = 0;
        while (digits < 2 && i + 1 < field.size() && hex_value(field[i + 1]) >= 0) {
          v = v * 16 + hex_value(field[++i]);
          ++digits;
        }
        if (digits == 0) value += 'x';
        else value += static_cast<char>(v);
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', digits = 1;
          while (digits < 3 && i + 1 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7') {
            v = v * 8 + (field[++i] - '0');
            ++digits;
          }
          value += static_cast<char>(v & 0xff);
        } else {
          value += e;  // \\ and any other escaped character stand for themselves
        }
    }
  }
  return true;
}

void append_csv_field(std::string& out, std::string_view value, bool single_column) {
  bool quote = value.empty() || (single_column && value == "\\.");
  if (!quote)
    for (char c : value)
      if (c == ',' || c == '"' || c == '\n' || c == '\r') {
        quote = true;
        break;
      }
  if (!quote) {
    out.append(value);
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::vector<std::string> parse_copy_columns(std::string_view line) {
  std::vector<std::string> cols;
  // The column list follows the table name, which may be quoted and hold
  // parentheses of its own.
  size_t i = 0;
  bool in_quote = false;
  for (; i < line.size(); ++i) {
    char c = line[i];
    if (c == '"') in_quote = !in_quote;
    else if (!in_quote && c == '(') break;
  }
  if (i >= line.size()) return cols;
  size_t open = i;
  std::string cur;
  in_quote = false;
  for (i = open + 1; i < line.size(); ++i) {
    char c = line[i];
    if (in_quote) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          cur += '"';
          ++i;
        } else {
          in_quote = false;
        }
      } else {
        cur += c;
      }
    } else if (c == '"') {
      in_quote = true;
    } else if (c == ',' || c == ')') {
      cols.push_back(cur);
      cur.clear();
      if (c == ')') break;
      while (i + 1 < line.size() && line[i + 1] == ' ') ++i;
    } else {
      cur += c;
    }
  }
  return cols;
}

Status CopyToCsv::row(std::string_view line) {
  std::string value;
  bool single = columns_.size() == 1;
  size_t start = 0;
  bool first = true;
  for (;;) {
    size_t tab = line.find('\t', start);
    std::string_view field = line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    if (!first) out_ += ',';
    first = false;
    if (unescape_copy_text(field, value)) append_csv_field(out_, value, single);
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  out_ += '\n';
  ++rows_;
  if (out_.size() >= kFlushAt) {
    LB_RETURN_IF_ERROR(sink_(out_));
    out_.clear();
  }
  return Status::ok();
}

Status CopyToCsv::line(std::string_view line) {
  switch (state_) {
    case State::kBefore:
      if (line.rfind("COPY ", 0) == 0 && line.size() >= 12 && line.substr(line.size() - 12) == " FROM stdin;") {
        columns_ = parse_copy_columns(line.substr(5, line.size() - 5 - 12));
        state_ = State::kInCopy;
        if (header_) {
          for (size_t i = 0; i < columns_.size(); ++i) {
            if (i) out_ += ',';
            append_csv_field(out_, columns_[i], columns_.size() == 1);
          }
          out_ += '\n';
        }
      }
      return Status::ok();
    case State::kInCopy:
      if (line == "\\.") {
        state_ = State::kAfter;
        return Status::ok();
      }
      return row(line);
    case State::kAfter:
      return Status::ok();
  }
  return Status::ok();
}

Status CopyToCsv::feed(std::string_view data) {
  while (!data.empty()) {
    auto nl = data.find('\n');
    if (nl == std::string_view::npos) {
      pending_.append(data);
      break;
    }
    if (pending_.empty()) {
      LB_RETURN_IF_ERROR(line(data.substr(0, nl)));
    } else {
      pending_.append(data.substr(0, nl));
      LB_RETURN_IF_ERROR(line(pending_));
      pending_.clear();
    }
    data.remove_prefix(nl + 1);
  }
  return Status::ok();
}

Status CopyToCsv::finish() {
  if (!pending_.empty()) {
    LB_RETURN_IF_ERROR(line(pending_));
    pending_.clear();
  }
  if (state_ != State::kAfter)
    return Status(ErrorCode::kCorrupt, state_ == State::kBefore
                                           ? "pg_restore wrote no table data (no COPY block)"
                                           : "pg_restore's table data ended before its end marker");
  if (!out_.empty()) {
    LB_RETURN_IF_ERROR(sink_(out_));
    out_.clear();
  }
  return Status::ok();
}

}  // namespace lifeboat::sources::pg
