// Repository: the repository format on top of a storage backend.
//
// Opening derives the key-encryption key from the passphrase (scrypt,
// ~0.2 s), unwraps the master key, reads the config and loads the index.
// Layers above (sources, ops) work through this class and never see the
// backend. Write order gives crash safety: packs, then the index naming
// them, then the snapshot naming the trees.
//
// Thread-safety: all const methods and the blob/pack calls are safe to use
// from several threads; load_index() and reconcile are not concurrent with
// writers.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/kdf.h"
#include "repo/condemned.h"
#include "repo/config.h"
#include "repo/index.h"
#include "repo/keys.h"
#include "repo/pack.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "util/clock.h"
#include "util/status.h"

#include "storage/backend.h"

namespace lifeboat::repo {

struct CreateOptions {
  crypto::ScryptParams kdf;
  chunk::ChunkerParams chunker;
  int compression_level = compress::kDefaultLevel;
  uint32_t pack_size = 16 * 1024 * 1024;
  uint32_t lock_days = 0;
  // For a repository related to another (`init --from-repo`): its blob-id
  // key, so that a blob has the same id in both and copy moves only what the
  // destination lacks. (The chunker parameters are copied by the caller.)
  std::optional<crypto::Key256> id_key;
  std::string hostname;
  std::string username;
};

struct PackFile {
  Id id;
  uint64_t size = 0;
  bool archived = false;  // in an archive storage class: thaw before reading
};

// Runs `read_and_open` (a read from storage and the authentication of what
// came back) once more when it fails with kCorrupt. Object stores can hand
// back a response damaged on the way (a proxy, a bad NIC) that HTTP's own
// checks miss; such damage does not repeat, damage at rest does. So nothing
// is called damaged, left out or reported on one bad response.
Status reread_if_damaged(const std::function<Status()>& read_and_open);

class Repository {
 public:
  ~Repository();

  // Creates a repository at `location` (local path; see storage registry).
  // kAlreadyExists if something is there.
  static Result<std::unique_ptr<Repository>> create(std::string_view location, std::string_view password,
                                                    const CreateOptions& options, const Clock& clock);
  static Result<std::unique_ptr<Repository>> create(std::unique_ptr<storage::Backend> backend,
                                                    std::string_view password, const CreateOptions& options,
                                                    const Clock& clock);
  // Opens and unlocks an existing repository: kNoRepository if there is
  // none, kWrongPassword if no key opens with `password`. Does not load the
  // index (load_index()).
  static Result<std::unique_ptr<Repository>> open(std::string_view location, std::string_view password,
                                                  const Clock& clock);
  static Result<std::unique_ptr<Repository>> open(std::unique_ptr<storage::Backend> backend,
                                                  std::string_view password, const Clock& clock);
  // Opens with a master key already unwrapped (repo/key_cache.h), skipping
  // the key derivation. kWrongPassword when keys/<key_id> is gone (the key
  // was removed: a cache must not outlive it) or the key does not open the
  // config.
  static Result<std::unique_ptr<Repository>> open_with_key(std::unique_ptr<storage::Backend> backend,
                                                           MasterKey master, const Id& key_id, const Clock& clock);

  const RepoConfig& config() const { return config_; }
  // Whether the store itself enforces config().lock_days on what is written
  // (S3 Object Lock on the bucket), beyond forget's refusal.
  bool store_enforces_retention() const { return store_retention_; }
  // Rewrites the config object (atomically replaced).
  Status update_config(const RepoConfig& config);
  // The keys in use. Replaced by key rotation and by the shared key's
  // arrival; earlier RepoKeys stay alive with the repository, so a reference
  // taken before (a pack writer's, the lock refresher's) stays valid.
  const RepoKeys& keys() const { return *keys_.load(); }
  const Id& key_id() const { return key_id_; }
  const Clock& clock() const { return clock_; }
  std::string location() const;
  // Requests to keep in flight against the backend (storage::Backend).
  int connections() const;
  Index& index() { return *index_; }
  const Index& index() const { return *index_; }

  // Reads every index/ file into index(), then the condemned records
  // (load_condemned()). kCorrupt names a damaged file; with
  // `tolerate_damage`, damaged files are skipped and reported in `damaged`
  // instead (check uses this to go on and report everything).
  Status load_index(bool tolerate_damage = false, std::vector<std::string>* damaged = nullptr);
  // Empties index() (for callers that fill it themselves from
  // scan_index_files(): what an earlier load saw may be gone).
  void clear_index() { index_ = std::make_unique<Index>(); }
  // Reads every index file, calling fn(id, its packs or the error) once per
  // file; fn's error stops the scan. Prune replaces index files (writing the
  // new ones before removing the old), so a file that vanishes meanwhile is
  // skipped and the listing repeated: what fn sees covers the whole index.
  Status scan_index_files(const std::function<Status(const Id&, Result<std::vector<IndexPack>>)>& fn) const;
  // Adds to the index every pack in data/ that no index file names (left by
  // an interrupted backup), reading their headers, and writes an index file
  // for them, so their blobs are reused. Packs that prune condemned are not
  // adopted, and nothing is while a condemned record is unreadable. Returns
  // how many packs it adopted.
  Result<size_t> index_unindexed_packs();

