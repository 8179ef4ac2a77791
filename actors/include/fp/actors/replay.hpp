#pragma once

// Replay: re-runs the subscription handlers of chosen signals under a new
// correlation that links back to the originals. Handlers propose directives
// with the idempotency key `sub:<subscription>:<signal>`, so side effects
// that already happened are not repeated; only handling that never
// completed (or subscriptions added since) does new work.

#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "fp/actors/signal_emit.hpp"
#include "fp/storage/signals.hpp"

namespace fp::storage {
class pg_session;
} // namespace fp::storage

namespace fp::actors {

/// Type of the signal that records one replayed signal.
inline constexpr const char* signal_replayed_type = "signal.replayed";

/// Most signals one replay request may select.
inline constexpr int max_replay_signals = 10000;

/// Which signals to replay: one by id, or all since a time.
struct replay_selection {
  /// One signal (takes precedence over `since`).
  std::string signal_id;
  /// RFC 3339: signals that occurred at or after it (replay records
  /// themselves excluded).
  std::string since;
  /// With `since`: only types starting with this text.
  std::string type_prefix;
  /// Also run the agents the signals triggered again: each makes a new
  /// execution linked to its original (`replay_of`). Off: agents are left
  /// alone (their executions already happened).
  bool agents = false;
};

/// One replayed signal.
struct replayed_signal {
  std::string signal_id;
  std::string type;
  /// Handler jobs requested for it: one per matching enabled subscription.
  /// Where the handling of the original is still unfinished, its job's
  /// unique key keeps that job instead of adding a second one.
  int jobs_enqueued = 0;
  /// The `signal.replayed` record.
  std::string replay_signal_id;
};

/// The outcome of one replay request.
struct replay_result {
  /// The new correlation shared by all of the request's work.
  std::string correlation_id;
  /// Oldest first.
  std::vector<replayed_signal> signals;
  int jobs_enqueued = 0;
};

/// Replays the signals of `tenant` chosen by `selection`, as `requested_by`,
/// in the caller's transaction: for each, the handler jobs of its matching
/// subscriptions are enqueued again under a new correlation, and a
/// `signal.replayed` signal is emitted (causation: the original; payload:
/// original_signal_id, original_correlation_id, jobs_enqueued). Errors:
/// not_found for an unknown signal id, invalid_argument for an empty or
/// unusable selection or one over `max_replay_signals`.
caf::expected<replay_result>
replay_signals(storage::pg_session& db, const tenant_ref& tenant,
               const replay_selection& selection,
               const storage::signal_actor& requested_by);

} // namespace fp::actors
