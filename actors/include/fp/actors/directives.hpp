#pragma once

// Directives: proposing, deciding and running them. Every function runs in
// the caller's transaction and persists each transition together with its
// `directive.<state>` signal (emitted through emit_in_transaction, caused by
// the previous transition's signal, under the directive's correlation).
// Approved directives run as `directive.execute` jobs on queue "directives".

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "fp/actors/directive_rules.hpp"
#include "fp/actors/signal_emit.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/secret_box.hpp"
#include "fp/storage/directives.hpp"

namespace fp::actors {

class job_registry;

// -- dependencies of the executors -----------------------------------------------------

/// One outbound webhook request (always POST).
struct webhook_request {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// The answer to a webhook request.
struct webhook_response {
  /// HTTP status; 0 when no response arrived.
  int status = 0;
  /// The response body, possibly cut at the client's limit.
  std::string body;
  /// Why no response arrived (refused address, connect error, timeout).
  std::string error;
  /// True when trying again later can help (timeouts, connection errors).
  bool retryable = false;
};

/// Posts one webhook; runs on a job worker thread and may block.
using webhook_poster = std::function<webhook_response(const webhook_request&)>;

/// Records an attempt's error outside the job's transaction, which the
/// failing attempt rolls back: (slug, directive id, attempt, error).
using attempt_recorder
  = std::function<void(std::string, std::string, int, std::string)>;

/// What the directive job handlers need.
struct directive_deps {
  /// The outbound HTTP client of webhook.post.
  webhook_poster post_webhook;
  /// See `attempt_recorder`; may be empty (then only the job keeps them).
  attempt_recorder record_attempt_error;
  /// Attempts of one directive's execution, the first included.
  int execute_attempts = 8;
  /// Opens sealed webhook destination secrets; null: only plaintext
  /// (older) secrets can be used.
  runtime::key_ring_ptr keys;
};

/// An attempt recorder that sends the write to the storage pool in `slot`.
attempt_recorder storage_attempt_recorder(runtime::actor_slot_ptr slot);

// -- proposing and deciding --------------------------------------------------------------

/// A directive as its proposer gives it.
struct directive_proposal {
  std::string type;
  /// One JSON object (text).
  std::string params = "{}";
  /// Empty: none. A live directive with the same key is returned instead
  /// of a new one.
  std::string idempotency_key;
  /// Empty: the causing signal's, else the directive's own id.
  std::string correlation_id;
  /// The signal that caused the proposal; empty: none.
  std::string causation_id;
  /// Who proposes (the authenticated caller or a system component).
  storage::signal_actor actor;
};

/// The outcome of `propose_directive`.
struct proposed_directive {
  storage::directive_record record;
  /// False when the idempotency key returned an existing directive.
  bool created = true;
};

/// Proposes a directive in `tenant`: inserts it (or returns the live one
/// with the same idempotency key), emits directive.proposed and, by the
/// type's policy, either approves it and enqueues its execution job or
/// leaves it awaiting approval. An unknown type gives invalid_argument.
caf::expected<proposed_directive>
propose_directive(storage::pg_session& db, const tenant_ref& tenant,
                  const directive_proposal& p, int execute_attempts = 8);

/// The policy of `type` in `tenant` (the tenant's override or the default).
caf::expected<directive_policy>
find_policy(storage::pg_session& db, const tenant_ref& tenant,
            std::string_view type);

/// A human decision on a directive.
struct directive_decision {
  std::string directive_id;
  /// Who decides (becomes the transition signal's actor).
  storage::signal_actor actor;
  /// The decider's role in the organization; approve and reject need the
  /// directive's approver role (forbidden otherwise).
  role decider_role = role::member;
  /// Optional free text.
  std::string reason;
};

/// awaiting_approval -> approved, and enqueues the execution job.
/// not_found, forbidden, or conflict when the state does not allow it.
caf::expected<storage::directive_record>
approve_directive(storage::pg_session& db, const tenant_ref& tenant,
                  const directive_decision& d, int execute_attempts = 8);

/// awaiting_approval -> rejected.
caf::expected<storage::directive_record>
reject_directive(storage::pg_session& db, const tenant_ref& tenant,
                 const directive_decision& d);

/// proposed | awaiting_approval | approved -> cancelled (a queued
/// execution job then finds nothing to do). Needs the approver role too.
caf::expected<storage::directive_record>
cancel_directive(storage::pg_session& db, const tenant_ref& tenant,
                 const directive_decision& d);

// -- jobs ---------------------------------------------------------------------------

/// Registers the `signal.handle` and `directive.execute` job handlers.
void register_directive_handlers(job_registry& registry, directive_deps deps);

} // namespace fp::actors
