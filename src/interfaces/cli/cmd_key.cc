#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "interfaces/cli/cli.h"
#include "ops/keys.h"
#include "ops/reencrypt.h"
#include "util/clock.h"
#include "util/time_format.h"
#include "util/utf8.h"

namespace lifeboat::cli {
namespace {

struct KeyArgs {
  std::string new_password_file;
  std::string host;
  std::string user;
  std::string id;
  bool write_only = false;
};

int run_list(Globals& g) {
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto keys = ops::key_list(**repo);
  if (!keys.is_ok()) return fail(keys.status());
  const repo::Id& current = (*repo)->key_id();
  if (g.json) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& k : *keys) {
      nlohmann::json j = {{"id", k.info.id.hex()}, {"current", k.info.id == current}, {"readable", k.readable}};
      if (k.readable) {
        j["kind"] = k.info.write_only ? "write-only" : "full";
        j["created"] = format_rfc3339(k.info.created_ns);
        j["hostname"] = escape_name(k.info.hostname);
        j["username"] = escape_name(k.info.username);
        j["kdf"] = {{"name", "scrypt"}, {"n", k.info.kdf.n}, {"r", k.info.kdf.r}, {"p", k.info.kdf.p}};
      }
      a.push_back(j);
    }
    fmt::print("{}\n", a.dump());
    return kExitOk;
  }
  fmt::print(" {:<8}  {:<10}  {:<19}  {:<16}  {}\n", "ID", "Kind", "Created", "Host", "User");
  fmt::print("{}\n", std::string(72, '-'));
  for (const auto& k : *keys) {
    if (!k.readable) {
      fmt::print(" {:<8}  (damaged key file)\n", k.info.id.short_hex());
      continue;
    }
    fmt::print("{}{:<8}  {:<10}  {:<19}  {:<16}  {}\n", k.info.id == current ? "*" : " ", k.info.id.short_hex(),
               k.info.write_only ? "write-only" : "full", format_local(k.info.created_ns),
               escape_name(k.info.hostname), escape_name(k.info.username));
  }
  fmt::print("{}\n{} key{}; * marks the key this password opened\n", std::string(72, '-'), keys->size(),
             keys->size() == 1 ? "" : "s");
  return kExitOk;
}

// add and passwd: a new key under a new password.
int run_new_key(Globals& g, const KeyArgs& a, bool replace) {
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto password = read_new_password(a.new_password_file);
  if (!password.is_ok()) return fail(password.status());
  ops::KeyAddOptions o;
  o.hostname = a.host;
  o.username = a.user;
  o.write_only = a.write_only;
  auto ctx = make_context();
  repo::Id old = (*repo)->key_id();
  auto id = replace ? ops::key_passwd(**repo, *password, o, ctx) : ops::key_add(**repo, *password, o, ctx);
  if (!id.is_ok()) return fail(id.status());
  if (g.json) {
    nlohmann::json j = {{"message_type", replace ? "key_changed" : "key_added"}, {"id", id->hex()}};
    if (!replace) j["kind"] = a.write_only ? "write-only" : "full";
    if (replace) j["removed"] = old.hex();
    fmt::print("{}\n", j.dump());
  } else if (replace) {
    fmt::print("changed the password: new key {}, removed key {}\n", id->short_hex(), old.short_hex());
  } else {
    fmt::print("added {}key {}\n", a.write_only ? "write-only " : "", id->short_hex());
  }
  return kExitOk;
}

int run_remove(Globals& g, const KeyArgs& a) {
  auto repo = open_repository(g);
  if (!repo.is_ok()) return fail(repo.status());
  auto id = ops::key_remove(**repo, a.id, make_context());
  if (!id.is_ok()) return fail(id.status());
  if (g.json) fmt::print("{}\n", nlohmann::json{{"message_type", "key_removed"}, {"id", id->hex()}}.dump());
  else fmt::print("removed key {}\n", id->short_hex());
  return kExitOk;
}

}  // namespace

