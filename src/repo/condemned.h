// Condemned packs: prune's first phase (docs/FORMAT.md, "Prune").
//
// Prune does not delete a pack at once. It first takes the pack out of the
// index and records it here, in condemned/<id>, together with the sessions
// of the locks that were alive when the index changed: any of those
// operations may have read the old index and may still store a snapshot
// that references a blob in the pack. A later prune deletes the packs once
// all those sessions are gone, after re-indexing any blob that a snapshot
// written meanwhile references. Backups never adopt a condemned pack as
// "left by an interrupted backup", and reading falls back to condemned
// packs, so a snapshot written in between restores.
//
//   condemned := envelope(body)        aad = "condemned" id[32]
//   body      := "LBC1" varint(json_length) json index_body
// json holds time, host, complete and lock_sessions; index_body is an index
// file's body (repo/index.h) naming the condemned packs and all their blobs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repo/id.h"
#include "repo/index.h"
#include "util/status.h"

namespace lifeboat::repo {

struct CondemnedRecord {
  Id id;
  int64_t time_ns = 0;
  std::string hostname;  // of the prune that wrote it
  // False while prune is still switching the index: the sessions are not
  // known yet, so the record waits until no other lock is alive at all.
  bool complete = false;
  std::vector<Id> lock_sessions;  // alive when the index stopped naming the packs
  std::vector<IndexPack> packs;   // with every blob they hold
};

Bytes encode_condemned(const CondemnedRecord& record);
// `id` comes from the object's name.
Result<CondemnedRecord> decode_condemned(ByteSpan body, const Id& id);

}  // namespace lifeboat::repo
