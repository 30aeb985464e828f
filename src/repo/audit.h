// The audit trail: log/<time>-<id>, one sealed JSON record per operation
// that changed the repository (init, backup, forget, key changes, ...).
//
// Each record names the record that was newest when it was written ("prev",
// its id and the SHA-256 of its plaintext), so the records form a chain
// from the first one (written by init). A removed record leaves a dangling
// "prev"; an altered one fails authentication or no longer matches the hash
// its successor holds; records are ordered by the chain, not by their
// names. Two writers appending at once both link to the same predecessor: a
// fork, which is legitimate and reported as such. Removing the newest
// records cannot be seen from the repository alone; `lifeboat log --verify`
// remembers the newest record it has verified and reports if it vanished.
// aad = "log" id[32].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "repo/id.h"
#include "repo/repository.h"
#include "util/status.h"

namespace lifeboat::repo {

struct AuditRecord {
  Id id;
  std::string name;           // the object name, log/<time>-<id>
  int64_t time_ns = 0;
  std::string hostname;
  std::string username;
  std::string operation;      // "init", "backup", "forget", "key add", ...
  std::string result = "ok";  // "ok" or "error: <message>"
  std::vector<std::string> snapshots;  // ids created or removed
  std::string details;        // free text ("removed 3 snapshots", a key id)
  std::optional<Id> prev;     // none for the first record
  std::string prev_sha256;    // hex SHA-256 of the previous record's plaintext
};

// Appends `record` (its id, name, time and prev are filled in here).
Status append_audit(Repository& repo, AuditRecord record);

struct AuditLog {
  std::vector<AuditRecord> records;   // in chain order (oldest first)
  std::vector<std::string> problems;  // verification failures (tampering)
  size_t forks = 0;                   // concurrent appends (not a problem)
};

// Rewrites in place every record not sealed the way this process seals
// metadata now (key rotate --reencrypt, key add --write-only); the
// plaintext, and so the hash chain, is unchanged. Returns how many records
// were rewritten.
Result<size_t> reseal_audit(Repository& repo);

// Loads and verifies every record.
Result<AuditLog> load_audit(const Repository& repo);

}  // namespace lifeboat::repo
