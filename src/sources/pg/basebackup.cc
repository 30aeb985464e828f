#include "sources/pg/basebackup.h"

#include <archive.h>
#include <archive_entry.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <regex>

#include <fmt/format.h>

#include "sources/pg/wal_names.h"

namespace lifeboat::sources::pg {

namespace {

std::string one_line(std::string_view text) {
  std::string s(text);
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  auto pos = s.find("  ");
  while (pos != std::string::npos) {
    s.erase(pos, 1);
    pos = s.find("  ");
  }
  return s;
}

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

Status server_error(PGconn* conn, std::string_view what) {
  return Status(ErrorCode::kIo, fmt::format("{}: {}", what, connection_hint(PQerrorMessage(conn))));
}

// The COPY stream as a sequence of tar archives for libarchive: data
// messages are passed through; a message that starts the next archive or the
// manifest ends the current one (with the two zero blocks PostgreSQL omits).
struct CopyStream {
  enum class Next { kNone, kArchive, kManifest, kEnd };
  PGconn* conn = nullptr;
  char* msg = nullptr;
  Next next = Next::kNone;
  std::string next_name;
  std::string next_location;
  bool trailer_sent = false;
  Status error;
  static inline const uint8_t kZeros[1024] = {};

  ~CopyStream() { release(); }
  void release() {
    if (msg) PQfreemem(msg);
    msg = nullptr;
  }
  // The next message, its type in *type and payload in [*data, *data+*len);
  // false at the end of the COPY or on error.
  bool pull(char* type, const char** data, size_t* len) {
    release();
    int r = PQgetCopyData(conn, &msg, 0);
    if (r == -1) return false;
    if (r < 0 || r == 0) {
      error = server_error(conn, "the base backup stream broke");
      return false;
    }
    *type = msg[0];
    *data = msg + 1;
    *len = static_cast<size_t>(r - 1);
    return true;
  }
  // Handles an 'n' message payload: archive name, tablespace location.
  void new_archive(const char* data, size_t len) {
    next = Next::kArchive;
    next_name.assign(data, strnlen(data, len));
    size_t used = next_name.size() + 1;
    next_location = used < len ? std::string(data + used, strnlen(data + used, len - used)) : "";
  }

  static la_ssize_t read_cb(struct archive*, void* self, const void** buffer) {
    auto* s = static_cast<CopyStream*>(self);
    if (s->next != Next::kNone) {
      if (s->trailer_sent) return 0;
      s->trailer_sent = true;
      *buffer = kZeros;
      return sizeof kZeros;
    }
    for (;;) {
      char type;
      const char* data;
      size_t len;
      if (!s->pull(&type, &data, &len)) {
        if (!s->error.is_ok()) return -1;
        s->next = Next::kEnd;
        return read_cb(nullptr, self, buffer);
      }
      if (type == 'd') {
        if (len == 0) continue;
        *buffer = data;
        return static_cast<la_ssize_t>(len);
      }
      if (type == 'p') continue;
      if (type == 'n') {
        s->new_archive(data, len);
        return read_cb(nullptr, self, buffer);
      }
      if (type == 'm') {
        s->next = Next::kManifest;
        return read_cb(nullptr, self, buffer);
      }
      s->error = Status(ErrorCode::kIo, fmt::format("unexpected message '{}' in the base backup stream", type));
      return -1;
    }
  }
};

std::string clean_path(const char* p) {
  std::string s = p ? p : "";
  while (s.starts_with("./")) s.erase(0, 2);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

Status read_archive(CopyStream& stream, const std::string& archive_name, BaseBackupSink& sink) {
  std::string archive_id = archive_name == "base.tar" ? "" : archive_name.substr(0, archive_name.find('.'));
  struct archive* a = archive_read_new();
  std::unique_ptr<struct archive, decltype(&archive_read_free)> guard(a, &archive_read_free);
  archive_read_support_format_tar(a);
  if (archive_read_open(a, &stream, nullptr, &CopyStream::read_cb, nullptr) != ARCHIVE_OK)
    return Status(ErrorCode::kIo, fmt::format("unable to read {}: {}", archive_name, archive_error_string(a)));
  struct archive_entry* e;
  for (;;) {
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      if (!stream.error.is_ok()) return stream.error;
      return Status(ErrorCode::kCorrupt,
                    fmt::format("the base backup's {} is malformed: {}", archive_name, archive_error_string(a)));
    }
    TarEntry t;
    t.archive = archive_id;
    t.path = clean_path(archive_entry_pathname(e));
    if (t.path.empty()) continue;
    t.mode = archive_entry_perm(e);
    t.uid = static_cast<uint32_t>(archive_entry_uid(e));
    t.gid = static_cast<uint32_t>(archive_entry_gid(e));
    t.mtime_ns = static_cast<int64_t>(archive_entry_mtime(e)) * 1'000'000'000 + archive_entry_mtime_nsec(e);
    t.size = static_cast<uint64_t>(archive_entry_size(e));
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR: t.type = TarEntry::Type::kDir; break;
      case AE_IFLNK:
        t.type = TarEntry::Type::kSymlink;
        t.link_target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
        break;
      case AE_IFREG: t.type = TarEntry::Type::kFile; break;
      default: continue;  // PostgreSQL sends nothing else
    }
    std::function<Result<size_t>(uint8_t*, size_t)> read = [&](uint8_t* buf, size_t n) -> Result<size_t> {
      la_ssize_t got = archive_read_data(a, buf, n);
      if (got < 0) {
        if (!stream.error.is_ok()) return stream.error;
        return Status(ErrorCode::kIo, fmt::format("unable to read {} from the base backup: {}", t.path,
                                                  archive_error_string(a)));
      }
      return static_cast<size_t>(got);
    };
    LB_RETURN_IF_ERROR(sink.entry(t, read));
  }
  if (!stream.error.is_ok()) return stream.error;
  return Status::ok();
}

Result<std::pair<uint64_t, uint32_t>> position_of(PGresult* r, std::string_view what) {
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) < 2)
    return Status(ErrorCode::kIo, fmt::format("unexpected answer to BASE_BACKUP ({})", what));
  auto lsn = parse_lsn(PQgetvalue(r, 0, 0));
  if (!lsn) return Status(ErrorCode::kIo, fmt::format("unexpected {} position \"{}\"", what, PQgetvalue(r, 0, 0)));
  return std::make_pair(*lsn, static_cast<uint32_t>(std::strtoul(PQgetvalue(r, 0, 1), nullptr, 10)));
}

