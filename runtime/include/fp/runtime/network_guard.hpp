#pragma once

// Which IP addresses outbound requests (webhooks) may reach: private,
// loopback, link-local, unspecified and multicast addresses are refused
// unless an operator allows a block explicitly. Pure: unit-tested directly.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace fp::runtime {

/// An IPv4 or IPv6 address. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d)
/// are stored as IPv4, so rules written for IPv4 apply to them too.
struct ip_address {
  bool v6 = false;
  /// Network byte order; IPv4 uses the first 4 bytes.
  std::array<uint8_t, 16> bytes{};

  friend bool operator==(const ip_address&, const ip_address&) = default;
};

/// Parses "192.0.2.1" or "2001:db8::1" (no brackets, no zone).
std::optional<ip_address> parse_ip(std::string_view text);

/// The address as text ("192.0.2.1", "2001:db8::1").
std::string to_string(const ip_address& addr);

/// A block of addresses, e.g. 10.0.0.0/8.
struct cidr_block {
  ip_address base;
  /// Prefix length: 0..32 (IPv4) or 0..128 (IPv6).
  int prefix = 0;
};

/// Parses "10.0.0.0/8", "fc00::/7" or a single address (a /32 or /128).
/// Host bits set below the prefix are refused ("10.0.0.1/8" is no block).
caf::expected<cidr_block> parse_cidr(std::string_view text);

/// Parses a comma-separated list of blocks (spaces around items allowed;
/// an empty text is an empty list). The error names the bad item.
caf::expected<std::vector<cidr_block>> parse_cidr_list(std::string_view text);

/// True when `addr` lies inside `block` (families must match).
bool contains(const cidr_block& block, const ip_address& addr) noexcept;

/// True for addresses outbound requests must not reach by default:
/// private (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), loopback
/// (127/8, ::1), link-local (169.254/16, fe80::/10), unspecified (0/8, ::),
/// multicast (224/4, ff00::/8) and broadcast (255.255.255.255).
bool is_restricted(const ip_address& addr) noexcept;

/// Empty when `addr` may be reached: it is not restricted, or lies in one
/// of `allowed`. Else the reason, naming the address.
std::string refusal_reason(const ip_address& addr,
                           const std::vector<cidr_block>& allowed);

} // namespace fp::runtime
