#pragma once

// `Idempotency-Key` on unsafe requests: the first request with a key runs
// and its response is stored; a repeat with the same key and the same body
// gets the stored response, a repeat with a different body gets 422, and a
// repeat while the first is still running gets 409.

#include <chrono>
#include <string>
#include <string_view>

#include "fp/net/auth.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// Name of the request header.
inline constexpr std::string_view idempotency_key_header = "idempotency-key";

/// Header marking a response as the stored answer of an earlier request.
inline constexpr std::string_view idempotent_replayed_header
  = "Idempotent-Replayed";

/// How long a claim whose request never answered blocks its key: after it
/// the claim counts as abandoned and the next request with the key runs.
inline constexpr std::chrono::minutes idempotency_lease{2};

/// Wraps `fn` (already inside `authed`) with the `Idempotency-Key` rules.
/// Requests without the header run `fn` unchanged. With it (1 to 255
/// printable ASCII characters, else 400), keys are per principal (user or
/// API key) within the bound organization:
/// - a first request runs; a 2xx answer is stored for 24 hours, any other
///   answer frees the key again (the client may retry);
/// - a repeat of a completed request gets the stored answer (201 becomes
///   200) with `Idempotent-Replayed: true`;
/// - a key reused for a different method, path or body gets 422;
/// - a repeat while the first still runs gets 409.
authed_handler idempotent(const spine_services& svc, authed_handler fn);

/// True when `key` is an acceptable `Idempotency-Key` value.
bool valid_idempotency_key(std::string_view key) noexcept;

/// The key scope of `who`: "key:<id>" for API keys, else "user:<id>".
std::string idempotency_scope(const principal& who);

} // namespace fp::net
