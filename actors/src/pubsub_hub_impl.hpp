#pragma once

// Private wiring between the hub and its listener.

#include <caf/fwd.hpp>

#include "fp/actors/pubsub_hub.hpp"

namespace fp::actors::detail {

/// Spawns the hub's listener (detached, linked to `hub`): it forwards each
/// `fp_signals` notification as (notify, payload) and sends `wake` after
/// every (re)connect.
caf::actor spawn_listener(pubsub_hub_actor::pointer hub,
                          const pubsub_options& opts);

} // namespace fp::actors::detail
