#pragma once

// SQL of organizations and memberships (public.organizations,
// public.memberships). Plain functions on a session: callers choose the
// transaction. Schema DDL takes the tenant's quoted schema, which callers
// build from a validated slug with actors::quoted_tenant_schema.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/storage/pg_session.hpp"

namespace fp::storage {

/// One organization row.
struct org_row {
  std::string id;
  std::string slug;
  std::string name;
  std::string state; // provisioning, active, deleting, purged
  std::string created_at; // ISO 8601 UTC
};

/// An organization together with one user's role in it.
struct org_membership {
  org_row org;
  std::string role;
};

/// One member of an organization.
struct member_row {
  std::string user_id;
  std::string email;
  std::string role;
  std::string created_at;
};

/// Inserts an organization in state 'provisioning'. A taken slug is
/// errc::unique_violation. `created_by` may be empty (NULL).
caf::error insert_provisioning_org(pg_session& s, const std::string& id,
                                   const std::string& slug,
                                   const std::string& name,
                                   const std::string& created_by);

/// CREATE SCHEMA `quoted_schema`.
caf::error create_tenant_schema(pg_session& s, std::string_view quoted_schema);

/// DROP SCHEMA IF EXISTS `quoted_schema` CASCADE.
caf::error drop_tenant_schema(pg_session& s, std::string_view quoted_schema);

/// True when a schema named `schema` (unquoted) exists.
caf::expected<bool> schema_exists(pg_session& s, const std::string& schema);

/// Names of all schemas starting with "org_".
caf::expected<std::vector<std::string>> tenant_schema_names(pg_session& s);

/// Sets `state` (and updated_at).
caf::error set_org_state(pg_session& s, const std::string& org_id,
                         const std::string& state);

/// Deletes the row (memberships and tenant_migrations rows cascade).
caf::error delete_org_row(pg_session& s, const std::string& org_id);

/// Deletes the row only while it is in `state` (waiting for a concurrent
/// writer of the row first); false when it was not.
caf::expected<bool> delete_org_in_state(pg_session& s, const std::string& org_id,
                                        const std::string& state);

/// The organization named `slug`, in any state.
caf::expected<std::optional<org_row>> find_org_by_slug(pg_session& s,
                                                       const std::string& slug);

/// Every organization, by slug.
caf::expected<std::vector<org_row>> list_orgs(pg_session& s);

/// Active organizations of `user_id` with the user's role, by slug.
caf::expected<std::vector<org_membership>> orgs_of_user(pg_session& s,
                                                        const std::string& user_id);

/// Slugs of organizations whose state is one of `states`.
caf::expected<std::vector<std::string>>
org_slugs_in_states(pg_session& s, const std::vector<std::string>& states);

/// Organizations in 'provisioning' for longer than `older_than`.
caf::expected<std::vector<org_row>>
stuck_provisioning_orgs(pg_session& s, std::chrono::milliseconds older_than);

/// active -> deleting with purge_after = now() + grace. False when the org
/// was not active.
caf::expected<bool> mark_org_deleting(pg_session& s, const std::string& org_id,
                                      std::chrono::milliseconds grace);

/// Organizations in 'deleting' whose purge_after has passed.
caf::expected<std::vector<org_row>> orgs_due_for_purge(pg_session& s);

/// Active organizations with slug > `after_slug`, by slug, at most `limit`.
caf::expected<std::vector<org_row>>
active_orgs_after(pg_session& s, const std::string& after_slug, int limit);

/// Active organizations that lack a tenant migration of version `latest`.
caf::expected<std::vector<std::string>> tenants_behind(pg_session& s,
                                                       int latest);

/// Applied tenant migration rows of one organization.
caf::expected<int64_t> tenant_migration_count(pg_session& s,
                                              const std::string& org_id);

// -- memberships -------------------------------------------------------------

/// The role of `user_id` in `org_id`, if a member.
caf::expected<std::optional<std::string>>
member_role(pg_session& s, const std::string& org_id, const std::string& user_id);

/// Members of an organization, by e-mail.
caf::expected<std::vector<member_row>> list_members(pg_session& s,
                                                    const std::string& org_id);

/// Inserts or changes a membership.
caf::error upsert_member(pg_session& s, const std::string& org_id,
                         const std::string& user_id, const std::string& role);

/// Deletes a membership; false when there was none.
caf::expected<bool> delete_member(pg_session& s, const std::string& org_id,
                                  const std::string& user_id);

/// Locks the organization row (FOR UPDATE) and counts its owners, so that
/// concurrent removals cannot both pass a "not the last owner" check.
caf::expected<int64_t> lock_and_count_owners(pg_session& s,
                                             const std::string& org_id);

} // namespace fp::storage
