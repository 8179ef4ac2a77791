#pragma once

// Shared by the directive sources of actors/: the one transition routine
// every state change goes through.

#include <string>

#include "fp/actors/directives.hpp"

namespace fp::actors::detail {

/// The actor of transitions no human made.
storage::signal_actor directive_system_actor();

/// Emits the signal of entering `to` (caused by the previous transition's
/// signal, under the directive's correlation) and persists the transition
/// with the other columns of `u`; `d` is updated in place. `extra` are JSON
/// members (",\"k\":v") appended to the signal's payload. conflict when the
/// state machine does not allow `d.state -> to`.
caf::error transition(storage::pg_session& db, const tenant_ref& tenant,
                      storage::directive_record& d, directive_state to,
                      const storage::signal_actor& actor,
                      storage::directive_update u, const std::string& extra);

/// Enqueues the `directive.execute` job of `d` (unique per directive).
caf::error enqueue_execution(storage::pg_session& db, const tenant_ref& tenant,
                             const storage::directive_record& d, int attempts);

} // namespace fp::actors::detail