void add_key_command(CLI::App& app, Globals& g) {
  auto a = std::make_shared<KeyArgs>();
  auto* key = app.add_subcommand("key", "Manage the passwords (key files) that open the repository");
  key->require_subcommand(1);
  key->footer(
      "Every key wraps the same master key: adding or removing one never touches the data. New passwords come\n"
      "from --new-password-file, LIFEBOAT_NEW_PASSWORD_FILE, LIFEBOAT_NEW_PASSWORD or a prompt, never argv.");

  auto* list = key->add_subcommand("list", "List the keys, marking the one the given password opens");
  list->callback([&g] { g.action = [&g] { return run_list(g); }; });

  auto new_key_options = [&](CLI::App* cmd) {
    cmd->add_option("--new-password-file", a->new_password_file, "Read the new password from this file");
    cmd->add_option("--host", a->host, "Host name recorded in the new key (default: this host)");
    cmd->add_option("--user", a->user, "User name recorded in the new key (default: this user)");
  };
  auto* add = key->add_subcommand("add", "Add a key: another password that opens the repository");
  new_key_options(add);
  add->add_flag("--write-only", a->write_only,
                "A key for backup hosts: it can create snapshots (deduplicating against what is stored) but "
                "cannot read, restore, forget or prune anything; see the README");
  add->callback([&g, a] { g.action = [&g, a] { return run_new_key(g, *a, false); }; });

  auto* passwd = key->add_subcommand("passwd", "Change the password: add a key for the new one, remove the current");
  new_key_options(passwd);
  passwd->callback([&g, a] { g.action = [&g, a] { return run_new_key(g, *a, true); }; });

  auto* rotate = key->add_subcommand(
      "rotate", "Start a new data key: everything written from now on is sealed with it; older data stays readable "
                "and moves to the new key as prune repacks it");
  auto reencrypt = std::make_shared<bool>(false);
  auto ropts = std::make_shared<ops::ReencryptOptions>();
  rotate->add_flag("--reencrypt", *reencrypt,
                   "Also seal everything again under the new key now (every pack is rewritten) and retire the old "
                   "keys; takes the exclusive lock");
  rotate->add_flag("--remove-other-keys", ropts->remove_other_keys,
                   "With --reencrypt: remove the other key files (they wrap the retired keys); add their passwords "
                   "again with `key add`");
  rotate->callback([&g, reencrypt, ropts] {
    g.action = [&g, reencrypt, ropts]() -> int {
      if (!*reencrypt) {
        if (ropts->remove_other_keys)
          return fail(Status(ErrorCode::kInvalidArgument, "--remove-other-keys goes with --reencrypt"));
        auto repo = open_repository(g);
        if (!repo.is_ok()) return fail(repo.status());
        auto epoch = ops::key_rotate(**repo, make_context());
        if (!epoch.is_ok()) return fail(epoch.status());
        if (g.json) fmt::print("{}\n", nlohmann::json{{"message_type", "rotated"}, {"epoch", *epoch}}.dump());
        else if (!g.quiet) fmt::print("new data key: epoch {}\n", *epoch);
        return kExitOk;
      }
      std::string location = repository_location(g);
      if (location.empty())
        return fail(Status(ErrorCode::kInvalidArgument, "no repository given: use --repo or set LIFEBOAT_REPOSITORY"));
      auto password = read_password(g, false);
      if (!password.is_ok()) return fail(password.status());
      auto repo = repo::Repository::open(location, *password, SystemClock::instance());
      if (!repo.is_ok()) return fail(repo.status());
      enable_graceful_interrupt();
      auto ctx = make_context();
      ctx.cancel = &cancel_token();
      auto r = ops::reencrypt(**repo, *password, *ropts, ctx);
      if (!r.is_ok()) return fail(r.status());
      if (g.json) {
        fmt::print("{}\n", nlohmann::json{{"message_type", "rotated"},
                                          {"epoch", r->epoch},
                                          {"reencrypted", true},
                                          {"key_id", r->key_id.hex()},
                                          {"packs_read", r->packs_read},
                                          {"packs_written", r->packs_written},
                                          {"bytes_written", r->bytes_written},
                                          {"blobs", r->blobs},
                                          {"snapshots", r->snapshots},
                                          {"log_records", r->log_records},
                                          {"removed_keys", r->removed_keys}}
                               .dump());
      } else if (!g.quiet) {
        fmt::print("new data key: epoch {}; {} packs rewritten into {} ({}), {} snapshots and {} log records sealed "
                   "again; older keys retired\n",
                   r->epoch, r->packs_read, r->packs_written, format_bytes(r->bytes_written), r->snapshots,
                   r->log_records);
        fmt::print("this password now opens key {}", r->key_id.short_hex());
        if (!r->removed_keys.empty())
          fmt::print("; removed {} other key(s), add their passwords again with `lifeboat key add`",
                     r->removed_keys.size());
        fmt::print("\n");
      }
      return kExitOk;
    };
  });

  auto* remove = key->add_subcommand("remove", "Remove a key (not the current one, never the last)");
  remove->add_option("id", a->id, "Key id or unique prefix (see `lifeboat key list`)")->required();
  remove->callback([&g, a] { g.action = [&g, a] { return run_remove(g, *a); }; });
}

}  // namespace lifeboat::cli
