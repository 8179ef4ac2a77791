// The installer jobs' work: install, upgrade and uninstall, each in one
// transaction. The attempt runs inside a savepoint: a failing step rolls
// back to it (nothing half-created) before the failure is recorded.

#include <algorithm>

#include "fp/actors/agent_rules.hpp"
#include "fp/actors/installation_rules.hpp"
#include "fp/actors/installer.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/agents.hpp"
#include "fp/storage/credentials.hpp"
#include "fp/storage/directives.hpp"
#include "fp/storage/jobs.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/subscriptions.hpp"
#include "installer_internal.hpp"
#include "installer_steps.hpp"
#include "llm_json.hpp"

namespace fp::actors {

namespace {

using namespace installer_detail;
using runtime::errc;
using runtime::make_error;

// -- install -------------------------------------------------------------------------------

caf::expected<std::string> do_install(job_ctx& c, std::string_view id) {
  auto found = storage::find_installation(c.db, c.tenant.slug, id, true);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return std::string{};
  auto x = std::move(**found);
  auto sys = installer_signal_actor();
  if (x.state == "requested") {
    if (auto err = transition(c.db, c.tenant, x, "installing", "", sys, {}, {}))
      return err;
  } else if (x.state != "installing") {
    return x.state; // done already (a repeated job)
  }
  if (auto err = exec(c.db, "SAVEPOINT fp_install"))
    return err;
  outcome o;
  auto m = load_manifest(c.db, x.package, x.version);
  if (!m) {
    o = fail_on("resolve", m.error());
  } else {
    auto secrets = open_secrets(c.db, c.tenant.slug, c.keys, x.id);
    if (!secrets)
      o = fail_on("credentials", secrets.error());
    else if (o = install_dependencies(c, x, *m); o.ok())
      o = install_one(c, x, *m, *secrets);
  }
  if (o.transient)
    return o.transient;
  if (o.failure) {
    if (auto err = exec(c.db, "ROLLBACK TO SAVEPOINT fp_install"))
      return err;
    x.error = error_json(*o.failure);
    if (auto err = transition(c.db, c.tenant, x, "failed",
                              o.failure->step + ": " + o.failure->message, sys,
                              installation_signal_type("install", "failed"),
                              signal_payload(x, error_member(*o.failure))))
      return err;
    return x.state;
  }
  if (auto err = exec(c.db, "RELEASE SAVEPOINT fp_install"))
    return err;
  x.error.clear();
  x.dependencies = dependencies_json(m->dependencies);
  x.limits = limits_json(m->limits);
  if (auto err = transition(c.db, c.tenant, x, "installed", "installed", sys,
                            installation_signal_type("install", "completed"),
                            signal_payload(x)))
    return err;
  return x.state;
}

caf::expected<std::string> do_upgrade(job_ctx& c, std::string_view id) {
  auto found = storage::find_installation(c.db, c.tenant.slug, id, true);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return std::string{};
  auto x = std::move(**found);
  if (x.state != "upgrading")
    return x.state;
  auto sys = installer_signal_actor();
  auto from = x.version;
  auto to = x.target_version.empty() ? x.version : x.target_version;
  if (auto err = exec(c.db, "SAVEPOINT fp_upgrade"))
    return err;
  auto y = x;
  y.version = to;
  outcome o;
  std::optional<package_manifest> new_m;
  [&] {
    auto m = load_manifest(c.db, x.package, to);
    if (!m) {
      o = fail_on("resolve", m.error());
      return;
    }
    new_m = std::move(*m);
    std::string migrated = x.config;
    if (to != from) {
      auto moved = migrate_config(x.config, new_m->upgrade_steps);
      if (!moved) {
        o = fail("upgrade", message_of(moved.error()));
        return;
      }
      migrated = std::move(*moved);
    }
    y.config = merge_objects(migrated, x.target_config.empty() ? "{}" : x.target_config);
    auto secrets = open_secrets(c.db, c.tenant.slug, c.keys, x.id);
    auto pending = open_secrets(c.db, c.tenant.slug, c.keys, x.id, pending_prefix);
    if (!secrets || !pending) {
      o = fail_on("credentials", !secrets ? secrets.error() : pending.error());
      return;
    }
    for (auto& [field, json] : *pending) {
      auto i = std::find_if(secrets->begin(), secrets->end(),
                            [&](auto& p) { return p.first == field; });
      if (i != secrets->end())
        i->second = json;
      else
        secrets->emplace_back(field, json);
    }
    std::string plain;
    if (o = check_install(y, *new_m, *secrets, plain); !o.ok())
      return;
    if (o = install_dependencies(c, y, *new_m); !o.ok())
      return;
    if (o = diff_resources(c, y, *new_m, plain, *secrets); !o.ok())
      return;
    if (o = run_steps(c, y, new_m->upgrade_steps, "upgrade", plain); !o.ok())
      return;
    // The new credentials replace the old ones.
    for (auto& [field, json] : *pending) {
      auto put = storage::put_credential(c.db, c.tenant.slug, c.keys, x.id, field, json);
      if (!put) {
        o = fail_on("credentials", put.error());
        return;
      }
    }
  }();
  if (o.transient)
    return o.transient;
  auto versions = "\"from_version\":" + quote(from) + ",\"to_version\":" + quote(to);
  if (o.failure) {
    if (auto err = exec(c.db, "ROLLBACK TO SAVEPOINT fp_upgrade"))
      return err;
    auto gone = storage::delete_credential_fields(c.db, c.tenant.slug, x.id,
                                                  pending_prefix);
    if (!gone)
      return std::move(gone.error());
    x.target_version.clear();
    x.target_config.clear();
    x.error = error_json(*o.failure);
    if (auto err = transition(c.db, c.tenant, x, "installed",
                              "upgrade to " + to + " failed (rolled back): "
                                + o.failure->step + ": " + o.failure->message,
                              sys, installation_signal_type("upgrade", "failed"),
                              signal_payload(x, versions + ","
                                                  + error_member(*o.failure))))
      return err;
    return x.state;
  }
  if (auto err = exec(c.db, "RELEASE SAVEPOINT fp_upgrade"))
    return err;
  auto gone = storage::delete_credential_fields(c.db, c.tenant.slug, x.id,
                                                pending_prefix);
  if (!gone)
    return std::move(gone.error());
  y.target_version.clear();
  y.target_config.clear();
  y.error.clear();
  y.dependencies = dependencies_json(new_m->dependencies);
  // The new version's limits; a rolled-back upgrade keeps the old ones.
  y.limits = limits_json(new_m->limits);
  if (auto err = transition(c.db, c.tenant, y, "installed",
                            from == to ? "reconfigured" : "upgraded from " + from,
                            sys, installation_signal_type("upgrade", "completed"),
                            signal_payload(y, versions)))
    return err;
  return y.state;
}

caf::expected<std::string> do_uninstall(job_ctx& c, std::string_view id) {
  auto found = storage::find_installation(c.db, c.tenant.slug, id, true);
  if (!found)
    return std::move(found.error());
  if (!*found)
    return std::string{};
  auto x = std::move(**found);
  if (x.state != "uninstalling")
    return x.state;
  auto sys = installer_signal_actor();
  // Uninstall steps are best effort: a failing one is rolled back and the
  // removal goes on.
  if (auto m = load_manifest(c.db, x.package, x.version);
      m && !m->uninstall_steps.empty()) {
    if (auto err = exec(c.db, "SAVEPOINT fp_uninstall_steps"))
      return err;
    auto o = run_steps(c, x, m->uninstall_steps, "uninstall", x.config);
    if (o.transient)
      return o.transient;
    if (auto err = exec(c.db, o.failure ? "ROLLBACK TO SAVEPOINT fp_uninstall_steps"
                                        : "RELEASE SAVEPOINT fp_uninstall_steps"))
      return err;
  }
  if (auto err = delete_resources(c, x))
    return err;
  auto creds = storage::delete_credentials(c.db, c.tenant.slug, x.id);
  if (!creds)
    return std::move(creds.error());
  x.error.clear();
  x.target_version.clear();
  x.target_config.clear();
  if (auto err = transition(c.db, c.tenant, x, "uninstalled", "uninstalled", sys,
                            installation_signal_type("uninstall", "completed"),
                            signal_payload(x)))
    return err;
  // Dependencies it pulled in that nothing else needs go with it.
  auto pulled = storage::installations_required_by(c.db, c.tenant.slug, x.id);
  if (!pulled)
    return std::move(pulled.error());
  for (auto& d : *pulled) {
    auto needed = storage::installation_dependents(c.db, c.tenant.slug, d.package);
    if (!needed)
      return std::move(needed.error());
    if (!needed->empty())
      continue;
    if (d.state == "uninstalling" || !installation_transition_allowed(
          *parse_installation_state(d.state), installation_state::uninstalling))
      continue;
    if (auto err = transition(c.db, c.tenant, d, "uninstalling",
                              "no longer needed by " + x.package, sys,
                              installation_signal_type("uninstall", "requested"),
                              signal_payload(d)))
      return err;
    auto done = do_uninstall(c, d.id);
    if (!done)
      return std::move(done.error());
  }
  return x.state;
}

} // namespace

caf::expected<std::string> run_installer_job(storage::pg_session& db,
                                             const tenant_ref& tenant,
                                             const runtime::key_ring& keys,
                                             std::string_view kind,
                                             std::string_view id) {
  job_ctx c{db, tenant, keys};
  if (kind == install_job_kind)
    return do_install(c, id);
  if (kind == upgrade_job_kind)
    return do_upgrade(c, id);
  if (kind == uninstall_job_kind)
    return do_uninstall(c, id);
  return make_error(errc::invalid_argument,
                    "unknown installer job kind " + std::string{kind});
}

} // namespace fp::actors
