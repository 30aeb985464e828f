#include "sources/mysql/dump_scan.h"

#include <cctype>

namespace lifeboat::sources::mysql {

namespace {

constexpr size_t kHeadMax = 1024;
constexpr std::string_view kInsert = "INSERT INTO `";

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The identifier quoted with backticks at s[open] (``` `` ``` inside is one
// backtick); `end` is set past the closing quote. False when it does not
// close within `s`, or when `need_next` and no character follows it (a
// doubled backtick cannot be told from the end yet).
bool parse_ident(std::string_view s, size_t open, std::string& name, size_t& end, bool need_next) {
  name.clear();
  for (size_t i = open + 1; i < s.size(); ++i) {
    if (s[i] != '`') {
      name.push_back(s[i]);
      continue;
    }
    if (i + 1 >= s.size()) {
      if (need_next) return false;
      end = i + 1;
      return true;
    }
    if (s[i + 1] == '`') {
      name.push_back('`');
      ++i;
      continue;
    }
    end = i + 1;
    return true;
  }
  return false;
}

// What a line between statements may be: a comment, a client command, or
// the start of a statement (kNone).
enum class LineKind { kUndecided, kComment, kDelimiter, kSandbox, kNone };

LineKind line_kind(std::string_view pending) {
  static constexpr std::string_view kDelim = "DELIMITER ";
  static constexpr std::string_view kSandboxMark = "/*M!999999";
  if (pending.size() >= 3 && starts_with(pending, "--") && is_space(pending[2])) return LineKind::kComment;
  if (pending.size() == 2 && pending == "--") return LineKind::kUndecided;
  bool delim_prefix = true;
  for (size_t i = 0; i < pending.size() && i < kDelim.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(pending[i])) != kDelim[i]) delim_prefix = false;
  if (delim_prefix) return pending.size() >= kDelim.size() ? LineKind::kDelimiter : LineKind::kUndecided;
  if (kSandboxMark.substr(0, pending.size()) == pending.substr(0, kSandboxMark.size()))
    return pending.size() >= kSandboxMark.size() ? LineKind::kSandbox : LineKind::kUndecided;
  if (pending.size() < 2 && pending == "-") return LineKind::kUndecided;
  return LineKind::kNone;
}

}  // namespace

void SqlDumpScanner::feed(ByteSpan data) {
  stats_.bytes += data.size();
  for (uint8_t b : data) on_char(static_cast<char>(b));
}

const DumpStats& SqlDumpScanner::finish() {
  if (!line_.empty() && !in_statement_) end_line();
  return stats_;
}

void SqlDumpScanner::end_line() {
  std::string_view line = line_;
  while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
  if (in_delimiter_block_) {
    if (line.size() >= 11) {
      std::string up;
      for (char c : line) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
      if (up == "DELIMITER ;") in_delimiter_block_ = false;
    }
  } else if (starts_with(line, "--")) {
    std::string_view text = line.substr(2);
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    if (starts_with(text, "Server version")) {
      text.remove_prefix(14);
      while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
      stats_.server_version = std::string(text);
    } else if (starts_with(text, "MariaDB dump") || starts_with(text, "MySQL dump")) {
      stats_.dump_header = std::string(text);
    } else if (starts_with(text, "Dump completed")) {
      stats_.completed = true;
    }
  } else if (line.size() > 10) {
    std::string up;
    for (char c : line.substr(0, 10)) up.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (up == "DELIMITER ") {
      std::string_view d = line.substr(10);
      while (!d.empty() && is_space(d.front())) d.remove_prefix(1);
      if (d != ";") in_delimiter_block_ = true;
    }
  }
  line_.clear();
  in_line_comment_ = false;
}

void SqlDumpScanner::on_char(char c) {
  if (in_delimiter_block_ || in_line_comment_) {
    if (c == '\n') {
      end_line();
    } else if (line_.size() < 512) {
      line_.push_back(c);
    }
    return;
  }
  if (!in_statement_) {
    if (line_.empty() && is_space(c)) return;
    line_.push_back(c);
    switch (line_kind(line_)) {
      case LineKind::kUndecided:
        return;
      case LineKind::kComment:
      case LineKind::kDelimiter:
      case LineKind::kSandbox:
        in_line_comment_ = true;  // the rest of the line, then end_line()
        if (c == '\n') end_line();
        return;
      case LineKind::kNone:
        break;
    }
    // A statement starts: replay what was held back.
    std::string pending;
    pending.swap(line_);
    in_statement_ = true;
    for (char p : pending) on_char(p);
    return;
  }

  if (head_.size() < kHeadMax) head_.push_back(c);
  if (quote_) {
    if (escape_) {
      escape_ = false;
    } else if (c == '\\' && quote_ != '`') {
      escape_ = true;
    } else if (c == quote_) {
      quote_ = 0;
    }
  } else {
    switch (c) {
      case '\'':
      case '"':
      case '`':
        quote_ = c;
        break;
      case ';':
        end_statement();
        return;
      case '(':
        if (depth_ == 0 && kind_ == Kind::kInsert && values_seen_) rows_++;
        depth_++;
        break;
      case ')':
        if (depth_ > 0) depth_--;
        break;
      default:
        if (kind_ == Kind::kInsert && !values_seen_ && depth_ == 0) {
          window_.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
          if (window_.size() > 6) window_.erase(0, window_.size() - 6);
          if (window_ == "VALUES") values_seen_ = true;
        }
    }
  }
  if (kind_ == Kind::kUnknown) classify();
}

void SqlDumpScanner::classify() {
  if (head_.size() < kInsert.size()) {
    if (!starts_with(kInsert, head_)) kind_ = Kind::kOther;
    return;
  }
  if (!starts_with(head_, kInsert)) {
    kind_ = Kind::kOther;
    return;
  }
  size_t end = 0;
  if (parse_ident(head_, kInsert.size() - 1, insert_table_, end, true)) {
    kind_ = Kind::kInsert;
  } else if (head_.size() >= kHeadMax) {
    kind_ = Kind::kOther;
  }
}

void SqlDumpScanner::end_statement() {
  if (kind_ == Kind::kInsert) {
    stats_.tables[db_][insert_table_] += rows_;
  } else {
    std::string_view h = head_;
    std::string name;
    size_t end = 0;
    if (starts_with(h, "USE `")) {
      if (parse_ident(h, 4, name, end, false)) db_ = name;
    } else if (starts_with(h, "CREATE TABLE ")) {
      size_t open = h.find('`');
      if (open != std::string_view::npos && parse_ident(h, open, name, end, false)) stats_.tables[db_][name];
    } else if (starts_with(h, "CREATE DATABASE ")) {
      size_t open = h.find('`');
      if (open != std::string_view::npos && parse_ident(h, open, name, end, false)) stats_.tables[name];
    }
  }
  in_statement_ = false;
  head_.clear();
  quote_ = 0;
  escape_ = false;
  depth_ = 0;
  kind_ = Kind::kUnknown;
  insert_table_.clear();
  values_seen_ = false;
  window_.clear();
  rows_ = 0;
}

}  // namespace lifeboat::sources::mysql
