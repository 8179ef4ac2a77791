#include "fp/actors/tenancy.hpp"

#include "fp/storage/tenant_migrations.hpp"

namespace fp::actors {

std::string slug_error(std::string_view slug) {
  if (slug.empty())
    return "slug must not be empty";
  if (slug.size() > 48)
    return "slug must be at most 48 characters";
  if (slug[0] < 'a' || slug[0] > 'z')
    return "slug must start with a lower-case letter a-z";
  for (char c : slug) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok)
      return "slug may contain only a-z, 0-9 and _";
  }
  return {};
}

std::string tenant_schema(std::string_view slug) {
  return "org_" + std::string{slug};
}

std::string quoted_tenant_schema(std::string_view slug) {
  return storage::quoted_tenant_schema(slug);
}

std::optional<std::string> slug_of_schema(std::string_view schema) {
  if (schema.substr(0, 4) != "org_")
    return std::nullopt;
  auto slug = schema.substr(4);
  if (!slug_error(slug).empty())
    return std::nullopt;
  return std::string{slug};
}

const char* to_string(role r) noexcept {
  switch (r) {
    case role::member: return "member";
    case role::admin: return "admin";
    case role::owner: return "owner";
  }
  return "member";
}

std::optional<role> parse_role(std::string_view text) noexcept {
  if (text == "member")
    return role::member;
  if (text == "admin")
    return role::admin;
  if (text == "owner")
    return role::owner;
  return std::nullopt;
}

const char* to_string(action a) noexcept {
  switch (a) {
    case action::org_read: return "org.read";
    case action::org_delete: return "org.delete";
    case action::members_list: return "members.list";
    case action::members_add: return "members.add";
    case action::members_remove: return "members.remove";
    case action::members_grant_owner: return "members.grant_owner";
    case action::api_keys_list: return "api_keys.list";
    case action::api_keys_create: return "api_keys.create";
    case action::api_keys_revoke: return "api_keys.revoke";
    case action::api_keys_rotate: return "api_keys.rotate";
    case action::tenant_read: return "tenant.read";
    case action::tenant_write: return "tenant.write";
    case action::tenant_admin: return "tenant.admin";
  }
  return "unknown";
}

const std::vector<policy_row>& policy_table() {
  static const std::vector<policy_row> rows = {
    {action::org_read, role::member, "every member sees the organization"},
    {action::org_delete, role::owner, "deleting drops all tenant data"},
    {action::members_list, role::member, "members see who else is in"},
    {action::members_add, role::admin, "admins manage membership"},
    {action::members_remove, role::admin, "admins manage membership"},
    {action::members_grant_owner, role::owner,
     "only owners make or unmake owners"},
    {action::api_keys_list, role::admin, "keys act for the whole org"},
    {action::api_keys_create, role::admin, "keys act for the whole org"},
    {action::api_keys_revoke, role::admin, "keys act for the whole org"},
    {action::api_keys_rotate, role::admin, "keys act for the whole org"},
    {action::tenant_read, role::member, "members read the org's records"},
    {action::tenant_write, role::member, "members emit signals and run work"},
    {action::tenant_admin, role::admin,
     "admins install packages and configure agents"},
  };
  return rows;
}

bool allowed(role r, action a) noexcept {
  for (const auto& row : policy_table())
    if (row.what == a)
      return static_cast<uint8_t>(r) >= static_cast<uint8_t>(row.least);
  return false;
}

} // namespace fp::actors
