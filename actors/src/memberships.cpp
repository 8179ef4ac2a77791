// Membership rules: who may see, add and remove members of an organization.

#include "fp/actors/orgs.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/connection.hpp"
#include "fp/storage/users.hpp"

namespace fp::actors {

using runtime::errc;
using runtime::make_error;

using storage::is_uuid;

caf::expected<org_access> resolve_org(storage::pg_session& s,
                                      const std::string& slug,
                                      const std::string& user_id) {
  // One answer for "unknown", "not active" and "not yours", so callers
  // cannot probe which organizations exist.
  auto missing = make_error(errc::not_found,
                            "no organization named '" + slug + "'");
  if (!slug_error(slug).empty() || !is_uuid(user_id))
    return missing;
  auto org = storage::find_org_by_slug(s, slug);
  if (!org)
    return std::move(org.error());
  if (!*org || (*org)->state != "active")
    return missing;
  auto role_text = storage::member_role(s, (*org)->id, user_id);
  if (!role_text)
    return std::move(role_text.error());
  if (!*role_text)
    return missing;
  auto r = parse_role(**role_text);
  if (!r)
    return missing;
  return org_access{std::move(**org), *r};
}

caf::expected<storage::member_row>
add_member(storage::pg_session& s, const org_access& access,
           const std::string& email, const std::string& role_text) {
  if (!allowed(access.caller_role, action::members_add))
    return make_error(errc::forbidden, "only owners and admins add members");
  auto wanted = parse_role(role_text);
  if (!wanted)
    return make_error(errc::invalid_argument,
                      "role: must be one of member, admin, owner");
  if (email.empty())
    return make_error(errc::invalid_argument, "email: must not be empty");
  if (*wanted == role::owner
      && !allowed(access.caller_role, action::members_grant_owner))
    return make_error(errc::forbidden, "only owners make owners");
  storage::member_row out;
  auto err = storage::run_transaction(s, [&](storage::pg_session& tx) -> caf::error {
    auto found = storage::find_user_by_email(tx, email);
    if (!found)
      return std::move(found.error());
    if (!*found)
      return make_error(errc::invalid_argument, "email: no user has this e-mail");
    const auto& user_id = (*found)->id;
    const auto& org_id = access.org.id;
    auto owners = storage::lock_and_count_owners(tx, org_id);
    if (!owners)
      return std::move(owners.error());
    auto current = storage::member_role(tx, org_id, user_id);
    if (!current)
      return std::move(current.error());
    if (*current && **current == "owner" && *wanted != role::owner) {
      if (!allowed(access.caller_role, action::members_grant_owner))
        return make_error(errc::forbidden, "only owners unmake owners");
      if (*owners <= 1)
        return make_error(errc::conflict,
                          "the last owner cannot be demoted");
    }
    if (auto e = storage::upsert_member(tx, org_id, user_id, to_string(*wanted)))
      return e;
    out = {user_id, (*found)->email, to_string(*wanted), {}};
    return caf::none;
  });
  if (err)
    return err;
  return out;
}

caf::error remove_member(storage::pg_session& s, const org_access& access,
                         const std::string& user_id) {
  if (!allowed(access.caller_role, action::members_remove))
    return make_error(errc::forbidden, "only owners and admins remove members");
  if (!is_uuid(user_id))
    return make_error(errc::not_found, "no such member");
  return storage::run_transaction(s, [&](storage::pg_session& tx) -> caf::error {
    const auto& org_id = access.org.id;
    auto owners = storage::lock_and_count_owners(tx, org_id);
    if (!owners)
      return std::move(owners.error());
    auto current = storage::member_role(tx, org_id, user_id);
    if (!current)
      return std::move(current.error());
    if (!*current)
      return make_error(errc::not_found, "no such member");
    if (**current == "owner") {
      if (!allowed(access.caller_role, action::members_grant_owner))
        return make_error(errc::forbidden, "only owners remove owners");
      if (*owners <= 1)
        return make_error(errc::conflict, "the last owner cannot be removed");
    }
    auto gone = storage::delete_member(tx, org_id, user_id);
    if (!gone)
      return std::move(gone.error());
    return caf::none;
  });
}

} // namespace fp::actors
