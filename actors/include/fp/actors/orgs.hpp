#pragma once

// Organization lifecycle on one database session: the creation saga, soft
// deletion and purge, the doctor that repairs what a killed process left
// behind, tenant migrations across all tenants, and membership rules. Plain
// functions (blocking): the CLI calls them directly, the server runs them
// on the storage pool inside a non-transactional db_task.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/actors/tenancy.hpp"
#include "fp/storage/migrations.hpp"
#include "fp/storage/org_repository.hpp"
#include "fp/storage/pg_session.hpp"

namespace fp::actors {

// -- creation, deletion, purge ----------------------------------------------------

/// Empty when `name` is a valid organization name (1..200 bytes), else why.
std::string org_name_error(std::string_view name);

/// The creation saga: validates (runtime::errc::invalid_argument naming the
/// field), inserts the row in state 'provisioning' (a taken slug is
/// errc::conflict), then in one transaction creates the schema, applies the
/// tenant migrations, adds `owner_user_id` as owner and marks the org
/// 'active'. Any failure after the first step compensates (drops the schema,
/// deletes the row), so the result is a complete organization or none.
caf::expected<storage::org_row>
create_org(storage::pg_session& s, const std::string& slug,
           const std::string& name, const std::string& owner_user_id,
           const std::vector<storage::migration>& tenant_migrations);

/// Soft deletion: active -> deleting, purged after `grace`. not_found when
/// there is no active organization `slug`.
caf::error soft_delete_org(storage::pg_session& s, const std::string& slug,
                           std::chrono::milliseconds grace);

/// Drops the schema of every 'deleting' org whose grace has passed and marks
/// it 'purged'. Returns the slugs purged.
caf::expected<std::vector<std::string>> purge_due_orgs(storage::pg_session& s);

// -- doctor --------------------------------------------------------------------------

/// Tenant schemas split by whether an organization still owns them.
struct schema_audit {
  /// Slugs of org_* schemas without an active, deleting or provisioning row.
  std::vector<std::string> orphans;
  /// org_* schemas whose suffix is no valid slug: never ours, never dropped.
  std::vector<std::string> foreign;
};

/// Pure: classifies `schemas` (all org_* names) against `owned_slugs`.
schema_audit audit_schemas(const std::vector<std::string>& schemas,
                           const std::vector<std::string>& owned_slugs);

/// What `fleetprompt doctor` found (and, with `fix`, repaired).
struct doctor_report {
  schema_audit schemas;
  /// Slugs of organizations in 'provisioning' longer than `stuck_after`.
  std::vector<std::string> stuck;
  bool fixed = false;
};

/// Finds orphan schemas and stuck provisioning orgs; with `fix`, drops the
/// orphans and rolls the stuck orgs back (schema dropped, row deleted).
caf::expected<doctor_report>
run_doctor(storage::pg_session& s, bool fix,
           std::chrono::milliseconds stuck_after = std::chrono::minutes{1});

// -- tenant migrations across tenants ----------------------------------------------

/// How `migrate_all_tenants` proceeds.
struct tenant_migrate_options {
  unsigned batch = 50;
  unsigned concurrency = 4;
  std::chrono::milliseconds connect_timeout{5000};
  /// Stop after this many tenants (0: all). Tests use it to interrupt a run.
  unsigned stop_after = 0;
  /// Called for every tenant (from worker threads, serialised).
  std::function<void(const std::string& slug, int applied,
                     const caf::error& err)>
    on_tenant;
};

/// The outcome of a run.
struct tenant_migrate_report {
  unsigned tenants = 0;    // tenants visited
  unsigned migrated = 0;   // tenants that got at least one migration
  unsigned applied = 0;    // migrations applied in total
  std::vector<std::string> failed; // "slug: reason"
};

/// Applies `known` to every active tenant, `batch` orgs at a time, up to
/// `concurrency` tenants at once (each with its own connection to
/// `conninfo`). Each tenant migrates in one transaction under its advisory
/// lock, so an interrupted run that is started again converges and applies
/// every migration exactly once.
caf::expected<tenant_migrate_report>
migrate_all_tenants(const std::string& conninfo,
                    const std::vector<storage::migration>& known,
                    const tenant_migrate_options& opts);

// -- memberships ---------------------------------------------------------------------

/// An organization as one user sees it.
struct org_access {
  storage::org_row org;
  role caller_role = role::member;
};

/// The active organization `slug` if `user_id` is a member; otherwise
/// not_found, worded exactly as for an unknown slug.
caf::expected<org_access> resolve_org(storage::pg_session& s,
                                      const std::string& slug,
                                      const std::string& user_id);

/// Adds `email` (an existing user) with `role_text`, or changes the role of
/// an existing member. Admins manage members; only owners add or remove
/// owners; the last owner cannot be demoted (conflict).
caf::expected<storage::member_row>
add_member(storage::pg_session& s, const org_access& access,
           const std::string& email, const std::string& role_text);

/// Removes `user_id`: not_found when not a member; forbidden unless the
/// caller may; conflict for the last owner.
caf::error remove_member(storage::pg_session& s, const org_access& access,
                         const std::string& user_id);

} // namespace fp::actors
