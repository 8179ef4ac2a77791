#pragma once

// The one emit path. Every producer (the HTTP API through the group-commit
// signal bus, directive transitions, executors, replay) emits through
// `emit_in_transaction`: it validates, inserts (deduplicating), enqueues a
// `signal.handle` job for every enabled subscription matching each new
// signal, and NOTIFYs `fp_signals` — all in the caller's transaction. The
// pubsub hub publishes what the NOTIFY announces, after the commit.

#include <cstddef>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "fp/storage/signals.hpp"

namespace fp::storage {
class pg_session;
} // namespace fp::storage

namespace fp::actors {

/// The tenant a signal belongs to.
struct tenant_ref {
  std::string org_id;
  std::string slug;
};

/// One signal as a producer gives it (the actor is given separately).
struct signal_input {
  std::string type;
  /// One JSON object (text).
  std::string payload = "{}";
  std::string dedupe_key;
  std::string correlation_id;
  std::string causation_id;
  std::string occurred_at;
};

/// The outcome of one item.
struct emit_result {
  /// Empty when accepted; else why the item was refused (one line).
  std::string error;
  /// The stored signal (the original one for a duplicate).
  storage::signal_record record;
  /// False for a duplicate (same dedupe key).
  bool created = false;
};

/// Validates and emits `items` as `actor` into `tenant` inside the caller's
/// transaction. Invalid items get an `error` and do not stop the others.
/// Results are in the order of `items`. Database errors fail the whole call.
/// Payloads are limited to `emit_limits{}.payload_limit` (the default of
/// settings.signal_payload_limit); see `emit_parts_in_transaction`.
caf::expected<std::vector<emit_result>>
emit_in_transaction(storage::pg_session& db, const tenant_ref& tenant,
                    const storage::signal_actor& actor,
                    const std::vector<signal_input>& items);

/// Limits applied by the emit path (config::settings signal_*).
struct emit_limits {
  /// Largest payload in bytes (settings.signal_payload_limit).
  std::size_t payload_limit = 64 * 1024;
};

/// One producer's share of a grouped emit: a view, so grouping copies no
/// payloads; both pointees must outlive the call.
struct emit_part {
  const storage::signal_actor* actor = nullptr;
  const std::vector<signal_input>* items = nullptr;
};

/// `emit_in_transaction` for several producers of the same tenant at once:
/// one emit-lock acquisition, one insert statement, one subscription lookup
/// and one job enqueue for all of them (the signal bus's group commit).
/// Results are per part, in the order of each part's items.
caf::expected<std::vector<std::vector<emit_result>>>
emit_parts_in_transaction(storage::pg_session& db, const tenant_ref& tenant,
                          const std::vector<emit_part>& parts,
                          const emit_limits& limits = {});

/// Validates one item; empty when it may be emitted, else a one-line
/// reason (see signal_rules.hpp).
std::string signal_input_error(const signal_input& item,
                               const emit_limits& limits);

} // namespace fp::actors

namespace fp::actors {

/// Enqueues the handler job of every enabled subscription of `tenant`
/// matching `signal`'s type, in the caller's transaction, carrying
/// `correlation_id` (the signal's own correlation on first emit; a new one
/// for a replay): `signal.handle` for directive subscriptions, and
/// `agent.execute` for agent triggers — on a replay only `with_agents`
/// (then a new execution, linked to the original one). An agent never
/// triggers on a signal it emitted itself. Returns how many new jobs were
/// enqueued (a handler job still unfinished for the same subscription is
/// not repeated). Used by `emit_in_transaction` and by replay.
caf::expected<int>
enqueue_signal_handlers(storage::pg_session& db, const tenant_ref& tenant,
                        const storage::signal_record& signal,
                        const std::string& correlation_id,
                        bool with_agents = false);

} // namespace fp::actors
