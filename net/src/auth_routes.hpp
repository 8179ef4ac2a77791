#pragma once

// Private to net/: the pieces add_auth_routes composes, and rendering
// helpers the account handlers share.

#include <string>

#include "fp/net/auth.hpp"
#include "fp/net/json.hpp"
#include "route_support.hpp"

namespace fp::net::detail {

/// POST/GET/DELETE /api/v1/session and POST /api/v1/session/org.
void add_session_routes(router& r, const auth_services& svc);

/// /api/v1/api-keys and its item routes.
void add_api_key_routes(router& r, const auth_services& svc);

} // namespace fp::net::detail
