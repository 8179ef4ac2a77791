#include "keys_command.hpp"

#include "admin_db.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "fp/runtime/errc.hpp"
#include "fp/runtime/secret_box.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/credentials.hpp"
#include "fp/storage/embedded_postgres.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/org_repository.hpp"

namespace fp::app {

namespace {

/// Tenants whose schema holds data: active ones and those awaiting purge.
caf::expected<std::vector<std::string>> tenant_slugs(storage::pg_session& db) {
  return storage::org_slugs_in_states(db, {"active", "deleting"});
}

int keys_list(const config::settings& s) {
  // Listing never creates the default key file: a missing one is reported.
  auto loaded = runtime::load_key_ring(s, false);
  if (!loaded) {
    std::cerr << "fleetprompt: " << describe(loaded.error()) << "\n";
    return 1;
  }
  const auto& ring = *loaded->ring;
  admin_db db;
  if (!db.open(s))
    return 1;
  auto slugs = tenant_slugs(*db.session);
  if (!slugs) {
    std::cerr << "fleetprompt: " << describe(slugs.error()) << "\n";
    return 1;
  }
  std::map<std::string, storage::sealed_count> totals;
  for (const auto& id : ring.ids())
    totals[id].key_id = id;
  for (const auto& slug : *slugs) {
    auto counts = storage::count_sealed(*db.session, slug);
    if (!counts) {
      std::cerr << "fleetprompt: tenant " << slug << ": "
                << describe(counts.error()) << "\n";
      return 1;
    }
    for (const auto& c : *counts) {
      auto& t = totals[c.key_id];
      t.key_id = c.key_id;
      t.credentials += c.credentials;
      t.webhook_secrets += c.webhook_secrets;
    }
  }
  std::printf("%-32s %-7s %-12s %s\n", "KEY", "ACTIVE", "CREDENTIALS",
              "WEBHOOK SECRETS");
  // The ring's keys in ring order, then ids the ring lacks, then plaintext.
  auto row = [](const std::string& name, bool active,
                const storage::sealed_count& c) {
    std::printf("%-32s %-7s %-12lld %lld\n", name.c_str(), active ? "yes" : "",
                static_cast<long long>(c.credentials),
                static_cast<long long>(c.webhook_secrets));
  };
  for (const auto& id : ring.ids())
    row(id, id == ring.active_id(), totals[id]);
  int missing = 0;
  for (const auto& [id, c] : totals) {
    if (id.empty() || ring.has(id))
      continue;
    ++missing;
    row(id + " (not configured)", false, c);
  }
  if (auto plain = totals.find(""); plain != totals.end())
    row("(plaintext)", false, plain->second);
  std::printf("%zu key(s), active %s, %zu tenant(s)\n", ring.ids().size(),
              ring.active_id().c_str(), slugs->size());
  if (missing > 0)
    std::cerr << "fleetprompt: " << missing
              << " key id(s) seal stored values but are not configured: "
                 "those values cannot be opened\n";
  return missing > 0 ? 1 : 0;
}

int keys_rotate(const config::settings& s, bool no_new_key) {
  // Keys only from the environment: the command cannot add one there.
  bool env_only = s.key_file.empty() && !s.master_keys.empty();
  bool add = !no_new_key && !env_only;
  if (add && !s.active_key_id.empty()) {
    std::cerr << "fleetprompt: --active-key-id names the sealing key; rotate "
                 "with --no-new-key, or unset it to add a new key\n";
    return 2;
  }
  std::string new_id;
  std::string file = s.key_file.empty() ? runtime::default_key_file(s) : s.key_file;
  if (add) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
      auto created = runtime::key_ring::ensure_file(file);
      if (!created) {
        std::cerr << "fleetprompt: " << describe(created.error()) << "\n";
        return 1;
      }
      new_id = "k1";
    } else {
      auto added = runtime::key_ring::add_key_to_file(file);
      if (!added) {
        std::cerr << "fleetprompt: " << describe(added.error()) << "\n";
        return 1;
      }
      new_id = *added;
    }
    std::printf("added key %s to %s (active)\n", new_id.c_str(), file.c_str());
  }
  auto loaded = runtime::load_key_ring(s, false);
  if (!loaded) {
    std::cerr << "fleetprompt: " << describe(loaded.error()) << "\n";
    return 1;
  }
  const auto& ring = *loaded->ring;
  if (add && ring.active_id() != new_id) {
    std::cerr << "fleetprompt: the new key " << new_id
              << " is not the active one (" << ring.active_id()
              << "); check the key settings\n";
    return 1;
  }
  admin_db db;
  if (!db.open(s))
    return 1;
  auto slugs = tenant_slugs(*db.session);
  if (!slugs) {
    std::cerr << "fleetprompt: " << describe(slugs.error()) << "\n";
    return 1;
  }
  int64_t credentials = 0;
  int64_t webhook_secrets = 0;
  std::size_t unreadable = 0;
  int failed = 0;
  for (const auto& slug : *slugs) {
    storage::reencrypt_report report;
    // One transaction per tenant: a failure leaves the others done.
    auto err = storage::run_transaction(
      *db.session, [&](storage::pg_session& x) -> caf::error {
        auto r = storage::reencrypt_tenant(x, slug, ring);
        if (!r)
          return std::move(r.error());
        report = std::move(*r);
        return caf::none;
      });
    if (err) {
      std::cerr << "fleetprompt: tenant " << slug << ": " << describe(err) << "\n";
      ++failed;
      continue;
    }
    credentials += report.credentials;
    webhook_secrets += report.webhook_secrets;
    unreadable += report.unreadable.size();
    if (report.credentials + report.webhook_secrets > 0)
      std::printf("tenant %s: re-sealed %lld credential(s), %lld webhook "
                  "secret(s)\n",
                  slug.c_str(), static_cast<long long>(report.credentials),
                  static_cast<long long>(report.webhook_secrets));
    for (const auto& what : report.unreadable)
      std::cerr << "fleetprompt: tenant " << slug << ": " << what
                << " does not open with the configured keys; left as it is\n";
  }
  std::printf("re-sealed %lld credential(s) and %lld webhook secret(s) under "
              "key %s in %zu tenant(s)\n",
              static_cast<long long>(credentials),
              static_cast<long long>(webhook_secrets), ring.active_id().c_str(),
              slugs->size());
  if (add)
    std::printf("restart running nodes so that they load key %s\n",
                new_id.c_str());
  return failed > 0 || unreadable > 0 ? 1 : 0;
}

} // namespace

std::vector<config::flag_spec> keys_flags() {
  return {{"no-new-key", false,
           "rotate: re-seal under the configured active key without adding "
           "a key."}};
}

int run_keys(const config::command_line& cli) {
  const auto& pos = cli.positional;
  bool list = pos.size() == 2 && pos[1] == "list";
  bool rotate = pos.size() == 2 && pos[1] == "rotate";
  if (!list && !rotate) {
    std::cerr << "fleetprompt: usage: fleetprompt keys list | fleetprompt keys "
                 "rotate [--no-new-key]\n";
    return 2;
  }
  if (list && cli.flags.count("no-new-key")) {
    std::cerr << "fleetprompt: --no-new-key is an option of 'keys rotate'\n";
    return 2;
  }
  return list ? keys_list(cli.values)
              : keys_rotate(cli.values, cli.flags.count("no-new-key") > 0);
}

} // namespace fp::app
