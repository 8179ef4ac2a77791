#include "fp/runtime/crypto.hpp"

#include <stdexcept>
#include <vector>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "fp/runtime/ids.hpp"

namespace fp::runtime {

namespace {

constexpr char b64url_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr char b64_alphabet[]
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string encode(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(in[k])); };
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = byte(i) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad)
      out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad)
      out += '=';
  }
  return out;
}

bool scrypt(std::string_view password, std::string_view salt,
            const scrypt_params& p, unsigned char* out, size_t out_len) {
  uint64_t n = uint64_t{1} << p.log2_n;
  // maxmem must cover 128 * N * r * p plus slack, or OpenSSL refuses.
  uint64_t maxmem = 128 * n * p.r * p.p + (uint64_t{1} << 20);
  return EVP_PBE_scrypt(password.data(), password.size(),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        salt.size(), n, p.r, p.p, maxmem, out, out_len)
         == 1;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    auto pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos)
      return parts;
    start = pos + 1;
  }
}

bool parse_uint(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 9)
    return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  out = v;
  return true;
}

} // namespace

std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, b64url_alphabet, false);
}

std::string base64_encode(std::string_view bytes) {
  return encode(bytes, b64_alphabet, true);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=')
    text.remove_suffix(1);
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string hash_password(std::string_view password, scrypt_params params) {
  unsigned char salt[16];
  random_bytes(salt, sizeof(salt));
  unsigned char hash[32];
  std::string_view salt_view{reinterpret_cast<char*>(salt), sizeof(salt)};
  if (!scrypt(password, salt_view, params, hash, sizeof(hash)))
    throw std::runtime_error("scrypt failed");
  return "scrypt$" + std::to_string(params.log2_n) + "$"
         + std::to_string(params.r) + "$" + std::to_string(params.p) + "$"
         + base64url_encode(salt_view) + "$"
         + base64url_encode({reinterpret_cast<char*>(hash), sizeof(hash)});
}

bool verify_password(std::string_view password, std::string_view encoded) {
  auto parts = split(encoded, '$');
  if (parts.size() != 6 || parts[0] != "scrypt")
    return false;
  uint32_t log2_n, r, p;
  if (!parse_uint(parts[1], log2_n) || !parse_uint(parts[2], r)
      || !parse_uint(parts[3], p) || log2_n < 1 || log2_n > 22 || r < 1
      || r > 32 || p < 1 || p > 16)
    return false;
  auto salt = base64url_decode(parts[4]);
  auto expected = base64url_decode(parts[5]);
  if (!salt || !expected || expected->size() != 32)
    return false;
  scrypt_params params{static_cast<uint8_t>(log2_n), r, p};
  unsigned char hash[32];
  if (!scrypt(password, *salt, params, hash, sizeof(hash)))
    return false;
  return constant_time_equal({reinterpret_cast<char*>(hash), sizeof(hash)},
                             *expected);
}

std::string new_secret_token(std::size_t bytes) {
  if (bytes < 16)
    bytes = 16;
  std::string raw(bytes, '\0');
  random_bytes(raw.data(), raw.size());
  return base64url_encode(raw);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(),
            out, &len))
    throw std::runtime_error("HMAC failed");
  return std::string{reinterpret_cast<char*>(out), len};
}

} // namespace fp::runtime
