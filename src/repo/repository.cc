#include "repo/repository.h"

#include <algorithm>
#include <unordered_set>

#include <fmt/format.h>

#include "crypto/random.h"
#include "storage/backend.h"

namespace lifeboat::repo {
namespace {

constexpr std::string_view kConfigName = "config";

// Sealed like data (under a data key, or for the recovery key by a write-only
// key), not like metadata every key reads: snapshots, and the condemned
// records that only prune (a full key) writes and reads.
bool is_data_object(std::string_view name) {
  return name.starts_with("snapshots/") || name.starts_with("condemned/") || name.starts_with("wal/");
}

Bytes aad_with_id(std::string_view kind, const Id& id) {
  Bytes aad = to_bytes(kind);
  append(aad, id.span());
  return aad;
}

std::optional<Id> id_from_name(const std::string& name) {
  auto slash = name.rfind('/');
  return Id::from_hex(slash == std::string::npos ? name : name.substr(slash + 1));
}

}  // namespace

Repository::Repository(std::unique_ptr<storage::Backend> backend, const Clock& clock)
    : backend_(std::move(backend)),
      clock_(clock),
      index_(std::make_unique<Index>()),
      condemned_(std::make_unique<Index>()) {}

Repository::~Repository() = default;

std::string Repository::location() const { return backend_->location(); }

int Repository::connections() const { return backend_->connections(); }

Result<std::unique_ptr<Repository>> Repository::create(std::string_view location, std::string_view password,
                                                       const CreateOptions& options, const Clock& clock) {
  LB_ASSIGN_OR_RETURN(auto backend, storage::open_backend(location));
  return create(std::move(backend), password, options, clock);
}

Result<std::unique_ptr<Repository>> Repository::create(std::unique_ptr<storage::Backend> backend,
                                                       std::string_view password, const CreateOptions& options,
                                                       const Clock& clock) {
  LB_RETURN_IF_ERROR(chunk::validate(options.chunker));
  LB_RETURN_IF_ERROR(check_new_password(password));
  if (backend->stat(kConfigName).is_ok())
    return Status(ErrorCode::kAlreadyExists,
                  fmt::format("a repository already exists at {}", backend->location()));
  bool store_retention = false;
  if (options.lock_days > 0) {
    // Before create(): an S3 bucket that init makes gets Object Lock.
    auto enforced = backend->set_retention(static_cast<int>(options.lock_days));
    if (!enforced.is_ok()) return enforced.status().with_context("unable to set up the retention lock");
    store_retention = *enforced;
  }
  Status created = backend->create();
  if (!created.is_ok())
    return created.with_context(fmt::format("unable to create a repository at {}", backend->location()));
  std::unique_ptr<Repository> repo(new Repository(std::move(backend), clock));
  int64_t now = clock.now_ns();
  MasterKey master = MasterKey::generate(now);
  if (options.id_key) master.id_key = *options.id_key;
  repo->set_keys(std::make_unique<RepoKeys>(master));
  repo->config_.id = Id::random();
  repo->config_.created_ns = now;
  repo->config_.chunker = options.chunker;
  repo->config_.compression_level = options.compression_level;
  repo->config_.pack_size = options.pack_size;
  repo->config_.lock_days = options.lock_days;
  repo->store_retention_ = store_retention;

  KeyFileInfo info;
  info.created_ns = now;
  info.hostname = options.hostname;
  info.username = options.username;
  info.kdf = options.kdf;
  LB_ASSIGN_OR_RETURN(Bytes key_file, create_key_file(master, password, info));
  repo->key_id_ = Id::random();
  // The key first, the config last: "config" marks a complete repository.
  std::string key_name = "keys/" + repo->key_id_.hex();
  LB_RETURN_IF_ERROR(repo->backend_->write(key_name, key_file));
  std::string config = repo->config_.to_json();
  Status wrote = repo->write_sealed(std::string(kConfigName), as_bytes(config), as_bytes("config"));
  if (!wrote.is_ok()) {
    // Leave nothing that would stop the next init at this location.
    (void)repo->backend_->remove(key_name);
    return wrote;
  }
  return repo;
}

Result<std::unique_ptr<Repository>> Repository::open(std::string_view location, std::string_view password,
                                                     const Clock& clock) {
  LB_ASSIGN_OR_RETURN(auto backend, storage::open_backend(location));
  return open(std::move(backend), password, clock);
}

Status reread_if_damaged(const std::function<Status()>& read_and_open) {
  Status s = read_and_open();
  if (s.code() != ErrorCode::kCorrupt) return s;
  return read_and_open();
}

Result<std::unique_ptr<Repository>> Repository::open(std::unique_ptr<storage::Backend> backend,
                                                     std::string_view password, const Clock& clock) {
  auto config_stat = backend->stat(kConfigName);
  if (!config_stat.is_ok()) {
    if (config_stat.status().code() == ErrorCode::kNotFound || config_stat.status().code() == ErrorCode::kNoRepository)
      return Status(ErrorCode::kNoRepository,
                    fmt::format("there is no repository at {} (no config object): check --repo / "
                                "LIFEBOAT_REPOSITORY, or create one with `lifeboat init`",
                                backend->location()));
    return config_stat.status().with_context("unable to open the repository");
  }
  std::unique_ptr<Repository> repo(new Repository(std::move(backend), clock));
  LB_ASSIGN_OR_RETURN(auto key_objects, repo->backend_->list("keys/"));
  if (key_objects.empty())
    return Status(ErrorCode::kCorrupt, fmt::format("repository {} has no keys/ (damaged)", repo->location()));
  std::sort(key_objects.begin(), key_objects.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::string> damaged;
  // A key file whose bytes were damaged on the way can fail the GCM tag just
  // like a wrong passphrase.  So when no key opens, each file that "refused
  // the passphrase" is read once more, and tried again only if the second
  // read differs from the first: a wrong passphrase costs one more small
  // read per key, never another scrypt.
  std::vector<std::pair<std::string, Bytes>> refused;
  auto adopt = [&](const std::string& name, MasterKey master) {
    repo->set_keys(std::make_unique<RepoKeys>(std::move(master)));
    repo->key_id_ = id_from_name(name).value_or(Id{});
  };
  for (const auto& k : key_objects) {
    Bytes data;
    Result<MasterKey> master = Status(ErrorCode::kInternal, "unread");
    Status read = reread_if_damaged([&]() -> Status {
      auto got = repo->backend_->read(k.name);
      if (!got.is_ok()) return got.status().with_context("unable to read " + k.name);
      data = std::move(*got);
      master = open_key_file(data, password);
      return master.status().code() == ErrorCode::kCorrupt ? master.status() : Status::ok();
    });
    if (!read.is_ok() && read.code() != ErrorCode::kCorrupt) return read;
    if (master.is_ok()) {
      adopt(k.name, std::move(*master));
      break;
    }
    if (master.status().code() == ErrorCode::kWrongPassword)
      refused.emplace_back(k.name, std::move(data));
    else
      damaged.push_back(k.name);
  }
  for (const auto& [name, first] : refused) {
    if (repo->keys_.load()) break;
    auto again = repo->backend_->read(name);
    if (!again.is_ok()) return again.status().with_context("unable to read " + name);
    if (*again == first) continue;
    auto master = open_key_file(*again, password);
    if (master.is_ok()) adopt(name, std::move(*master));
  }
  if (!repo->keys_.load()) {
    std::string hint = damaged.empty() ? "" : fmt::format(" ({} key file(s) are damaged: {})", damaged.size(), damaged[0]);
    return Status(ErrorCode::kWrongPassword,
                  fmt::format("wrong password: no key in {} opens with it{}; check LIFEBOAT_PASSWORD / "
                              "--password-file",
                              repo->location(), hint));
  }
  LB_RETURN_IF_ERROR(repo->finish_open());
  return repo;
}

Result<std::unique_ptr<Repository>> Repository::open_with_key(std::unique_ptr<storage::Backend> backend,
                                                              MasterKey master, const Id& key_id,
                                                              const Clock& clock) {
  std::string key_name = "keys/" + key_id.hex();
  auto key_stat = backend->stat(key_name);
  if (!key_stat.is_ok()) {
    if (key_stat.status().code() == ErrorCode::kNotFound)
      return Status(ErrorCode::kWrongPassword, fmt::format("the cached key {} was removed from {}", key_id.short_hex(),
                                                           backend->location()));
    return key_stat.status();
  }
  std::unique_ptr<Repository> repo(new Repository(std::move(backend), clock));
  repo->set_keys(std::make_unique<RepoKeys>(std::move(master)));
  repo->key_id_ = key_id;
  Status opened = repo->finish_open();
  if (opened.code() == ErrorCode::kCorrupt)
    return Status(ErrorCode::kWrongPassword, "the cached key does not open the repository config");
  if (!opened.is_ok()) return opened;
  return repo;
}

Status Repository::finish_open() {
  Repository* repo = this;
  LB_RETURN_IF_ERROR(repo->load_keyring());
  auto config = repo->read_sealed(std::string(kConfigName), as_bytes("config"));
  if (!config.is_ok() && config.status().code() == ErrorCode::kPermission)
    return Status(ErrorCode::kPermission,
                  "this write-only key cannot read the repository config (sealed under a data key): adding the "
                  "write-only key was interrupted; run `lifeboat key add --write-only` again with a full key");
  if (!config.is_ok()) return config.status().with_context("unable to read the repository config");
  LB_ASSIGN_OR_RETURN(repo->config_, RepoConfig::from_json(as_string_view(*config)));
  return repo->apply_store_retention();
}

Status Repository::apply_store_retention() {
  if (config_.lock_days == 0) return Status::ok();
  auto enforced = backend_->set_retention(static_cast<int>(config_.lock_days));
  if (!enforced.is_ok()) return enforced.status();
  store_retention_ = *enforced;
  return Status::ok();
}

void Repository::set_keys(std::unique_ptr<RepoKeys> keys) {
  keys_.store(keys.get());
  all_keys_.push_back(std::move(keys));
}

void Repository::replace_master(MasterKey master) {
  set_keys(std::make_unique<RepoKeys>(std::move(master), keys().seals_shared_when_known()));
}

Status Repository::load_keyring() {
  // A write-only key holds no key that opens the keyring (and needs none).
  if (keys().write_only()) return Status::ok();
  LB_ASSIGN_OR_RETURN(auto names, list_names("keyring/"));
  if (names.empty()) return Status::ok();
  MasterKey master = keys().master();
  crypto::Key256 kk = keyring_key(master);
  for (const auto& name : names) {
    if (name == kSharedKeyName) {
      LB_RETURN_IF_ERROR(reread_if_damaged([&]() -> Status {
        auto sealed = backend_->read(name);
        if (!sealed.is_ok()) return sealed.status().with_context("unable to read " + name);
        LB_ASSIGN_OR_RETURN(master.shared_key, open_shared_key(kk, *sealed));
        return Status::ok();
      }));
      continue;
    }
    uint32_t epoch = 0;
    auto digits = name.substr(name.rfind('/') + 1);
    if (digits.size() != 10 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    epoch = static_cast<uint32_t>(std::stoul(digits));
    bool known = std::any_of(master.data_keys.begin(), master.data_keys.end(),
                             [&](const DataKey& d) { return d.epoch == epoch; });
    if (known) continue;
    DataKey d;
    LB_RETURN_IF_ERROR(reread_if_damaged([&]() -> Status {
      auto sealed = backend_->read(name);
      if (!sealed.is_ok()) return sealed.status().with_context("unable to read " + name);
      LB_ASSIGN_OR_RETURN(d, open_keyring_entry(kk, epoch, *sealed));
      return Status::ok();
    }));
    master.data_keys.push_back(d);
  }
  std::sort(master.data_keys.begin(), master.data_keys.end(),
            [](const DataKey& a, const DataKey& b) { return a.epoch < b.epoch; });
  replace_master(std::move(master));
  return Status::ok();
}

Status Repository::create_shared_key() {
  if (keys().write_only())
    return Status(ErrorCode::kPermission, "a write-only key cannot add keys; use a full key");
  LB_RETURN_IF_ERROR(refresh_shared_key());
  if (keys().master().shared_key) return Status::ok();
  MasterKey master = keys().master();
  crypto::Key256 shared;
  crypto::random_fill(shared);
  LB_RETURN_IF_ERROR(backend_->write(std::string(kSharedKeyName), seal_shared_key(keyring_key(master), shared))
                         .with_context("unable to store the shared key"));
  master.shared_key = shared;
  replace_master(std::move(master));
  return Status::ok();
}

Status Repository::refresh_shared_key() {
  if (keys().write_only() || keys().master().shared_key) return Status::ok();
  auto st = backend_->stat(std::string(kSharedKeyName));
  if (!st.is_ok()) return st.status().code() == ErrorCode::kNotFound ? Status::ok() : st.status();
  return load_keyring();
}

Result<bool> Repository::reseal_if_stale(const std::string& name, ByteSpan aad) {
  LB_ASSIGN_OR_RETURN(Bytes sealed, backend_->read(name));
  uint32_t want = is_data_object(name) ? keys().data_epoch() : keys().shared_epoch();
  if (!sealed.empty() && sealed[0] == kEnvelopeVersion && envelope_epoch(sealed) == want) return false;
  Bytes plain;
  Status s = keys().open(sealed, aad, plain);
  if (!s.is_ok()) return Status(ErrorCode::kCorrupt, name + " is damaged: " + s.message());
  LB_RETURN_IF_ERROR(write_sealed(name, plain, aad).with_context("unable to rewrite " + name));
  return true;
}

Result<Id> Repository::add_write_only_key(std::string_view password, const KeyFileInfo& info) {
  if (keys().write_only() || !keys().master().shared_key)
    return Status(ErrorCode::kInternal, "add_write_only_key needs a full key and the shared key");
  return write_key_file(write_only_key(keys().master()), password, info);
}

void Repository::stop_sharing() { set_keys(std::make_unique<RepoKeys>(keys().master(), false)); }

Bytes Repository::lock_aad(const Id& id) { return aad_with_id("lock", id); }
Bytes Repository::audit_aad(const Id& id) { return aad_with_id("log", id); }
Bytes Repository::condemned_aad(const Id& id) { return aad_with_id("condemned", id); }

Bytes Repository::index_aad(const Id& id) { return aad_with_id("index", id); }
Bytes Repository::snapshot_aad(const Id& id) { return aad_with_id("snapshot", id); }

Result<Id> Repository::retire_old_data_keys(std::string_view password, const KeyFileInfo& info) {
  MasterKey master = keys().master();
  master.data_keys = {master.data_keys.back()};
  master.shared_key.reset();
  // The new key first: a crash afterwards leaves keys that still open everything.
  LB_ASSIGN_OR_RETURN(Id id, write_key_file(master, password, info));
  LB_ASSIGN_OR_RETURN(auto keys, backend_->list("keys/"));
  for (const auto& k : keys)
    if (k.name != "keys/" + id.hex()) LB_RETURN_IF_ERROR(backend_->remove(k.name).with_context("unable to remove " + k.name));
  LB_ASSIGN_OR_RETURN(auto ring, backend_->list("keyring/"));
  for (const auto& k : ring) LB_RETURN_IF_ERROR(backend_->remove(k.name).with_context("unable to remove " + k.name));
  set_keys(std::make_unique<RepoKeys>(std::move(master)));
  key_id_ = id;
  return id;
}

Result<uint32_t> Repository::rotate_data_key() {
  MasterKey master = keys().master();
  if (master.write_only()) return Status(ErrorCode::kPermission, "a write-only key cannot rotate keys; use a full key");
  DataKey d;
  d.epoch = master.data_keys.back().epoch + 1;
  if (d.epoch == kBoxEpoch) return Status(ErrorCode::kInvalidArgument, "no key epochs left: use key rotate --reencrypt");
  crypto::random_fill(d.key);
  d.created_ns = clock_.now_ns();
  Bytes sealed = seal_keyring_entry(keyring_key(master), d);
  if (backend_->stat(keyring_name(d.epoch)).is_ok())
    return Status(ErrorCode::kAlreadyExists,
                  fmt::format("key epoch {} exists already (another rotation ran at the same time); run "
                              "`lifeboat key rotate` again if you want one more",
                              d.epoch));
  LB_RETURN_IF_ERROR(backend_->write(keyring_name(d.epoch), sealed).with_context("unable to store the new data key"));
  master.data_keys.push_back(d);
  replace_master(std::move(master));
  return d.epoch;
}

Status Repository::update_config(const RepoConfig& config) {
  std::string text = config.to_json();
  LB_RETURN_IF_ERROR(write_sealed(std::string(kConfigName), as_bytes(text), as_bytes("config"))
                         .with_context("unable to write the repository config"));
  config_ = config;
  return apply_store_retention();
}

Result<std::vector<Repository::KeyListing>> Repository::list_keys() const {
  LB_ASSIGN_OR_RETURN(auto objects, backend_->list("keys/"));
  std::vector<KeyListing> out;
  for (const auto& o : objects) {
    auto id = id_from_name(o.name);
    if (!id) continue;
    KeyListing k;
    auto data = backend_->read(o.name);
    if (!data.is_ok()) {
      if (data.status().code() == ErrorCode::kNotFound) continue;  // removed meanwhile
      return data.status().with_context("unable to read " + o.name);
    }
    auto info = parse_key_file_info(*data);
    if (info.is_ok()) k.info = std::move(*info);
    else k.readable = false;
    k.info.id = *id;
    out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end(), [](const KeyListing& a, const KeyListing& b) {
    return a.info.created_ns != b.info.created_ns ? a.info.created_ns < b.info.created_ns : a.info.id < b.info.id;
  });
  return out;
}

Result<Id> Repository::add_key(std::string_view password, const KeyFileInfo& info) {
  return write_key_file(keys().master(), password, info);
}

Result<Id> Repository::write_key_file(const MasterKey& master, std::string_view password, const KeyFileInfo& info) {
  LB_RETURN_IF_ERROR(check_new_password(password));
  KeyFileInfo i = info;
  if (i.created_ns == 0) i.created_ns = clock_.now_ns();
  LB_ASSIGN_OR_RETURN(Bytes file, create_key_file(master, password, i));
  Id id = Id::random();
  LB_RETURN_IF_ERROR(backend_->write("keys/" + id.hex(), file).with_context("unable to write the new key"));
  return id;
}

Status Repository::remove_key(const Id& id, bool even_current) {
  if (id == key_id_ && !even_current)
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("refusing to remove key {}: it is the one this command opened the repository with; "
                              "open with another key's password to remove it",
                              id.short_hex()));
  LB_ASSIGN_OR_RETURN(auto keys, list_keys());
  auto it = std::find_if(keys.begin(), keys.end(), [&](const KeyListing& k) { return k.info.id == id; });
  if (it == keys.end())
    return Status(ErrorCode::kNotFound, fmt::format("there is no key {} in {}", id.short_hex(), location()));
  // Write-only keys open no data: the last key that does must stay.
  bool full_remains = std::any_of(keys.begin(), keys.end(), [&](const KeyListing& k) {
    return k.info.id != id && k.readable && !k.info.write_only;
  });
  if (!it->info.write_only && !full_remains)
    return Status(ErrorCode::kInvalidArgument,
                  keys.size() <= 1 ? "refusing to remove the last key: the repository would be lost"
                                   : "refusing to remove the last full key: write-only keys cannot read the data, so "
                                     "the repository would be lost");
  return backend_->remove("keys/" + id.hex());
}

Status Repository::load_index(bool tolerate_damage, std::vector<std::string>* damaged) {
  clear_index();  // from scratch: what an earlier load saw may have been pruned since
  LB_RETURN_IF_ERROR(scan_index_files([&](const Id&, Result<std::vector<IndexPack>> packs) -> Status {
    if (!packs.is_ok()) {
      if (tolerate_damage && damaged) {
        damaged->push_back(packs.status().message());
        return Status::ok();
      }
      return packs.status();
    }
    for (const auto& p : *packs) index_->add_pack(p.pack_id, p.blobs);
    return Status::ok();
  }));
  // After the index files: a pack that left the index before this point is
  // in a condemned record by now (prune writes the record first). A
  // write-only key cannot read the records and needs none: it reads no
  // blob, and dedups only against the index.
  if (keys().write_only()) return Status::ok();
  return load_condemned(tolerate_damage ? damaged : nullptr).status();
}

Status Repository::scan_index_files(
    const std::function<Status(const Id&, Result<std::vector<IndexPack>>)>& fn) const {
  std::unordered_set<Id, IdHash> done;
  for (int round = 0;; ++round) {
    LB_ASSIGN_OR_RETURN(auto ids, list_index_files());
    bool vanished = false;
    for (const Id& id : ids) {
      if (!done.insert(id).second) continue;
      auto packs = read_index_file(id);
      if (packs.status().code() == ErrorCode::kNotFound) {
        vanished = true;
        continue;
      }
      LB_RETURN_IF_ERROR(fn(id, std::move(packs)));
    }
    if (!vanished) return Status::ok();
    if (round >= 100)
      return Status(ErrorCode::kIo, "the index keeps changing while it is read; try again when prune has finished");
  }
}

Result<std::vector<CondemnedRecord>> Repository::list_condemned(std::vector<std::string>* damaged) const {
  LB_ASSIGN_OR_RETURN(auto names, list_names("condemned/"));
  std::vector<CondemnedRecord> out;
  for (const auto& name : names) {
    auto id = id_from_name(name);
    if (!id) continue;
    auto body = read_sealed(name, condemned_aad(*id), /*full_keys_only=*/true);
    Result<CondemnedRecord> rec = body.is_ok() ? decode_condemned(*body, *id) : Result<CondemnedRecord>(body.status());
    if (!rec.is_ok()) {
      if (rec.status().code() == ErrorCode::kNotFound) continue;  // swept meanwhile
      if (!damaged) return rec.status();
      damaged->push_back(rec.status().message());
      continue;
    }
    out.push_back(std::move(*rec));
  }
  std::sort(out.begin(), out.end(),
            [](const CondemnedRecord& a, const CondemnedRecord& b) { return a.time_ns < b.time_ns; });
  return out;
}

Status Repository::write_condemned(CondemnedRecord& record) {
  if (record.id == Id{}) record.id = Id::random();
  Bytes body = encode_condemned(record);
  return write_sealed("condemned/" + record.id.hex(), body, condemned_aad(record.id))
      .with_context("unable to write condemned/" + record.id.short_hex());
}

Result<std::vector<CondemnedRecord>> Repository::load_condemned(std::vector<std::string>* damaged) {
  condemned_ = std::make_unique<Index>();
  std::vector<std::string> bad;
  LB_ASSIGN_OR_RETURN(auto records, list_condemned(&bad));
  condemned_unreadable_ = !bad.empty();
  if (damaged) damaged->insert(damaged->end(), bad.begin(), bad.end());
  for (const auto& r : records)
    for (const auto& p : r.packs) condemned_->add_pack(p.pack_id, p.blobs);
  return records;
}

Result<size_t> Repository::index_unindexed_packs() {
  if (condemned_unreadable_) return size_t{0};  // cannot tell condemned packs from orphans
  LB_ASSIGN_OR_RETURN(auto packs, list_packs());
  std::vector<IndexPack> adopted;
  for (const auto& p : packs) {
    if (index_->has_pack(p.id) || condemned_->has_pack(p.id)) continue;
    auto entries = read_pack_header(p.id, p.size);
    if (!entries.is_ok()) continue;  // a damaged pack is check's business, not backup's
    index_->add_pack(p.id, *entries);
    adopted.push_back({p.id, std::move(*entries)});
  }
  if (!adopted.empty()) LB_RETURN_IF_ERROR(write_index(adopted).status());
  return adopted.size();
}

std::optional<BlobLocation> Repository::locate(const Id& id) const {
  if (auto loc = index_->lookup(id)) return loc;
  return condemned_->lookup(id);
}

Result<Bytes> Repository::read_blob(const Id& id) const { return read_blob_from(id, /*base=*/false); }

Result<Bytes> Repository::read_base(const Id& base) const { return read_blob_from(base, /*base=*/true); }

Result<Bytes> Repository::read_blob_from(const Id& id, bool base_only) const {
  auto loc = locate(id);
  // A delta's base that is missing or no base is damage, not absence.
  if (!loc)
    return Status(base_only ? ErrorCode::kCorrupt : ErrorCode::kNotFound,
                  fmt::format("blob {} is not in the index", id.short_hex()));
  if (base_only && (loc->entry.is_delta() || loc->entry.type != BlobType::kData))
    return Status(ErrorCode::kCorrupt, fmt::format("blob {} is not a whole data blob", id.short_hex()));
  Bytes base;
  if (loc->entry.is_delta()) {
    auto b = read_base(loc->entry.base);
    if (!b.is_ok()) return b.status().with_context(fmt::format("the base of blob {}", id.short_hex()));
    base = std::move(*b);
  }
  Bytes out;
  int attempt = 0;
  LB_RETURN_IF_ERROR(reread_if_damaged([&]() -> Status {
    Bytes sealed;
    if ((loc->entry.type == BlobType::kTree || base_only) && connections() > 1) {
      if (attempt++ > 0) drop_tree_pack(loc->pack_id);  // the cached copy may be the damaged one
      LB_ASSIGN_OR_RETURN(auto pack, tree_pack(loc->pack_id));
      uint64_t end = std::min<uint64_t>(pack->size(), uint64_t{loc->entry.offset} + loc->entry.length);
      if (loc->entry.offset < end)
        sealed = to_bytes(ByteSpan(*pack).subspan(loc->entry.offset, end - loc->entry.offset));
    } else {
      LB_ASSIGN_OR_RETURN(sealed, read_pack(loc->pack_id, loc->entry.offset, loc->entry.length));
    }
    if (sealed.size() != loc->entry.length)
      return Status(ErrorCode::kCorrupt,
                    fmt::format("pack {} is truncated (blob {})", loc->pack_id.short_hex(), id.short_hex()));
    out.clear();
    Status s = open_blob(keys(), loc->entry, sealed, out, base);
    if (!s.is_ok()) return s.with_context(fmt::format("blob {} in pack {}", id.short_hex(), loc->pack_id.short_hex()));
    return Status::ok();
  }));
  return out;
}

Result<std::shared_ptr<const Bytes>> Repository::tree_pack(const Id& pack_id) const {
  {
    std::lock_guard lock(tree_packs_mu_);
    for (auto it = tree_packs_.begin(); it != tree_packs_.end(); ++it)
      if (it->first == pack_id) {
        tree_packs_.splice(tree_packs_.begin(), tree_packs_, it);
        return tree_packs_.front().second;
      }
  }
  LB_ASSIGN_OR_RETURN(Bytes data, read_pack(pack_id));
  auto pack = std::make_shared<const Bytes>(std::move(data));
  std::lock_guard lock(tree_packs_mu_);
  tree_packs_.emplace_front(pack_id, pack);
  size_t total = 0;
  for (auto it = tree_packs_.begin(); it != tree_packs_.end(); ++it) {
    total += it->second->size();
    if (total > kTreePackCacheBytes && it != tree_packs_.begin()) {
      tree_packs_.erase(it, tree_packs_.end());
      break;
    }
  }
  return pack;
}

void Repository::drop_tree_pack(const Id& pack_id) const {
  std::lock_guard lock(tree_packs_mu_);
  tree_packs_.remove_if([&](const auto& entry) { return entry.first == pack_id; });
}

Result<Tree> Repository::load_tree(const Id& id) const {
  LB_ASSIGN_OR_RETURN(Bytes data, read_blob(id));
  auto tree = decode_tree(data);
  if (!tree.is_ok()) return tree.status().with_context("tree " + id.short_hex());
  return tree;
}

Result<std::vector<PackFile>> Repository::list_packs() const {
  LB_ASSIGN_OR_RETURN(auto objects, backend_->list("data/"));
  std::vector<PackFile> out;
  out.reserve(objects.size());
  for (const auto& o : objects) {
    auto id = id_from_name(o.name);
    if (id && pack_name(*id) == o.name) out.push_back({*id, o.size, o.archived});
  }
  return out;
}

Result<Bytes> Repository::read_pack(const Id& pack_id, uint64_t offset, uint64_t length) const {
  Bytes out;
  LB_RETURN_IF_ERROR(read_pack_into(pack_id, offset, length, out));
  return out;
}

Status Repository::read_pack_into(const Id& pack_id, uint64_t offset, uint64_t length, Bytes& out) const {
  Status s = backend_->read_into(pack_name(pack_id), offset, length == UINT64_MAX ? storage::kToEnd : length, out);
  if (s.code() == ErrorCode::kNotFound)
    return Status(ErrorCode::kNotFound, fmt::format("pack {} is missing", pack_id.short_hex()));
  return s;
}

Status Repository::write_pack(const Id& pack_id, ByteSpan data, const std::vector<PackEntry>& entries) {
  bool data_pack = std::none_of(entries.begin(), entries.end(),
                                [](const PackEntry& e) { return e.type == BlobType::kTree; });
  Status s = data_pack ? backend_->write_cold(pack_name(pack_id), data) : backend_->write(pack_name(pack_id), data);
  return s.with_context("unable to write pack " + pack_name(pack_id));
}

bool Repository::has_archive_tiers() const { return backend_->has_archive_tiers(); }

Result<storage::ThawState> Repository::pack_thaw_state(const Id& pack_id) const {
  return backend_->thaw_state(pack_name(pack_id));
}

Status Repository::thaw_pack(const Id& pack_id, int days) const {
  return backend_->thaw(pack_name(pack_id), days).with_context("unable to thaw pack " + pack_id.short_hex());
}

Result<std::vector<PackEntry>> Repository::read_pack_header(const Id& pack_id, uint64_t pack_size) const {
  Result<std::vector<PackEntry>> out = Status(ErrorCode::kInternal, "unread");
  Status s = reread_if_damaged([&]() -> Status {
    out = read_pack_header_once(pack_id, pack_size);
    return out.status();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<std::vector<PackEntry>> Repository::read_pack_header_once(const Id& pack_id, uint64_t pack_size) const {
  uint64_t want = std::min<uint64_t>(pack_size, 64 * 1024);
  for (int attempt = 0; attempt < 2; ++attempt) {
    LB_ASSIGN_OR_RETURN(Bytes tail, read_pack(pack_id, pack_size - want, want));
    if (tail.size() != want)
      return Status(ErrorCode::kCorrupt, fmt::format("pack {} is shorter than listed", pack_id.short_hex()));
    uint64_t needed = 0;
    auto entries = parse_pack_header(keys(), pack_id, pack_size, tail, &needed);
    if (entries.is_ok() || needed == 0 || needed <= want) return entries;
    want = needed;
  }
  return Status(ErrorCode::kCorrupt, fmt::format("pack {} header is unreadable", pack_id.short_hex()));
}

Result<Id> Repository::write_index(const std::vector<IndexPack>& packs) {
  Id id = Id::random();
  Bytes body = encode_index(packs);
  LB_RETURN_IF_ERROR(write_sealed("index/" + id.hex(), body, aad_with_id("index", id))
                         .with_context("unable to write index " + id.short_hex()));
  return id;
}

Result<std::vector<Id>> Repository::list_index_files() const {
  LB_ASSIGN_OR_RETURN(auto names, list_names("index/"));
  std::vector<Id> ids;
  for (const auto& n : names)
    if (auto id = id_from_name(n)) ids.push_back(*id);
  return ids;
}

Result<std::vector<IndexPack>> Repository::read_index_file(const Id& id) const {
  auto body = read_sealed("index/" + id.hex(), aad_with_id("index", id));
  if (!body.is_ok()) return body.status().with_context("index " + id.short_hex());
  auto packs = decode_index(*body);
  if (!packs.is_ok()) return packs.status().with_context("index " + id.short_hex());
  return packs;
}

Result<std::vector<Id>> Repository::list_snapshot_ids() const {
  LB_ASSIGN_OR_RETURN(auto names, list_names("snapshots/"));
  std::vector<Id> ids;
  for (const auto& n : names)
    if (auto id = id_from_name(n)) ids.push_back(*id);
  return ids;
}

Result<Snapshot> Repository::load_snapshot(const Id& id) const {
  auto body = read_sealed("snapshots/" + id.hex(), aad_with_id("snapshot", id));
  if (!body.is_ok()) return body.status().with_context("snapshot " + id.short_hex());
  return decode_snapshot(as_string_view(*body), id);
}

Result<std::vector<Snapshot>> Repository::load_snapshots(std::vector<std::string>* damaged) const {
  LB_ASSIGN_OR_RETURN(auto ids, list_snapshot_ids());
  std::vector<Snapshot> out;
  for (const Id& id : ids) {
    auto s = load_snapshot(id);
    if (!s.is_ok()) {
      if (damaged && s.status().code() != ErrorCode::kNotFound) {
        damaged->push_back(s.status().message());
        continue;
      }
      if (s.status().code() == ErrorCode::kNotFound) continue;  // removed meanwhile
      return s.status();
    }
    out.push_back(std::move(*s));
  }
  std::sort(out.begin(), out.end(), [](const Snapshot& a, const Snapshot& b) {
    return a.time_ns != b.time_ns ? a.time_ns < b.time_ns : a.id < b.id;
  });
  return out;
}

Status Repository::save_snapshot(Snapshot& snapshot) {
  snapshot.id = Id::random();
  std::string json = encode_snapshot(snapshot);
  return write_sealed("snapshots/" + snapshot.id.hex(), as_bytes(json), aad_with_id("snapshot", snapshot.id))
      .with_context("unable to write snapshot " + snapshot.id.short_hex());
}

Status Repository::write_sealed(const std::string& name, ByteSpan plaintext, ByteSpan aad) {
  Bytes sealed;
  sealed.reserve(plaintext.size() + kEnvelopeOverhead + crypto::kX25519KeySize);
  if (is_data_object(name)) keys().seal(plaintext, aad, sealed);
  else keys().seal_shared(plaintext, aad, sealed);
  return backend_->write(name, sealed);
}

Result<Bytes> Repository::read_sealed(const std::string& name, ByteSpan aad, bool full_keys_only) const {
  Result<Bytes> out = Status(ErrorCode::kInternal, "unread");
  Status s = reread_if_damaged([&]() -> Status {
    out = read_sealed_once(name, aad, full_keys_only);
    return out.status();
  });
  if (!s.is_ok()) return s;
  return out;
}

Result<Bytes> Repository::read_sealed_once(const std::string& name, ByteSpan aad, bool full_keys_only) const {
  LB_ASSIGN_OR_RETURN(Bytes sealed, backend_->read(name));
  if (full_keys_only) {
    auto epoch = envelope_epoch(sealed);
    if (epoch == kSharedEpoch || epoch == kBoxEpoch)
      return Status(ErrorCode::kCorrupt, name + " is damaged: it is not sealed under a data key, so no full key "
                                                "wrote it (a write-only key may have forged it)");
  }
  Bytes plain;
  Status s = keys().open(sealed, aad, plain);
  if (s.code() == ErrorCode::kPermission) return Status(ErrorCode::kPermission, name + ": " + s.message());
  if (!s.is_ok()) return Status(ErrorCode::kCorrupt, name + " is damaged: " + s.message());
  return plain;
}

Result<std::vector<std::string>> Repository::list_names(const std::string& prefix) const {
  LB_ASSIGN_OR_RETURN(auto objects, backend_->list(prefix));
  std::vector<std::string> names;
  names.reserve(objects.size());
  for (auto& o : objects) names.push_back(std::move(o.name));
  std::sort(names.begin(), names.end());
  return names;
}

Status Repository::remove(const std::string& name) { return backend_->remove(name); }

Result<std::vector<storage::ObjectInfo>> Repository::list_objects(const std::string& prefix) const {
  return backend_->list(prefix);
}

Result<storage::ObjectInfo> Repository::stat_object(const std::string& name) const { return backend_->stat(name); }

}  // namespace lifeboat::repo
