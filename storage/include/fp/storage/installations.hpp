#pragma once

// Package installations of a tenant (migrations/tenant/0006_installations.sql):
// the installation rows, what each created, their lifecycle history, and
// the few platform rows the installer writes on their behalf (sealed
// webhook destinations, schedule switches, the signals of a schedule's
// window). Every function runs in the caller's transaction; tenant
// functions take the tenant's validated slug.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/runtime/secret_box.hpp"

namespace fp::storage {

class pg_session;

/// One installation.
struct installation_record {
  std::string id;
  std::string package;
  std::string version;
  /// requested, installing, installed, failed, disabled, upgrading,
  /// uninstalling or uninstalled.
  std::string state = "requested";
  /// JSON object text: the non-secret configuration.
  std::string config = "{}";
  std::vector<std::string> granted_scopes;
  /// During an upgrade; empty otherwise.
  std::string target_version;
  /// JSON object text during an upgrade; empty otherwise.
  std::string target_config;
  /// The installation that pulled this one in; empty when requested.
  std::string required_by;
  /// JSON object text: package -> range.
  std::string dependencies = "{}";
  /// JSON object text: the manifest's limits of the installed version
  /// ({executions_per_hour?, daily_budget_micros?, max_agents?}).
  std::string limits = "{}";
  /// JSON object text {step, message, issues, at}; empty for none.
  std::string error;
  std::string requested_by;
  std::string correlation_id;
  /// RFC 3339 UTC.
  std::string created_at;
  std::string updated_at;
};

/// One thing an installation created.
struct installation_resource {
  /// skill | agent | subscription | schedule | webhook_destination
  std::string kind;
  /// The row's id (a schedule: its name).
  std::string resource_id;
  /// The manifest's name for it.
  std::string name;
  std::string created_at;
};

/// One lifecycle change.
struct installation_transition {
  int64_t id = 0;
  /// Empty for the first.
  std::string from_state;
  std::string to_state;
  std::string version;
  std::string detail;
  std::string actor_id;
  std::string at;
};

/// Inserts `r` (id, package, version, state, config, granted_scopes,
/// required_by, dependencies, limits, requested_by, correlation_id). A live
/// installation of the same package gives runtime::errc::conflict.
caf::expected<installation_record>
insert_installation(pg_session& db, std::string_view slug,
                    const installation_record& r);

/// Installation `id`, or nullopt (also for text that is no UUID); `lock`
/// takes a row lock (FOR UPDATE).
caf::expected<std::optional<installation_record>>
find_installation(pg_session& db, std::string_view slug, std::string_view id,
                  bool lock = false);

/// The live (not uninstalled) installation of `package`, or nullopt.
caf::expected<std::optional<installation_record>>
find_live_installation(pg_session& db, std::string_view slug,
                       std::string_view package);

/// Filters of `list_installations`.
struct installation_filter {
  /// Empty: any state.
  std::string state;
  /// Empty: any package.
  std::string package;
  /// Only installations with an id below this one (cursor).
  std::string before_id;
  int limit = 50;
};

/// Installations newest first.
caf::expected<std::vector<installation_record>>
list_installations(pg_session& db, std::string_view slug,
                   const installation_filter& filter);

/// Live installations (neither uninstalled nor failed) whose
/// `dependencies` name `package` (the ones that need it), oldest first.
caf::expected<std::vector<installation_record>>
installation_dependents(pg_session& db, std::string_view slug,
                        std::string_view package);

/// Live installations that `id` pulled in (required_by = id).
caf::expected<std::vector<installation_record>>
installations_required_by(pg_session& db, std::string_view slug,
                          std::string_view id);

/// Writes the mutable fields of `r` (version, state, config,
/// granted_scopes, target_version, target_config, required_by,
/// dependencies, limits, error) and updated_at. False when absent.
caf::expected<bool> update_installation(pg_session& db, std::string_view slug,
                                        const installation_record& r);

// -- limits -------------------------------------------------------------------------------

/// What an installation's agents may use (the manifest's `limits`).
struct installation_limits {
  /// The package's name, for the reasons of a refusal.
  std::string package;
  std::optional<int64_t> executions_per_hour;
  std::optional<int64_t> daily_budget_micros;
  /// True when one of the above is set.
  bool any() const noexcept {
    return executions_per_hour.has_value() || daily_budget_micros.has_value();
  }
};

/// The limits of installation `id`, or nullopt when there is no such
/// installation (also for text that is no UUID). Members of `limits` that
/// are absent or not integers are left unset.
caf::expected<std::optional<installation_limits>>
installation_limits_of(pg_session& db, std::string_view slug, std::string_view id);

/// Cost (micro-units) of the executions queued since the start of the
/// current UTC day by agents of installation `id` (see agents.hpp
/// spent_today).
caf::expected<int64_t> installation_spent_today(pg_session& db,
                                                std::string_view slug,
                                                std::string_view id);

/// The number of executions queued in the last hour by agents of
/// installation `id`, not counting execution `except_id` (may be empty).
caf::expected<int64_t>
installation_executions_last_hour(pg_session& db, std::string_view slug,
                                  std::string_view id,
                                  std::string_view except_id = {});

/// Appends a transition of installation `id`.
caf::error add_installation_transition(pg_session& db, std::string_view slug,
                                       const std::string& id,
                                       const installation_transition& t);

/// The transitions of installation `id`, oldest first.
caf::expected<std::vector<installation_transition>>
list_installation_transitions(pg_session& db, std::string_view slug,
                              std::string_view id);

/// Records that installation `id` created `res`.
caf::error add_installation_resource(pg_session& db, std::string_view slug,
                                     const std::string& id,
                                     const installation_resource& res);

/// What installation `id` created, oldest first.
caf::expected<std::vector<installation_resource>>
list_installation_resources(pg_session& db, std::string_view slug,
                            std::string_view id);

/// Forgets one resource of installation `id`.
caf::error remove_installation_resource(pg_session& db, std::string_view slug,
                                        const std::string& id,
                                        std::string_view kind,
                                        std::string_view resource_id);

/// Deletes the credentials of installation `id` whose field starts with
/// `prefix`; returns how many.
caf::expected<int64_t> delete_credential_fields(pg_session& db,
                                                std::string_view slug,
                                                std::string_view id,
                                                std::string_view prefix);

/// The slug of the organization with id `org_id`, or nullopt.
caf::expected<std::optional<std::string>> org_slug_of(pg_session& db,
                                                      std::string_view org_id);

/// Creates a webhook destination owned by installation `installation_id`
/// with `secret` ("whsec_<base64>"; empty: a fresh one) sealed by `keys`
/// (see directives.hpp create_webhook_destination). A URL already on the
/// list gives runtime::errc::conflict, a malformed secret
/// errc::invalid_argument. Returns its id.
caf::expected<std::string>
create_sealed_webhook_destination(pg_session& db, std::string_view slug,
                                  const runtime::key_ring& keys,
                                  std::string_view installation_id,
                                  std::string_view url,
                                  std::string_view description,
                                  std::string_view secret);

/// Points destination `id` at `url` with `secret` (sealed anew; empty:
/// the secret it has is kept). False when absent; a URL used by another
/// destination gives errc::conflict, a malformed secret
/// errc::invalid_argument.
caf::expected<bool>
update_sealed_webhook_destination(pg_session& db, std::string_view slug,
                                  const runtime::key_ring& keys,
                                  std::string_view id, std::string_view url,
                                  std::string_view description,
                                  std::string_view secret);

/// Enables or disables job schedule `name`; false when absent.
caf::expected<bool> set_job_schedule_enabled(pg_session& db,
                                             std::string_view name,
                                             bool enabled);

/// One signal of a window.
struct window_signal {
  std::string type;
  /// JSON object text.
  std::string payload;
  std::string occurred_at;
};

/// The newest `limit` signals of tenant `slug` that occurred in the last
/// `hours` hours and whose type matches one of `patterns` (exact, `p.*`,
/// `*`; empty: every type), oldest first. Also returns the window's
/// bounds (RFC 3339) in `start` and `end`.
caf::expected<std::vector<window_signal>>
window_signals(pg_session& db, std::string_view slug,
               const std::vector<std::string>& patterns, int hours, int limit,
               std::string& start, std::string& end);

} // namespace fp::storage
