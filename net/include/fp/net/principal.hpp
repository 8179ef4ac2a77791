#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fp/actors/tenancy.hpp"

namespace fp::net {

/// Who is calling, as established by the authentication layer from a session
/// cookie or an `Authorization: Bearer` API key — never from a path, query
/// or body parameter. Handlers authorize against it with `can`.
struct principal {
  enum class via : uint8_t { session, api_key };
  via how = via::session;

  /// The user (sessions) or the user who created the key (API keys).
  std::string user_id;
  std::string email;
  bool platform_admin = false;

  /// Set for sessions.
  std::string session_id;
  /// Set for API keys.
  std::string api_key_id;
  std::vector<std::string> scopes;

  /// The tenant binding: the session's selected organization or the key's
  /// organization. Empty when a session has selected none.
  std::string org_id;
  std::string org_slug;
  /// The caller's role in that organization (for keys: derived from scopes).
  std::optional<actors::role> org_role;

  /// True when a tenant is bound.
  bool has_tenant() const noexcept {
    return !org_id.empty() && org_role.has_value();
  }

  /// True when the bound role permits `a` in the bound organization.
  bool can(actors::action a) const noexcept {
    return org_role && actors::allowed(*org_role, a);
  }
};

} // namespace fp::net
