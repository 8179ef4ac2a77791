#pragma once

// The job queue's admin surface: the caller's organization's jobs (the
// dead letter included) and their retry and cancellation.

#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// Registers (all tenant_admin, scoped to the caller's bound organization;
/// another organization's job is 404):
///   GET  /api/v1/jobs?state=&queue=&kind=&cursor=&limit=
///   POST /api/v1/jobs/{id}/retry
///   POST /api/v1/jobs/{id}/cancel
void add_job_routes(router& r, const spine_services& spine);

} // namespace fp::net
