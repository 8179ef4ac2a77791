#pragma once

// `GET /api/v1/signals/stream`: the tenant's signals as server-sent events,
// served by the pubsub hub. Each event's id is the signal id; a client
// resumes with `Last-Event-ID` (or `?last_event_id=` for EventSource
// polyfills that cannot set headers) and misses nothing.

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

#include "fp/net/router.hpp"
#include "fp/net/spine_services.hpp"

namespace fp::net {

/// Reconnect delay (ms) announced at the start of a stream and when a slow
/// subscriber is cut off.
inline constexpr int signal_stream_retry_ms = 2000;

/// Registers `GET /api/v1/signals/stream` (tenant_read).
void add_signal_stream_routes(router& r, const spine_services& svc);

/// Parses the `types` query parameter: comma-separated type prefixes
/// (`forum.post,directive.`); a trailing `*` is accepted and dropped.
/// Empty: every type. Fails with runtime::errc::invalid_argument on a
/// malformed prefix or more than 32 of them.
caf::expected<std::vector<std::string>> parse_type_prefixes(std::string_view text);

/// True when `id` has the textual form of a UUID (8-4-4-4-12 hex digits).
bool uuid_text(std::string_view id) noexcept;

} // namespace fp::net