std::string quote_literal(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

uint64_t parse_size(std::string_view text) {
  // SHOW wal_segment_size: "16MB", "1GB", "64MB"
  uint64_t v = std::strtoull(std::string(text).c_str(), nullptr, 10);
  if (text.ends_with("GB")) return v << 30;
  if (text.ends_with("MB")) return v << 20;
  if (text.ends_with("kB")) return v << 10;
  return v;
}

}  // namespace

std::string connection_hint(std::string_view libpq_message) {
  std::string m = one_line(libpq_message);
  if (m.starts_with("FATAL: ")) m.erase(0, 7);
  if (m.starts_with("ERROR: ")) m.erase(0, 7);
  std::string hint;
  if (m.find("password authentication failed") != std::string::npos ||
      m.find("no password supplied") != std::string::npos)
    hint = "check the user and the password (PGPASSWORD, ~/.pgpass or the DSN)";
  else if (m.find("no pg_hba.conf entry for replication") != std::string::npos)
    hint = "allow a replication connection for this user in pg_hba.conf";
  else if (m.find("must be superuser or replication role") != std::string::npos ||
           m.find("permission denied to start WAL sender") != std::string::npos)
    hint = "give the user the REPLICATION attribute (ALTER ROLE ... REPLICATION)";
  else if (m.find("Connection refused") != std::string::npos || m.find("No such file or directory") != std::string::npos ||
           m.find("could not translate host name") != std::string::npos || m.find("timeout expired") != std::string::npos)
    hint = "check that the server is running and the host/port/socket in --dsn";
  else if (m.find("does not exist") != std::string::npos)
    hint = "check the user and database names in --dsn";
  return hint.empty() ? m : fmt::format("{}; {}", m, hint);
}

bool is_relation_file(std::string_view path) {
  static const std::regex kRelation(
      R"(^(?:base/\d+|global|PG_[^/]+/\d+)/\d+(?:_(?:fsm|vm|init))?(?:\.\d+)?$)");
  return std::regex_match(path.begin(), path.end(), kRelation);
}

