#pragma once

// `Idempotency-Key` records in the tenant table {{schema}}.idempotency_keys
// (see migrations/tenant/0004_idempotency.sql). A request claims its key in
// a short transaction of its own before it runs, and stores its response
// (or releases the key) after: the claim is visible to concurrent repeats
// while the request runs, so they see "in flight" rather than run twice.

#include <chrono>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fp::storage {

class pg_session;

/// How long a stored response is replayed.
inline constexpr std::chrono::hours idempotency_retention{24};

/// Identifies one key of one caller in one tenant.
struct idempotency_ref {
  /// The tenant's slug (validated by the caller).
  std::string slug;
  /// The principal: "user:<id>" or "key:<id>".
  std::string scope;
  /// The header's value.
  std::string key;
};

/// The outcome of `claim_idempotency_key`.
struct idempotency_claim {
  enum class outcome {
    /// The caller holds the key now and runs the request.
    claimed,
    /// The key has a stored response (`status`, `content_type`, `body`).
    completed,
    /// The key was used for a different request.
    mismatch,
    /// The first request with this key is still running.
    in_flight,
  };
  outcome what = outcome::claimed;
  /// For `claimed`: the token to pass to complete/release.
  std::string token;
  int status = 0;
  std::string content_type;
  std::string body;
};

/// Claims `ref` for a request on `route` whose method, path and body hash
/// to `request_hash`. An in_flight claim older than `lease` counts as
/// abandoned (its runner died or timed out) and is taken over. Deletes the
/// scope's rows older than `idempotency_retention` first. Run it in a
/// transaction of its own and commit before running the request.
caf::expected<idempotency_claim>
claim_idempotency_key(pg_session& db, const idempotency_ref& ref,
                      std::string_view route, std::string_view request_hash,
                      std::chrono::milliseconds lease);

/// Stores the response of the claim `token`. False when the claim was
/// taken over meanwhile (the stored response is then the other runner's).
caf::expected<bool>
complete_idempotency_key(pg_session& db, const idempotency_ref& ref,
                         std::string_view token, int status,
                         std::string_view content_type, std::string_view body);

/// Deletes the in_flight claim `token` (the request failed; the client may
/// retry with the same key). False when it was taken over meanwhile.
caf::expected<bool> release_idempotency_key(pg_session& db,
                                            const idempotency_ref& ref,
                                            std::string_view token);

/// The SHA-256 (hex) identifying a request by method, path and body.
std::string idempotency_request_hash(std::string_view method,
                                     std::string_view path,
                                     std::string_view body);

} // namespace fp::storage