  // Condemned packs (repo/condemned.h). list_condemned() reads every record;
  // damaged ones fail unless `damaged` collects their messages.
  Result<std::vector<CondemnedRecord>> list_condemned(std::vector<std::string>* damaged = nullptr) const;
  // Assigns a new id when record.id is zero.
  Status write_condemned(CondemnedRecord& record);
  // Loads the condemned packs' blobs into condemned_index(), which
  // read_blob() and locate() fall back to (never reserve()/contains(): a
  // backup stores such a blob anew rather than reference a doomed copy).
  // Returns the records; damaged ones are skipped (and named in `damaged`).
  Result<std::vector<CondemnedRecord>> load_condemned(std::vector<std::string>* damaged = nullptr);
  const Index& condemned_index() const { return *condemned_; }
  bool condemned_unreadable() const { return condemned_unreadable_; }

  // Blobs. locate() looks in the index, then among condemned packs.
  std::optional<BlobLocation> locate(const Id& id) const;
  Result<Bytes> read_blob(const Id& id) const;
  // Reads `base` for a delta: a whole data blob, kCorrupt otherwise (also
  // when it is missing). read_blob() of a delta reads its base so. From an
  // object store, through the cache of whole packs (bases are read in runs:
  // the chunks of one file, packed together), not one request per base.
  Result<Bytes> read_base(const Id& base) const;
  Result<Tree> load_tree(const Id& id) const;

  // Packs.
  Result<std::vector<PackFile>> list_packs() const;
  Result<Bytes> read_pack(const Id& pack_id, uint64_t offset = 0, uint64_t length = UINT64_MAX) const;
  // read_pack() into a reused buffer (restore and check read many packs).
  Status read_pack_into(const Id& pack_id, uint64_t offset, uint64_t length, Bytes& out) const;
  // `entries` say what the pack holds: packs of data blobs may go to a
  // colder storage class (Backend::write_cold); tree packs stay hot.
  Status write_pack(const Id& pack_id, ByteSpan data, const std::vector<PackEntry>& entries);
  // Cold storage (storage::Backend::thaw_state/thaw) for one pack.
  bool has_archive_tiers() const;
  Result<storage::ThawState> pack_thaw_state(const Id& pack_id) const;
  Status thaw_pack(const Id& pack_id, int days) const;
  // Reads and authenticates a pack's header.
  Result<std::vector<PackEntry>> read_pack_header(const Id& pack_id, uint64_t pack_size) const;

  // Index files.
  Result<Id> write_index(const std::vector<IndexPack>& packs);
  Result<std::vector<Id>> list_index_files() const;
  Result<std::vector<IndexPack>> read_index_file(const Id& id) const;

  // Snapshots.
  Result<std::vector<Id>> list_snapshot_ids() const;
  Result<Snapshot> load_snapshot(const Id& id) const;
  // Loads all snapshots sorted by time (oldest first). Damaged ones fail
  // unless `damaged` is given, which then collects their messages.
  Result<std::vector<Snapshot>> load_snapshots(std::vector<std::string>* damaged = nullptr) const;
  // Assigns a new id to `snapshot` and stores it.
  Status save_snapshot(Snapshot& snapshot);

  // Key files: several passphrases open one repository, each wrapping the
  // same master key. list_keys() reads only the plaintext metadata (no
  // passphrase needed); a damaged key file is listed with info.id only and
  // `readable` false.
  struct KeyListing {
    KeyFileInfo info;
    bool readable = true;
  };
  Result<std::vector<KeyListing>> list_keys() const;
  // Wraps the master key under `password`; returns the new key's id.
  Result<Id> add_key(std::string_view password, const KeyFileInfo& info);
  // Removes a key file. Refuses the last key, and the key this process
  // opened the repository with unless `even_current` (kInvalidArgument);
  // kNotFound for an unknown id.
  Status remove_key(const Id& id, bool even_current = false);