Status run_base_backup(const BaseBackupOptions& options, BaseBackupSink& sink, BaseBackupInfo& info) {
  const char* keys[] = {"dbname", "replication", "fallback_application_name", nullptr};
  const char* values[] = {options.dsn.c_str(), "true", "lifeboat", nullptr};
  Conn conn(PQconnectdbParams(keys, values, 1));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
    return Status(ErrorCode::kIo, fmt::format("cannot connect to PostgreSQL: {}",
                                              connection_hint(conn ? PQerrorMessage(conn.get()) : "out of memory")));
  // The server's notices ("all required WAL segments have been archived")
  // are not for the user.
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  info.server_version_num = PQserverVersion(conn.get());
  if (const char* v = PQparameterStatus(conn.get(), "server_version")) info.server_version = v;
  if (info.server_version_num < 150000)
    return Status(ErrorCode::kUnsupported,
                  fmt::format("PostgreSQL {} is too old for lifeboat's base backups (15 or newer; use pg_basebackup "
                              "with `lifeboat backup` for older servers)",
                              info.server_version));
  {
    PgResult r(PQexec(conn.get(), "IDENTIFY_SYSTEM"));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1)
      return server_error(conn.get(), "IDENTIFY_SYSTEM failed");
    info.system_id = std::strtoull(PQgetvalue(r.get(), 0, 0), nullptr, 10);
    info.timeline = static_cast<uint32_t>(std::strtoul(PQgetvalue(r.get(), 0, 1), nullptr, 10));
  }
  {
    PgResult r(PQexec(conn.get(), "SHOW wal_segment_size"));
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1)
      info.wal_segment_size = parse_size(PQgetvalue(r.get(), 0, 0));
  }
  {
    PgResult r(PQexec(conn.get(), "SHOW data_directory"));
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1) info.data_directory = PQgetvalue(r.get(), 0, 0);
  }
  std::string command = fmt::format("BASE_BACKUP ( LABEL {}, CHECKPOINT '{}', MANIFEST 'yes', WAIT true{} )",
                                    quote_literal(options.label), options.fast_checkpoint ? "fast" : "spread",
                                    options.verify_checksums ? "" : ", VERIFY_CHECKSUMS false");
  if (!PQsendQuery(conn.get(), command.c_str())) return server_error(conn.get(), "BASE_BACKUP failed");
  {
    PgResult r(PQgetResult(conn.get()));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) return server_error(conn.get(), "the base backup failed");
    LB_ASSIGN_OR_RETURN(auto start, position_of(r.get(), "start"));
    info.start_lsn = start.first;
    info.timeline = start.second;
  }
  {
    PgResult r(PQgetResult(conn.get()));
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) return server_error(conn.get(), "the base backup failed");
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      if (PQgetisnull(r.get(), i, 0)) continue;  // the data directory itself
      info.tablespaces.push_back(
          {static_cast<uint32_t>(std::strtoul(PQgetvalue(r.get(), i, 0), nullptr, 10)), PQgetvalue(r.get(), i, 1)});
    }
  }
  {
    PgResult r(PQgetResult(conn.get()));
    if (!r || PQresultStatus(r.get()) != PGRES_COPY_OUT) return server_error(conn.get(), "the base backup failed");
  }
  LB_RETURN_IF_ERROR(sink.begin(info));

  CopyStream stream;
  stream.conn = conn.get();
  // The first message names the first archive.
  for (;;) {
    char type;
    const char* data;
    size_t len;
    if (!stream.pull(&type, &data, &len)) {
      if (!stream.error.is_ok()) return stream.error;
      return server_error(conn.get(), "the base backup ended before its first archive");
    }
    if (type == 'p') continue;
    if (type != 'n') return Status(ErrorCode::kIo, "the base backup stream does not start with an archive");
    stream.new_archive(data, len);
    break;
  }
  while (stream.next == CopyStream::Next::kArchive) {
    std::string name = stream.next_name;
    stream.next = CopyStream::Next::kNone;
    stream.trailer_sent = false;
    LB_RETURN_IF_ERROR(read_archive(stream, name, sink));
    // The tar's end blocks came in the stream (libarchive stopped there):
    // what follows up to the next archive, the manifest or the end can only
    // be padding.
    while (stream.next == CopyStream::Next::kNone) {
      char type;
      const char* data;
      size_t len;
      if (!stream.pull(&type, &data, &len)) {
        if (!stream.error.is_ok()) return stream.error;
        stream.next = CopyStream::Next::kEnd;
      } else if (type == 'n') {
        stream.new_archive(data, len);
      } else if (type == 'm') {
        stream.next = CopyStream::Next::kManifest;
      } else if (type == 'd' && std::any_of(data, data + len, [](char c) { return c != 0; })) {
        return Status(ErrorCode::kCorrupt, fmt::format("the base backup's {} has data after its end", name));
      }
    }
  }
  if (stream.next == CopyStream::Next::kManifest) {
    Bytes manifest;
    for (;;) {
      char type;
      const char* data;
      size_t len;
      if (!stream.pull(&type, &data, &len)) break;
      if (type == 'd') manifest.insert(manifest.end(), data, data + len);
    }
    if (!stream.error.is_ok()) return stream.error;
    LB_RETURN_IF_ERROR(sink.manifest(manifest));
  }
  stream.release();
  {
    PgResult r(PQgetResult(conn.get()));  // the COPY's own end
    if (r && PQresultStatus(r.get()) != PGRES_COMMAND_OK && PQresultStatus(r.get()) != PGRES_TUPLES_OK)
      return server_error(conn.get(), "the base backup failed");
    if (r && PQresultStatus(r.get()) == PGRES_TUPLES_OK) {
      LB_ASSIGN_OR_RETURN(auto stop, position_of(r.get(), "stop"));
      info.stop_lsn = stop.first;
      info.stop_timeline = stop.second;
    }
  }
  for (;;) {
    PgResult r(PQgetResult(conn.get()));
    if (!r) break;
    if (PQresultStatus(r.get()) == PGRES_TUPLES_OK && info.stop_lsn == 0) {
      LB_ASSIGN_OR_RETURN(auto stop, position_of(r.get(), "stop"));
      info.stop_lsn = stop.first;
      info.stop_timeline = stop.second;
    } else if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      return server_error(conn.get(), "the base backup failed");
    }
  }
  if (info.stop_lsn == 0) return Status(ErrorCode::kIo, "the base backup ended without its stop position");
  return Status::ok();
}

}  // namespace lifeboat::sources::pg
