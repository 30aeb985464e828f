#include "repo/key_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/keyed_hash.h"
#include "crypto/random.h"
#include "util/encoding.h"
#include "util/path.h"
#include "util/posix_error.h"

namespace lifeboat::repo {

namespace {

std::string password_check(ByteSpan salt, std::string_view password) {
  auto mac = crypto::hmac_sha256(salt, as_bytes(password));
  return base64_encode(ByteSpan(mac.data(), mac.size()));
}

Status no_cache(std::string why) { return Status(ErrorCode::kNotFound, std::move(why)); }

}  // namespace

Result<std::unique_ptr<Repository>> open_from_key_cache(const std::string& cache_file,
                                                        std::unique_ptr<storage::Backend>& backend,
                                                        std::string_view password, const Clock& clock) {
  int fd = ::open(cache_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return no_cache("no key cache");
  struct stat st;
  bool safe = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() && (st.st_mode & 077) == 0;
  std::string text;
  if (safe) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (!safe) return no_cache("the key cache is not private to its owner");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("version", 0) != 1 || !j["location"].is_string() || !j["salt"].is_string() ||
      !j["check"].is_string() || !j["key"].is_string() || !j["master"].is_string())
    return no_cache("the key cache is malformed");
  if (j["location"].get<std::string>() != backend->location()) return no_cache("the key cache is for another location");
  auto salt = base64_decode(j["salt"].get<std::string>());
  if (!salt || password_check(*salt, password) != j["check"].get<std::string>())
    return no_cache("the key cache is for another passphrase");
  auto key_id = Id::from_hex(j["key"].get<std::string>());
  auto master = MasterKey::from_json(j["master"].get<std::string>());
  if (!key_id || !master.is_ok()) return no_cache("the key cache is malformed");
  auto repo = Repository::open_with_key(std::move(backend), std::move(*master), *key_id, clock);
  if (!repo.is_ok() && repo.status().code() == ErrorCode::kWrongPassword) {
    ::unlink(cache_file.c_str());  // revoked or stale: never try it again
    return no_cache(repo.status().message());
  }
  if (repo.is_ok() && (*repo)->config().id.hex() != j.value("repository", ""))
    return no_cache("the key cache is for another repository");
  return repo;
}

Status save_key_cache(const std::string& cache_file, const Repository& repo, std::string_view password) {
  auto slash = cache_file.rfind('/');
  if (slash != std::string::npos) LB_RETURN_IF_ERROR(make_dirs(cache_file.substr(0, slash), 0700));
  Bytes salt = crypto::random_bytes(32);
  nlohmann::json j;
  j["version"] = 1;
  j["location"] = repo.location();
  j["repository"] = repo.config().id.hex();
  j["key"] = repo.key_id().hex();
  j["salt"] = base64_encode(salt);
  j["check"] = password_check(salt, password);
  j["master"] = repo.keys().master().to_json();
  std::string text = j.dump();
  std::string tmp = cache_file + fmt::format(".tmp{}", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return posix_error(errno, "unable to write the key cache " + tmp);
  Status wrote = ::fchmod(fd, 0600) == 0 ? write_all(fd, as_bytes(text), "the key cache " + tmp)
                                         : posix_error(errno, "unable to protect the key cache " + tmp);
  if (wrote.is_ok() && ::fsync(fd) != 0) wrote = posix_error(errno, "unable to write the key cache " + tmp);
  ::close(fd);
  if (wrote.is_ok() && ::rename(tmp.c_str(), cache_file.c_str()) != 0)
    wrote = posix_error(errno, "unable to write the key cache " + cache_file);
  if (!wrote.is_ok()) ::unlink(tmp.c_str());
  return wrote;
}

}  // namespace lifeboat::repo
