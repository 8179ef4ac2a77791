#pragma once

// POST /api/v1/signals/{id}/replay: re-runs a signal's subscription
// handlers under a new correlation (see fp/actors/replay.hpp).

#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// Registers POST /api/v1/signals/{id}/replay (tenant admins; a signal of
/// another tenant is not found). Answers 202 with
/// {"replay_correlation_id", "signals": [...], "jobs_enqueued"}. Accepts an
/// `Idempotency-Key`.
void add_replay_routes(router& r, const spine_services& svc);

} // namespace fp::net
