#pragma once

// Pure tenancy rules: organization slugs, the schema they map to, and the
// role policy every handler consults. No actors, no SQL: unit-tested directly.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fp::actors {

// -- slugs and schemas ------------------------------------------------------------

/// Empty when `slug` is a valid organization slug (`^[a-z][a-z0-9_]{0,47}$`),
/// else a one-line reason.
std::string slug_error(std::string_view slug);

/// The tenant schema of a valid slug: "org_<slug>".
std::string tenant_schema(std::string_view slug);

/// The schema as a quoted SQL identifier, "\"org_<slug>\"". Only valid slugs
/// reach here, so no escaping is needed, but quotes are doubled anyway.
std::string quoted_tenant_schema(std::string_view slug);

/// The slug of a schema named "org_<slug>", or nullopt for other names.
std::optional<std::string> slug_of_schema(std::string_view schema);

// -- roles and the policy table ---------------------------------------------------

/// Role of a user inside one organization, least to most privileged.
enum class role : uint8_t { member = 0, admin = 1, owner = 2 };

const char* to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view text) noexcept;

/// Everything a caller may ask to do inside an organization.
enum class action : uint8_t {
  org_read,
  org_delete,
  members_list,
  members_add,
  members_remove,
  members_grant_owner, // add or remove an owner
  api_keys_list,
  api_keys_create,
  api_keys_revoke,
  api_keys_rotate,
  tenant_read,  // read tenant-scoped resources (signals, executions, ...)
  tenant_write, // create tenant-scoped resources
  tenant_admin, // administer tenant-scoped resources (installations, agents)
};

const char* to_string(action a) noexcept;

/// One row of the written policy: the least role that may perform `what`.
struct policy_row {
  action what;
  role least;
  const char* why;
};

/// The whole policy, in declaration order (also served as documentation).
const std::vector<policy_row>& policy_table();

/// True when `r` may perform `a`.
bool allowed(role r, action a) noexcept;

} // namespace fp::actors
