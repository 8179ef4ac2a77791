#pragma once

// Pure validation of signals and subscriptions: no actors, no SQL. Every
// function returns an empty string when the value is fine, else a one-line
// reason naming the offending member.

#include <cstddef>
#include <string>
#include <string_view>

namespace fp::actors {

/// Longest signal type, dedupe key, correlation id and causation id.
inline constexpr std::size_t signal_text_limit = 200;

/// Checks a signal type: dotted lowercase words,
/// `^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`, at most 200 characters.
std::string signal_type_error(std::string_view type);

/// Checks a payload: one JSON object of at most `limit` bytes, without the
/// escape `\u0000` (which PostgreSQL's jsonb cannot store). The text is
/// expected to be syntactically valid JSON already; only its shape is
/// checked here.
std::string signal_payload_error(std::string_view payload, std::size_t limit);

/// Checks an optional dedupe key: at most 200 printable ASCII characters.
std::string dedupe_key_error(std::string_view key);

/// Checks an optional opaque id (correlation or causation) named `member`:
/// at most 200 printable ASCII characters.
std::string opaque_id_error(std::string_view id, std::string_view member);

/// Checks an RFC 3339 date-time (`2026-01-02T03:04:05Z`,
/// `2026-01-02T03:04:05.123+02:00`) named `member`: a real calendar date,
/// 00:00:00 to 23:59:59 (leap seconds are refused), an explicit offset.
std::string rfc3339_error(std::string_view text, std::string_view member);

/// True for a syntactically valid RFC 3339 date-time (see `rfc3339_error`).
bool is_rfc3339(std::string_view text) noexcept;

/// Checks a subscription pattern: a signal type, `prefix.*` where prefix is
/// one or more dotted words, or `*`.
std::string subscription_pattern_error(std::string_view pattern);

/// Checks a subscription's directive type: dotted lowercase words like a
/// signal type.
std::string directive_type_error(std::string_view type);

/// Checks a type prefix used to filter signals: empty, or at most 200 of
/// a-z, 0-9, '_' and '.'.
std::string type_prefix_error(std::string_view prefix);

} // namespace fp::actors
