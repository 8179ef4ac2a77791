#pragma once

// The directive endpoints:
//   GET    /api/v1/directives                    list (state, type, cursor)
//   POST   /api/v1/directives                    propose {type, params, ...}
//   GET    /api/v1/directives/{id}               one directive
//   POST   /api/v1/directives/{id}/approve       {reason?} (approver role)
//   POST   /api/v1/directives/{id}/reject        {reason?} (approver role)
//   POST   /api/v1/directives/{id}/cancel        {reason?} (approver role)
//   GET    /api/v1/directive-policies            effective policy per type
//   PUT    /api/v1/directive-policies/{type}     {mode, approver_role}
//   GET    /api/v1/webhook-destinations          the allowlist (no secrets)
//   POST   /api/v1/webhook-destinations          {url, description?}
//   DELETE /api/v1/webhook-destinations/{id}
// The tenant is always the caller's bound organization.

#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// Registers the directive, policy and webhook destination routes.
void add_directive_routes(router& r, const spine_services& spine);

} // namespace fp::net
