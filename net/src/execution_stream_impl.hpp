#pragma once

// Private to the execution stream hub.

#include <caf/fwd.hpp>

#include "fp/net/execution_stream.hpp"

namespace fp::net::detail {

/// Spawns the detached LISTEN actor of `hub`, linked to it.
caf::actor spawn_stream_listener(execution_stream_actor::pointer hub,
                                 const execution_stream_options& opts);

} // namespace fp::net::detail
