// Keys: the master key that protects a repository, and the key files that
// wrap it under passphrases (docs/FORMAT.md, "keys").
//
// The master key holds
//   - data keys (AES-256-GCM), each with an epoch number; new objects are
//     sealed with the newest, every sealed object names its epoch;
//   - the id key (HMAC-SHA-256) that names blobs and seeds the chunker;
//   - once a write-only key exists, the shared key (AES-256-GCM) that seals
//     the metadata every key must read: config, index, locks, audit log,
//     condemned records.
// A write-only key (docs/FORMAT.md, "Write-only keys") holds the id key, the
// shared key and the recovery public key, and no data key: it seals data
// (blobs, pack headers, snapshots) for the recovery key, whose private half
// is derived from the first data key, and cannot open any of it.
// RepoKeys is immutable after construction and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chunk/fastcdc.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/keyed_hash.h"
#include "crypto/sealed_box.h"
#include "repo/id.h"
#include "util/bytes.h"
#include "util/status.h"

namespace lifeboat::repo {

struct DataKey {
  uint32_t epoch = 1;
  crypto::Key256 key{};
  int64_t created_ns = 0;
};

struct MasterKey {
  // Full keys: at least one, the last is current. Empty for a write-only key.
  std::vector<DataKey> data_keys;
  crypto::Key256 id_key{};
  // Full keys: from keyring/shared, once a write-only key was added.
  // Write-only keys: always.
  std::optional<crypto::Key256> shared_key;
  // Write-only keys only: the recovery public key data is sealed for.
  crypto::Key256 recovery_public{};

  bool write_only() const { return data_keys.empty(); }

  static MasterKey generate(int64_t now_ns);
  std::string to_json() const;
  static Result<MasterKey> from_json(std::string_view json);
};

// Envelope of every sealed object except key files:
//   sealed := version[1]=0x01 epoch[4, LE] nonce[12] ciphertext tag[16]
// Epoch 0 is the shared key; epoch 0xFFFFFFFF is a box for the recovery key
// (written by write-only keys): version epoch ephemeral_public[32] nonce[12]
// ciphertext tag[16] (crypto/sealed_box.h).
inline constexpr uint8_t kEnvelopeVersion = 1;
inline constexpr uint32_t kSharedEpoch = 0;
inline constexpr uint32_t kBoxEpoch = 0xFFFFFFFF;
// The epoch an envelope names; none for bytes too short to be one.
inline std::optional<uint32_t> envelope_epoch(ByteSpan sealed) {
  if (sealed.size() < 5) return std::nullopt;
  return uint32_t{sealed[1]} | uint32_t{sealed[2]} << 8 | uint32_t{sealed[3]} << 16 | uint32_t{sealed[4]} << 24;
}
inline constexpr size_t kEnvelopeOverhead = 1 + 4 + crypto::kAeadOverhead;
// Bytes before the ciphertext: version, epoch, nonce.
inline constexpr size_t kEnvelopeHeader = 1 + 4 + crypto::kNonceSize;

class RepoKeys {
 public:
  // With `seal_shared` false, metadata is sealed under the data key even
  // when a shared key is known (which still opens what it sealed): for
  // key rotate --reencrypt, which retires the shared key.
  explicit RepoKeys(MasterKey master, bool seal_shared = true);

  bool write_only() const { return master_.write_only(); }
  // Whether metadata is sealed under the shared key.
  bool sealing_shared() const { return shared_ && seal_shared_; }
  // The constructor's `seal_shared` (false after stop_sharing()).
  bool seals_shared_when_known() const { return seal_shared_; }

  // The blob id: HMAC-SHA-256(id_key, plaintext).
  Id blob_id(ByteSpan plaintext) const;
  // Seals data (blobs, pack headers, snapshots) with the current data key,
  // or for a write-only key in a box for the recovery key; appends the
  // envelope to `out`.
  void seal(ByteSpan plaintext, ByteSpan aad, Bytes& out) const;
  // Bytes before the plaintext that seal_in_place() needs.
  size_t seal_header_size() const;
  // Seals data in place: `buf` holds seal_header_size() reserved bytes at
  // `start`, then the plaintext up to its end (see Aead::seal_in_place).
  void seal_in_place(Bytes& buf, size_t start, ByteSpan aad) const;
  // Seals metadata: under the shared key once there is one, else as seal().
  void seal_shared(ByteSpan plaintext, ByteSpan aad, Bytes& out) const;
  // The epoch seal() / seal_shared() write.
  uint32_t data_epoch() const;
  uint32_t shared_epoch() const;
  // Appends the plaintext to `out`; kCorrupt if it does not authenticate,
  // kPermission for data a write-only key cannot open.
  Status open(ByteSpan sealed, ByteSpan aad, Bytes& out) const;
  // The recovery public key (for a write-only key made from this one).
  const crypto::Key256& recovery_public() const { return recovery_.public_key; }
  // The FastCDC gear table, derived from the id key.
  chunk::GearTable gear_table() const;

  const MasterKey& master() const { return master_; }

 private:
  MasterKey master_;
  bool seal_shared_;
  std::vector<std::pair<uint32_t, crypto::Aead>> aeads_;
  std::optional<crypto::Aead> shared_;
  crypto::X25519KeyPair recovery_{};  // private half zero for a write-only key
  crypto::KeyedHash id_hash_;
};

// The recovery key pair of a full master key: X25519 with the private key
// HMAC-SHA-256(first data key, "lifeboat recovery v1").
crypto::X25519KeyPair recovery_key_pair(const MasterKey& master);
// The write-only key made from a full master key with a shared key.
MasterKey write_only_key(const MasterKey& master);

// Data keys added by rotation live outside the key files (which only their
// own passphrase can rewrite): keyring/<epoch, 10 digits>, each one DataKey
// as JSON {"epoch","key","created"}, sealed with AES-256-GCM under the
// keyring key, HMAC-SHA-256(first data key of the key file, "lifeboat
// keyring v1"), aad "keyring" epoch[4, LE]. Every key file opens them.
crypto::Key256 keyring_key(const MasterKey& master);
std::string keyring_name(uint32_t epoch);
Bytes seal_keyring_entry(const crypto::Key256& keyring_key, const DataKey& key);
Result<DataKey> open_keyring_entry(const crypto::Key256& keyring_key, uint32_t epoch, ByteSpan sealed);
// The shared key: keyring/shared, the 32 bytes sealed like a keyring entry
// with aad "keyring shared".
inline constexpr std::string_view kSharedKeyName = "keyring/shared";
Bytes seal_shared_key(const crypto::Key256& keyring_key, const crypto::Key256& shared);
Result<crypto::Key256> open_shared_key(const crypto::Key256& keyring_key, ByteSpan sealed);

// A key file (keys/<id>): the master key sealed under scrypt(passphrase).
struct KeyFileInfo {
  Id id;
  int64_t created_ns = 0;
  std::string hostname;
  std::string username;
  crypto::ScryptParams kdf;
  bool write_only = false;  // "kind": "write-only"
};

// kInvalidArgument for a passphrase a new key file may not have (empty).
Status check_new_password(std::string_view password);
// Serialises a new key file for `master` under `password`.
Result<Bytes> create_key_file(const MasterKey& master, std::string_view password, const KeyFileInfo& info);
// Unwraps a key file; kWrongPassword if the passphrase does not open it,
// kCorrupt if the file is not a key file at all.
Result<MasterKey> open_key_file(ByteSpan file, std::string_view password);
Result<KeyFileInfo> parse_key_file_info(ByteSpan file);

}  // namespace lifeboat::repo
