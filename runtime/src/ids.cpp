#include "fp/runtime/ids.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace fp::runtime {

namespace {

bool is_lower_hex(std::string_view s) noexcept {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

bool all_zero(std::string_view s) noexcept {
  return s.find_first_not_of('0') == std::string_view::npos;
}

/// Hex of `bytes` random bytes for identifiers (request, trace and span
/// ids), not secrets: served from a per-thread buffer refilled by the CSPRNG
/// 4 KiB at a time, because one RAND_bytes call per request showed up in
/// the HTTP profile. Secrets still go through random_bytes directly.
std::string random_hex(std::size_t bytes) {
  struct pool {
    unsigned char buf[4096];
    std::size_t used = sizeof(buf);
  };
  thread_local pool p;
  if (p.used + bytes > sizeof(p.buf)) {
    random_bytes(p.buf, sizeof(p.buf));
    p.used = 0;
  }
  auto out = to_hex(p.buf + p.used, bytes);
  p.used += bytes;
  return out;
}

} // namespace

void random_bytes(void* out, std::size_t len) {
  if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(len)) != 1)
    throw std::runtime_error("RAND_bytes failed");
}

int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string to_hex(const void* data, std::size_t len) {
  static constexpr char digits[] = "0123456789abcdef";
  auto bytes = static_cast<const unsigned char*>(data);
  std::string out(len * 2, '0');
  for (std::size_t i = 0; i < len; ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0xf];
  }
  return out;
}

int64_t unix_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

std::string new_uuid_v7() {
  // RFC 9562 method 3: a 12-bit sub-millisecond sequence in rand_a keeps ids
  // from one process strictly increasing even within a millisecond.
  static std::mutex mtx;
  static int64_t last_ms = 0;
  static uint16_t seq = 0;
  int64_t ms;
  uint16_t s;
  {
    std::lock_guard<std::mutex> guard{mtx};
    ms = unix_ms();
    if (ms <= last_ms) {
      ms = last_ms;
      if (++seq > 0x0fff) {
        // Sequence exhausted: borrow the next millisecond.
        ++ms;
        seq = 0;
      }
    } else {
      seq = 0;
    }
    last_ms = ms;
    s = seq;
  }
  unsigned char b[16];
  random_bytes(b + 8, 8);
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>(0x70 | ((s >> 8) & 0x0f));
  b[7] = static_cast<unsigned char>(s & 0xff);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  auto hex = to_hex(b, 16);
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4)
         + '-' + hex.substr(16, 4) + '-' + hex.substr(20);
}

std::string new_request_id() {
  return random_hex(8);
}

bool valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128)
    return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':'
              || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

std::string trace_context::to_traceparent() const {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "00-";
  out += trace_id;
  out += '-';
  out += span_id;
  out += '-';
  out += digits[flags >> 4];
  out += digits[flags & 0xf];
  return out;
}

std::optional<trace_context> parse_traceparent(std::string_view h) {
  // version "-" trace-id "-" parent-id "-" trace-flags; 55 chars for v00.
  // Later versions may append fields, which we ignore as the spec asks.
  if (h.size() < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-')
    return std::nullopt;
  auto version = h.substr(0, 2);
  if (!is_lower_hex(version) || version == "ff")
    return std::nullopt;
  if (version == "00" && h.size() != 55)
    return std::nullopt;
  if (h.size() > 55 && h[55] != '-')
    return std::nullopt;
  auto trace_id = h.substr(3, 32);
  auto parent_id = h.substr(36, 16);
  auto flags = h.substr(53, 2);
  if (!is_lower_hex(trace_id) || !is_lower_hex(parent_id)
      || !is_lower_hex(flags) || all_zero(trace_id) || all_zero(parent_id))
    return std::nullopt;
  trace_context ctx;
  ctx.trace_id = std::string{trace_id};
  ctx.parent_id = std::string{parent_id};
  ctx.flags = static_cast<uint8_t>(std::stoi(std::string{flags}, nullptr, 16));
  return ctx;
}

trace_context continue_trace(std::string_view incoming) {
  trace_context ctx;
  if (auto parsed = parse_traceparent(incoming)) {
    ctx = std::move(*parsed);
  } else {
    do {
      ctx.trace_id = random_hex(16);
    } while (all_zero(ctx.trace_id));
    ctx.flags = 0;
  }
  do {
    ctx.span_id = random_hex(8);
  } while (all_zero(ctx.span_id));
  return ctx;
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr)
      != 1)
    throw std::runtime_error("EVP_Digest(sha256) failed");
  return to_hex(md, len);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace fp::runtime
