#pragma once

// Package installations: what the API does in its request transaction
// (validate, seal credentials, record the request, enqueue the installer
// job) and what the installer jobs do (install, upgrade, uninstall — each
// in one transaction with a savepoint around the attempt, so a failing
// step leaves nothing half-created), plus the schedule-driven agent runs
// of installed packages.
//
//   POST /installations ──request_install──► installation (requested)
//                                            + package.install job
//   job dispatcher ──async handler──► installer ──► tenant actor
//                                        └─► installation actor (one
//                                            operation at a time, as a
//                                            storage-pool db task)

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "fp/actors/json_schema.hpp"
#include "fp/actors/signal_emit.hpp"
#include "fp/runtime/actor_directory.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/secret_box.hpp"
#include "fp/storage/installations.hpp"

namespace fp::storage {
class pg_session;
} // namespace fp::storage

namespace fp::actors {

class job_registry;

/// Job kinds and queue of the installer.
inline constexpr const char* install_job_kind = "package.install";
inline constexpr const char* upgrade_job_kind = "package.upgrade";
inline constexpr const char* uninstall_job_kind = "package.uninstall";
inline constexpr const char* scheduled_run_job_kind = "package.scheduled_run";
inline constexpr const char* installer_job_queue = "packages";
/// Attempts of an installer job (transient errors only: a failing step is
/// recorded on the installation and completes the job).
inline constexpr int installer_max_attempts = 5;

/// The actor of lifecycle signals the installer emits itself.
storage::signal_actor installer_signal_actor();

// -- requests (the API's transaction) ------------------------------------------------------

/// What a caller asks for. Secret config fields may come in `config` or in
/// `credentials` (field -> plaintext); either way they are sealed into
/// credentials and kept out of config, job args and signals.
struct installation_request {
  std::string package;
  /// An exact version or a range; empty: any ("*").
  std::string range;
  bool prerelease = false;
  /// JSON object text; nullopt: not given (upgrade/PATCH keep the old).
  std::optional<std::string> config;
  std::map<std::string, std::string> credentials;
  /// nullopt: not given.
  std::optional<std::vector<std::string>> permissions;
  /// Who asks.
  storage::signal_actor actor;
};

/// The outcome of a request.
struct installation_answer {
  storage::installation_record record;
  /// False when an existing installation answered (idempotent repeat).
  bool created = true;
};

/// Validates and records an install request and enqueues its
/// `package.install` job, in the caller's transaction. Errors:
/// runtime::errc::not_found (no such package), errc::invalid_argument
/// (no version matches, dependency conflict or cycle, bad config — then
/// `issues` holds the paths — bad permission, unknown credential field),
/// errc::conflict (another version is installed). A live installation of
/// the same version answers with `created` false.
caf::expected<installation_answer>
request_install(storage::pg_session& db, const tenant_ref& tenant,
                const runtime::key_ring& keys, const installation_request& req,
                std::vector<schema_issue>* issues = nullptr);

/// Records an upgrade of installation `id` to `req.range` (empty: its
/// version — a reconfiguration), new credentials kept aside until the
/// upgrade succeeds, and enqueues `package.upgrade`. nullopt when absent;
/// errc::conflict unless installed.
caf::expected<std::optional<storage::installation_record>>
request_upgrade(storage::pg_session& db, const tenant_ref& tenant,
                const runtime::key_ring& keys, std::string_view id,
                const installation_request& req,
                std::vector<schema_issue>* issues = nullptr);

/// Records the uninstall of `id` and enqueues `package.uninstall`. nullopt
/// when absent; errc::conflict while a live installation depends on it or
/// in a state that cannot uninstall.
caf::expected<std::optional<storage::installation_record>>
request_uninstall(storage::pg_session& db, const tenant_ref& tenant,
                  std::string_view id, const storage::signal_actor& actor);

/// Installs a failed installation again (`package.install`).
caf::expected<std::optional<storage::installation_record>>
request_retry(storage::pg_session& db, const tenant_ref& tenant,
              std::string_view id, const storage::signal_actor& actor);

/// Disables (`enable` false) or enables installation `id` at once: its
/// agents are paused or restored to their manifest state, its
/// subscriptions and schedules switched. nullopt when absent;
/// errc::conflict from another state.
caf::expected<std::optional<storage::installation_record>>
set_installation_enabled(storage::pg_session& db, const tenant_ref& tenant,
                         std::string_view id, bool enable,
                         const storage::signal_actor& actor);

// -- the jobs' work (one transaction each) -------------------------------------------------

/// Runs the pending operation of installation `id` (`kind` is one of the
/// job kinds above). A failing step is recorded on the installation (and
/// its failed signal emitted): no error. Errors are transient (database)
/// ones: the job retries. Returns the installation's state afterwards.
caf::expected<std::string> run_installer_job(storage::pg_session& db,
                                             const tenant_ref& tenant,
                                             const runtime::key_ring& keys,
                                             std::string_view kind,
                                             std::string_view id);

/// The `package.scheduled_run` job: queues the agent's execution over
/// the signals of the schedule's window. No-op unless installed.
caf::error run_scheduled_job(storage::pg_session& db, const tenant_ref& tenant,
                             std::string_view args);

// -- actors --------------------------------------------------------------------------------

/// What the installer actor needs.
struct installer_options {
  /// storage::storage_pool_actor, runtime::tenant_registry_actor.
  runtime::actor_slot_ptr storage_pool;
  runtime::actor_slot_ptr tenants;
  runtime::key_ring_ptr keys;
  runtime::actor_directory* directory = nullptr;
  uint64_t parent_id = 0;
};

/// Spawns the installer (kind "installer"): it routes each installer job
/// through the tenant actor to the installation's actor (which runs one
/// operation at a time), or straight to the storage pool when the tenant
/// actor cannot be had.
caf::actor spawn_installer(caf::actor_system& sys, installer_options opts);

/// Registers the async installer jobs (routed to the installer in
/// `installer`) and the `package.scheduled_run` handler.
void register_installer_job_handlers(job_registry& registry,
                                     runtime::actor_slot_ptr installer);

} // namespace fp::actors