  // Key rotation: a new data-key epoch (keyring/, repo/keys.h) that seals
  // everything written from now on; objects sealed under older epochs stay
  // readable, and prune's repack seals what it moves under the new one.
  // Returns the new epoch.
  Result<uint32_t> rotate_data_key();
  // The aad of each kind of sealed object (for reseal_if_stale()).
  static Bytes index_aad(const Id& id);
  static Bytes snapshot_aad(const Id& id);
  // Retires every data key but the current one: writes a key file for
  // `password` (with `info`) holding only the current key and the id key,
  // then removes every other key file and the keyring. Objects sealed with a
  // retired key no longer open afterwards. Returns the new key file's id.
  Result<Id> retire_old_data_keys(std::string_view password, const KeyFileInfo& info);

  // Write-only keys (docs/FORMAT.md, "Write-only keys"). The shared key
  // seals metadata once it exists: create_shared_key() makes it (a full key
  // only; kept if it exists), refresh_shared_key() picks up one that another
  // process made since this one opened (lock_repository() calls it, so every
  // operation seals metadata the way write-only hosts can read).
  Status create_shared_key();
  Status refresh_shared_key();
  // Whether `name` (with `aad`) is sealed the way this process would seal it
  // now; if not, rewrites it so. kNotFound if it vanished.
  Result<bool> reseal_if_stale(const std::string& name, ByteSpan aad);
  // Wraps a write-only key (id key, shared key, recovery public key) under
  // `password`. Needs create_shared_key() first.
  Result<Id> add_write_only_key(std::string_view password, const KeyFileInfo& info);
  // From now on metadata is sealed under the data key again (the shared key
  // still opens what it sealed); retire_old_data_keys() then drops it.
  void stop_sharing();
  static Bytes lock_aad(const Id& id);
  static Bytes audit_aad(const Id& id);
  static Bytes condemned_aad(const Id& id);

  // Sealed objects under any name. Snapshots and condemned records are
  // data, sealed as blobs are (for the recovery key, under a write-only
  // key); everything else is metadata, under the shared key once there is
  // one. `full_keys_only` refuses objects under the shared key or in a box,
  // which a write-only key can make (condemned records: a forged one must
  // not make prune delete anything).
  Status write_sealed(const std::string& name, ByteSpan plaintext, ByteSpan aad);
  Result<Bytes> read_sealed(const std::string& name, ByteSpan aad, bool full_keys_only = false) const;
  Result<std::vector<std::string>> list_names(const std::string& prefix) const;
  Status remove(const std::string& name);
  Result<std::vector<storage::ObjectInfo>> list_objects(const std::string& prefix) const;
  Result<storage::ObjectInfo> stat_object(const std::string& name) const;

 private:
  Repository(std::unique_ptr<storage::Backend> backend, const Clock& clock);
  Status load_keyring();
  Status finish_open();  // keyring, config, retention: after the master key is known

  std::unique_ptr<storage::Backend> backend_;
  const Clock& clock_;
  RepoConfig config_;
  bool store_retention_ = false;
  // Passes config_.lock_days to the backend (Backend::set_retention).
  Status apply_store_retention();
  void set_keys(std::unique_ptr<RepoKeys> keys);
  // Keys for `master`, sealing metadata as the current ones do (stop_sharing() stays in force).
  void replace_master(MasterKey master);
  // Wraps `master` under `password` in a new keys/<id> (created now unless info says).
  Result<Id> write_key_file(const MasterKey& master, std::string_view password, const KeyFileInfo& info);

  std::vector<std::unique_ptr<RepoKeys>> all_keys_;  // every RepoKeys handed out
  std::atomic<const RepoKeys*> keys_{nullptr};
  Id key_id_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<Index> condemned_;
  bool condemned_unreadable_ = false;
  // Whole tree packs read for read_blob() from object stores, where one
  // request per tree would cost a round trip each (a restore walks
  // thousands), and for delta bases: the most recently used ones, up to
  // kTreePackCacheBytes.
  static constexpr size_t kTreePackCacheBytes = 64u << 20;
  Result<std::shared_ptr<const Bytes>> tree_pack(const Id& pack_id) const;
  void drop_tree_pack(const Id& pack_id) const;
  // One read and authentication each (read_sealed/read_pack_header read
  // again on damage).
  Result<Bytes> read_sealed_once(const std::string& name, ByteSpan aad, bool full_keys_only) const;
  Result<Bytes> read_blob_from(const Id& id, bool base_only) const;
  Result<std::vector<PackEntry>> read_pack_header_once(const Id& pack_id, uint64_t pack_size) const;
  mutable std::mutex tree_packs_mu_;
  mutable std::list<std::pair<Id, std::shared_ptr<const Bytes>>> tree_packs_;  // newest first
};

}  // namespace lifeboat::repo
