#pragma once

#include <functional>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>

namespace fp::storage {

class pg_session;

/// A unit of database work sent to the storage pool. `run` executes on a
/// storage worker's thread with that worker's session; it may block. It
/// must not capture references to actor state (copy what it needs, write
/// results into shared_ptrs that the caller reads in its reply handler).
struct db_task {
  /// Short, fixed name for metrics and logs, e.g. "tenants.create". Never
  /// put ids or user input here: it becomes a metric label.
  std::string label;
  /// True: `run` executes inside BEGIN ... COMMIT and the whole transaction
  /// is retried on serialization failures, deadlocks and connections lost
  /// before COMMIT. False: `run` manages transactions itself (migrations,
  /// DDL) and is retried only when the connection was lost before anything
  /// was sent.
  bool transactional = true;
  /// The work. Returning an error rolls the transaction back; the error is
  /// passed to the requester (and retried first when it is a retryable
  /// storage error). It may run more than once: keep side effects outside
  /// the database idempotent or do them after the reply.
  std::function<caf::error(pg_session&)> run;
};

} // namespace fp::storage

// Local-only message type: a closure cannot be serialized, and the storage
// pool is never reached over the network.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(fp::storage::db_task)
