#pragma once

// The installation endpoints: install a published package into the
// caller's organization, watch it, reconfigure, upgrade, disable, enable,
// retry and uninstall it. Reads need tenant_read, every change
// tenant_admin. Installer work runs in jobs (202 answers); disable and
// enable are immediate.

#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// `GET|POST /api/v1/installations`, `GET|PATCH|DELETE
/// /api/v1/installations/{id}`, `GET /api/v1/installations/{id}/history`,
/// `POST /api/v1/installations/{id}/{upgrade|disable|enable|retry}`.
void add_installation_routes(router& r, const spine_services& spine);

} // namespace fp::net
