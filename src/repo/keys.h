// Keys: the master key that protects a repository, and the key files that
// wrap it under passphrases (docs/FORMAT.md, "keys").
//
// The master key holds
//   - data keys (AES-256-GCM), each with an epoch number; new objects are
//     sealed with the newest, every sealed object names its epoch;
//   - the id key (HMAC-SHA-256) that names blobs and seeds the chunker.
// RepoKeys is immutable after construction and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chunk/fastcdc.h"
#include "crypto/aead.h"
#include "crypto/kdf.h"
#include "crypto/keyed_hash.h"
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
  std::vector<DataKey> data_keys;  // at least one; the last is current
  crypto::Key256 id_key{};

  static MasterKey generate(int64_t now_ns);
  std::string to_json() const;
  static Result<MasterKey> from_json(std::string_view json);
};

// Envelope of every sealed object except key files:
//   sealed := version[1]=0x01 epoch[4, LE] nonce[12] ciphertext tag[16]
inline constexpr uint8_t kEnvelopeVersion = 1;
inline constexpr size_t kEnvelopeOverhead = 1 + 4 + crypto::kAeadOverhead;
// Bytes before the ciphertext: version, epoch, nonce.
inline constexpr size_t kEnvelopeHeader = 1 + 4 + crypto::kNonceSize;

class RepoKeys {
 public:
  explicit RepoKeys(MasterKey master);

  // The blob id: HMAC-SHA-256(id_key, plaintext).
  Id blob_id(ByteSpan plaintext) const;
  // Seals with the current data key; appends the envelope to `out`.
  void seal(ByteSpan plaintext, ByteSpan aad, Bytes& out) const;
  // Seals in place: `buf` holds kEnvelopeHeader reserved bytes at `start`,
  // then the plaintext up to its end (see Aead::seal_in_place).
  void seal_in_place(Bytes& buf, size_t start, ByteSpan aad) const;
  // Appends the plaintext to `out`; kCorrupt if it does not authenticate.
  Status open(ByteSpan sealed, ByteSpan aad, Bytes& out) const;
  // The FastCDC gear table, derived from the id key.
  chunk::GearTable gear_table() const;

  const MasterKey& master() const { return master_; }

 private:
  MasterKey master_;
  std::vector<std::pair<uint32_t, crypto::Aead>> aeads_;
  crypto::KeyedHash id_hash_;
};

// Data keys added by rotation live outside the key files (which only their
// own passphrase can rewrite): keyring/<epoch, 10 digits>, each one DataKey
// as JSON {"epoch","key","created"}, sealed with AES-256-GCM under the
// keyring key, HMAC-SHA-256(first data key of the key file, "lifeboat
// keyring v1"), aad "keyring" epoch[4, LE]. Every key file opens them.
crypto::Key256 keyring_key(const MasterKey& master);
std::string keyring_name(uint32_t epoch);
Bytes seal_keyring_entry(const crypto::Key256& keyring_key, const DataKey& key);
Result<DataKey> open_keyring_entry(const crypto::Key256& keyring_key, uint32_t epoch, ByteSpan sealed);

// A key file (keys/<id>): the master key sealed under scrypt(passphrase).
struct KeyFileInfo {
  Id id;
  int64_t created_ns = 0;
  std::string hostname;
  std::string username;
  crypto::ScryptParams kdf;
};

// Serialises a new key file for `master` under `password`.
Result<Bytes> create_key_file(const MasterKey& master, std::string_view password, const KeyFileInfo& info);
// Unwraps a key file; kWrongPassword if the passphrase does not open it,
// kCorrupt if the file is not a key file at all.
Result<MasterKey> open_key_file(ByteSpan file, std::string_view password);
Result<KeyFileInfo> parse_key_file_info(ByteSpan file);

}  // namespace lifeboat::repo
