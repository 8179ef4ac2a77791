#include "fp/runtime/network_guard.hpp"

#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

#include "fp/runtime/errc.hpp"

namespace fp::runtime {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

int bits_of(const ip_address& a) noexcept {
  return a.v6 ? 128 : 32;
}

bool in_block(const ip_address& addr, const char* base, int prefix) {
  auto b = parse_ip(base);
  return b && contains(cidr_block{*b, prefix}, addr);
}

} // namespace

std::optional<ip_address> parse_ip(std::string_view text) {
  if (text.empty() || text.size() > 45)
    return std::nullopt;
  std::string s{text};
  ip_address out;
  if (inet_pton(AF_INET, s.c_str(), out.bytes.data()) == 1)
    return out;
  if (inet_pton(AF_INET6, s.c_str(), out.bytes.data()) != 1)
    return std::nullopt;
  static constexpr uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out.bytes.data(), mapped, sizeof(mapped)) == 0) {
    std::memmove(out.bytes.data(), out.bytes.data() + 12, 4);
    std::memset(out.bytes.data() + 4, 0, 12);
    return out;
  }
  out.v6 = true;
  return out;
}

std::string to_string(const ip_address& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(addr.v6 ? AF_INET6 : AF_INET, addr.bytes.data(), buf, sizeof(buf));
  return buf;
}

caf::expected<cidr_block> parse_cidr(std::string_view text) {
  text = trim(text);
  auto bad = [&](const char* why) {
    return make_error(errc::invalid_argument,
                      "invalid CIDR block \"" + std::string{text} + "\": " + why);
  };
  auto slash = text.find('/');
  auto addr = parse_ip(text.substr(0, slash));
  if (!addr)
    return bad("not an IP address");
  cidr_block block{*addr, bits_of(*addr)};
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3)
      return bad("bad prefix length");
    int n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9')
        return bad("bad prefix length");
      n = n * 10 + (c - '0');
    }
    if (n > bits_of(*addr))
      return bad("prefix length too large");
    block.prefix = n;
  }
  // Host bits below the prefix usually mean a typo (10.0.0.1/8).
  for (int bit = block.prefix; bit < bits_of(*addr); ++bit)
    if (addr->bytes[bit / 8] & (0x80 >> (bit % 8)))
      return bad("host bits set below the prefix");
  return block;
}

caf::expected<std::vector<cidr_block>> parse_cidr_list(std::string_view text) {
  std::vector<cidr_block> out;
  while (!trim(text).empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    if (item.empty())
      return make_error(errc::invalid_argument,
                        "empty item in CIDR list \"" + std::string{text} + "\"");
    auto block = parse_cidr(item);
    if (!block)
      return std::move(block.error());
    out.push_back(*block);
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
    if (trim(text).empty())
      return make_error(errc::invalid_argument, "trailing comma in CIDR list");
  }
  return out;
}

bool contains(const cidr_block& block, const ip_address& addr) noexcept {
  if (block.base.v6 != addr.v6)
    return false;
  int full = block.prefix / 8;
  if (std::memcmp(block.base.bytes.data(), addr.bytes.data(),
                  static_cast<std::size_t>(full)) != 0)
    return false;
  int rest = block.prefix % 8;
  if (rest == 0)
    return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (block.base.bytes[full] & mask) == (addr.bytes[full] & mask);
}

bool is_restricted(const ip_address& addr) noexcept {
  static const char* const v4[][2] = {
    {"0.0.0.0", "8"},     {"10.0.0.0", "8"},     {"100.64.0.0", "10"},
    {"127.0.0.0", "8"},   {"169.254.0.0", "16"}, {"172.16.0.0", "12"},
    {"192.168.0.0", "16"}, {"224.0.0.0", "4"},   {"255.255.255.255", "32"},
  };
  static const char* const v6[][2] = {
    {"::", "128"}, {"::1", "128"}, {"fc00::", "7"}, {"fe80::", "10"},
    {"ff00::", "8"},
  };
  if (!addr.v6) {
    for (auto& b : v4)
      if (in_block(addr, b[0], std::atoi(b[1])))
        return true;
    return false;
  }
  for (auto& b : v6)
    if (in_block(addr, b[0], std::atoi(b[1])))
      return true;
  return false;
}

std::string refusal_reason(const ip_address& addr,
                           const std::vector<cidr_block>& allowed) {
  if (!is_restricted(addr))
    return {};
  for (auto& b : allowed)
    if (contains(b, addr))
      return {};
  return "address " + to_string(addr)
         + " is private, loopback, link-local or otherwise reserved and not "
           "in webhook-allow-networks";
}

} // namespace fp::runtime
