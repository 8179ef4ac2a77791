#pragma once

// The usage report: what the caller's organization ran and spent, per UTC
// day, per agent and per model (needs tenant_read).

#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// `GET /api/v1/usage?days=N&agent_id=...` (days 1..90, default 14).
void add_usage_routes(router& r, const spine_services& spine);

} // namespace fp::net
