#pragma once

// The signal endpoints:
//   POST   /api/v1/signals               emit one signal or a batch
//   GET    /api/v1/signals               list with filters, newest first
//   GET    /api/v1/signals/{id}          one signal
//   GET    /api/v1/subscriptions         list subscriptions
//   POST   /api/v1/subscriptions         create {pattern, directive_type, params}
//   GET    /api/v1/subscriptions/{id}    one subscription
//   PATCH  /api/v1/subscriptions/{id}    {enabled}
//   DELETE /api/v1/subscriptions/{id}    delete
// The tenant is always the caller's bound organization, so another
// tenant's ids are simply not found.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "fp/actors/signal_emit.hpp"
#include "fp/net/http_types.hpp"
#include "fp/net/principal.hpp"
#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"
#include "fp/storage/signals.hpp"

namespace fp::net {

/// Registers the signal and subscription routes.
void add_signal_routes(router& r, const spine_services& spine);

/// Registers the subscription routes only (part of `add_signal_routes`).
void add_subscription_routes(router& r, const spine_services& spine);

// -- plain functions behind the handlers ----------------------------------------

/// A parsed `POST /api/v1/signals` body. Accepted shapes: one signal object
/// (`batch` false), `{"signals": [...]}` or a bare array (`batch` true).
/// Each signal: `type` (string), `payload` (object, default {}), and the
/// optional strings (or null) `dedupe_key`, `correlation_id`,
/// `causation_id`, `occurred_at`. An `actor` member is refused: the actor
/// is the authenticated caller. Unknown members are ignored.
struct signal_post {
  bool batch = false;
  /// One per item, in order; `shape_errors[i]` is empty when item i was
  /// well-formed.
  std::vector<actors::signal_input> items;
  std::vector<std::string> shape_errors;
};

/// Parses `req`'s body. Errors: bad_request / unsupported_media for a body
/// that is no JSON, invalid_argument for an empty batch or a body that is
/// neither an object nor an array, payload_too_large for more than
/// `batch_limit` items.
caf::expected<signal_post> parse_signal_post(const http_request& req,
                                             std::size_t batch_limit);

/// The actor of signals emitted by `who`: a session is
/// {human, user id, email}; an API key is {integration, key id,
/// "API key of <creator email>"}.
storage::signal_actor signal_actor_of(const principal& who);

/// The opaque cursor continuing a newest-first listing below `seq`.
std::string encode_signal_cursor(int64_t seq);

/// The seq inside a cursor made by `encode_signal_cursor`, or nullopt.
std::optional<int64_t> decode_signal_cursor(std::string_view cursor);

/// The filter of `GET /api/v1/signals` from `req`'s query (`type`, `actor`,
/// `actor_kind`, `correlation_id`, `since`, `until`, `cursor`, `limit`);
/// invalid_argument naming the bad parameter.
caf::expected<storage::signal_filter> parse_signal_query(const http_request& req);

} // namespace fp::net
