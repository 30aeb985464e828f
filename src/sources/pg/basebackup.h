// A PostgreSQL base backup over the replication protocol (BASE_BACKUP, as
// pg_basebackup sends it to a PostgreSQL 15+ server): one COPY stream that
// carries a tar archive per tablespace and the backup manifest. Each tar
// member is handed to the caller as it arrives; nothing is spooled.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::sources::pg {

struct Tablespace {
  uint32_t oid = 0;
  std::string location;
};

struct BaseBackupInfo {
  uint64_t system_id = 0;
  uint32_t timeline = 0;
  uint64_t start_lsn = 0;
  uint64_t stop_lsn = 0;
  uint32_t stop_timeline = 0;
  int server_version_num = 0;     // 150004
  std::string server_version;     // "15.4"
  uint64_t wal_segment_size = 16 << 20;
  std::string data_directory;
  std::vector<Tablespace> tablespaces;
};

// One member of an archive. `archive` is "" for the data directory or the
// tablespace's oid as text; `path` is relative to it.
struct TarEntry {
  std::string archive;
  std::string path;
  enum class Type { kFile, kDir, kSymlink } type = Type::kFile;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  std::string link_target;
};

struct BaseBackupOptions {
  std::string dsn;                // libpq connection string or URI
  std::string label = "lifeboat";
  bool fast_checkpoint = true;
  bool verify_checksums = true;
};

class BaseBackupSink {
 public:
  virtual ~BaseBackupSink() = default;
  // Called once the start position and tablespaces are known.
  virtual Status begin(const BaseBackupInfo& info) = 0;
  // A member; for files, `read` yields its content (to its end, 0 after).
  virtual Status entry(const TarEntry& entry, const std::function<Result<size_t>(uint8_t*, size_t)>& read) = 0;
  // The backup manifest (JSON), complete.
  virtual Status manifest(ByteSpan data) = 0;
};

// Runs the base backup; `info` gets the stop position at the end. Errors
// are one line: unreachable server, authentication, no replication
// permission (pg_hba.conf / REPLICATION role attribute), server too old.
Status run_base_backup(const BaseBackupOptions& options, BaseBackupSink& sink, BaseBackupInfo& info);

// Whether a path in the data directory (or a tablespace) is a relation
// file: base/<db>/<relfilenode>[_fsm|_vm|_init][.<segment>], global/...,
// PG_<ver>_<cat>/<db>/...: fixed 8 KiB pages, cut on page boundaries.
bool is_relation_file(std::string_view path);

// libpq's error text reduced to one line, with what to do.
std::string connection_hint(std::string_view libpq_message);

}  // namespace lifeboat::sources::pg
