#pragma once

// Syntax of the individual value kinds (integers, durations, sizes, listen
// addresses). Range rules live with each setting in the setting table.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fp::config::detail {

// -- parsing ----------------------------------------------------------------------

/// Decimal digits only (no sign, no spaces); nullopt on overflow.
std::optional<uint64_t> parse_uint(std::string_view text);

/// `250ms`, `5s`, `2m`, `1h`, or bare digits meaning milliseconds; nullopt on
/// bad syntax or when the value does not fit in milliseconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Bytes with an optional binary suffix, case-insensitive: `k`/`kb`/`kib`,
/// `m`/`mb`/`mib`, `g`/`gb`/`gib` (all powers of 1024), or `b`.
std::optional<uint64_t> parse_size(std::string_view text);

struct host_port {
  /// Without brackets, ready for address resolution.
  std::string host;
  uint16_t port = 0;
};

/// `HOST:PORT` or `[IPV6]:PORT`.
std::optional<host_port> parse_listen(std::string_view text);

/// A host name, IPv4 address or (unbracketed) IPv6 address, judged by its
/// characters only; resolution happens when the server binds.
bool valid_listen_host(std::string_view host);

// -- formatting -------------------------------------------------------------------

/// The largest unit that divides the value exactly, e.g. 5000ms -> "5s".
std::string format_duration(std::chrono::milliseconds value);

/// The largest binary unit that divides the value exactly, e.g. "1MiB".
std::string format_size(uint64_t bytes);

/// `host:port`, bracketing IPv6 hosts.
std::string format_listen(std::string_view host, uint16_t port);

} // namespace fp::config::detail
