#include "value_parsers.hpp"

#include <array>
#include <cctype>
#include <limits>
#include <utility>

namespace fp::config::detail {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

// Splits "123abc" into "123" and "abc"; the number part may be empty.
std::pair<std::string_view, std::string_view> split_number(std::string_view text) {
  size_t n = 0;
  while (n < text.size() && is_digit(text[n]))
    ++n;
  return {text.substr(0, n), text.substr(n)};
}

std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) noexcept {
  if (b != 0 && a > std::numeric_limits<uint64_t>::max() / b)
    return std::nullopt;
  return a * b;
}

} // namespace

// -- parsing ----------------------------------------------------------------------

std::optional<uint64_t> parse_uint(std::string_view text) {
  if (text.empty())
    return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!is_digit(c))
      return std::nullopt;
    auto digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10)
      return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto [digits, unit] = split_number(text);
  auto number = parse_uint(digits);
  if (!number)
    return std::nullopt;
  uint64_t factor = 0;
  if (unit.empty() || unit == "ms")
    factor = 1;
  else if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60 * 1000;
  else if (unit == "h")
    factor = 60 * 60 * 1000;
  else
    return std::nullopt;
  auto ms = checked_mul(*number, factor);
  using rep = std::chrono::milliseconds::rep;
  if (!ms || *ms > static_cast<uint64_t>(std::numeric_limits<rep>::max()))
    return std::nullopt;
  return std::chrono::milliseconds{static_cast<rep>(*ms)};
}

std::optional<uint64_t> parse_size(std::string_view text) {
  auto [digits, unit] = split_number(text);
  auto number = parse_uint(digits);
  if (!number)
    return std::nullopt;
  struct suffix {
    std::string_view name;
    uint64_t factor;
  };
  // "kb" is read as KiB too: nobody sizing a request body means 1000 bytes.
  static constexpr std::array<suffix, 11> suffixes{{
    {"", 1},
    {"b", 1},
    {"k", uint64_t{1} << 10},
    {"kb", uint64_t{1} << 10},
    {"kib", uint64_t{1} << 10},
    {"m", uint64_t{1} << 20},
    {"mb", uint64_t{1} << 20},
    {"mib", uint64_t{1} << 20},
    {"g", uint64_t{1} << 30},
    {"gb", uint64_t{1} << 30},
    {"gib", uint64_t{1} << 30},
  }};
  for (auto& s : suffixes)
    if (iequals(unit, s.name))
      return checked_mul(*number, s.factor);
  return std::nullopt;
}

std::optional<host_port> parse_listen(std::string_view text) {
  std::string_view host;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    // Brackets exist only to protect IPv6 colons; "[localhost]" is a typo.
    if (host.find(':') == std::string_view::npos)
      return std::nullopt;
  } else {
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
      return std::nullopt;
    host = text.substr(0, colon);
    rest = text.substr(colon);
    // A second colon means an unbracketed IPv6 address: ambiguous.
    if (host.find(':') != std::string_view::npos)
      return std::nullopt;
  }
  if (rest.size() < 2 || rest.front() != ':')
    return std::nullopt;
  auto port = parse_uint(rest.substr(1));
  if (!port || *port > 65535 || !valid_listen_host(host))
    return std::nullopt;
  return host_port{std::string{host}, static_cast<uint16_t>(*port)};
}

bool valid_listen_host(std::string_view host) {
  if (host.empty() || host.size() > 253)
    return false;
  if (host.find(':') != std::string_view::npos) {
    // IPv6, optionally with a zone id after '%' (e.g. fe80::1%eth0).
    auto percent = host.find('%');
    auto addr = host.substr(0, percent);
    for (char c : addr)
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.')
        return false;
    if (percent != std::string_view::npos) {
      auto zone = host.substr(percent + 1);
      if (zone.empty())
        return false;
      for (char c : zone)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' &&
            c != '.')
          return false;
    }
    return true;
  }
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' &&
        c != '_')
      return false;
  return true;
}

// -- formatting -------------------------------------------------------------------

std::string format_duration(std::chrono::milliseconds value) {
  auto ms = value.count();
  if (ms != 0) {
    if (ms % (60 * 60 * 1000) == 0)
      return std::to_string(ms / (60 * 60 * 1000)) + "h";
    if (ms % (60 * 1000) == 0)
      return std::to_string(ms / (60 * 1000)) + "m";
    if (ms % 1000 == 0)
      return std::to_string(ms / 1000) + "s";
  }
  return std::to_string(ms) + "ms";
}

std::string format_size(uint64_t bytes) {
  if (bytes != 0) {
    if (bytes % (uint64_t{1} << 30) == 0)
      return std::to_string(bytes >> 30) + "GiB";
    if (bytes % (uint64_t{1} << 20) == 0)
      return std::to_string(bytes >> 20) + "MiB";
    if (bytes % (uint64_t{1} << 10) == 0)
      return std::to_string(bytes >> 10) + "KiB";
  }
  return std::to_string(bytes);
}

std::string format_listen(std::string_view host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos)
    out.append("[").append(host).append("]");
  else
    out.append(host);
  return out.append(":").append(std::to_string(port));
}

} // namespace fp::config::detail
