#pragma once

// The one retry loop of the storage layer, shared by the pool's workers and
// the synchronous `run_transaction` (libpqxx's `perform` semantics).

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

#include <caf/error.hpp>

#include "fp/storage/pg_session.hpp"

namespace fp::storage {

struct retry_policy {
  /// Attempts in total, the first included.
  unsigned max_attempts = 5;
  /// Backoff before retry n is uniformly random in [d/2, d] with
  /// d = min(base * 2^(n-1), cap): jitter keeps colliding transactions from
  /// colliding again in lockstep.
  std::chrono::milliseconds base{10};
  std::chrono::milliseconds cap{1000};
};

/// Called before each retry with its reason: "serialization", "deadlock" or
/// "connection".
using retry_observer = std::function<void(std::string_view reason)>;

struct run_outcome {
  caf::error err;
  uint32_t attempts = 0;
};

/// Runs `fn` on `session` under the retry rules:
/// * transactional: BEGIN, fn, COMMIT. Serialization failures and deadlocks
///   (from fn or from COMMIT) and a connection lost before COMMIT was sent
///   roll back (or reconnect) and retry. A connection lost during COMMIT
///   yields errc::commit_unknown, never retried. An error returned by fn
///   rolls back and is returned (retried only if it is a retryable storage
///   error).
/// * not transactional: retried only when the connection was lost before
///   any statement of this attempt reached the server.
/// A connection that cannot be (re)established fails the run at once with
/// errc::unavailable: callers must not queue up behind a dead database.
/// Exceptions thrown by fn are caught and returned as errors.
run_outcome run_with_retry(pg_session& session, bool transactional,
                           const std::function<caf::error(pg_session&)>& fn,
                           const retry_policy& policy = {},
                           const retry_observer& on_retry = {});

} // namespace fp::storage
