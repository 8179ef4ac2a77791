#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fp::runtime {

/// Base64url without padding (RFC 4648 section 5).
std::string base64url_encode(std::string_view bytes);
/// Decodes base64url with or without padding; nullopt on bad input.
std::optional<std::string> base64url_decode(std::string_view text);
/// Standard base64 with padding (RFC 4648 section 4).
std::string base64_encode(std::string_view bytes);

/// scrypt cost parameters. The defaults cost about 64 MiB and tens of
/// milliseconds per hash; tests may lower `log2_n`.
struct scrypt_params {
  uint8_t log2_n = 16;
  uint32_t r = 8;
  uint32_t p = 1;
};

/// Hashes a password with scrypt and a fresh 16-byte salt. The result is
/// self-describing: "scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url>",
/// so parameters can be raised later without invalidating stored hashes.
std::string hash_password(std::string_view password, scrypt_params params = {});

/// Checks `password` against a value from `hash_password`, comparing in
/// constant time. False for malformed encodings.
bool verify_password(std::string_view password, std::string_view encoded);

/// An opaque secret of `bytes` random bytes (>= 16), base64url-encoded.
std::string new_secret_token(std::size_t bytes = 32);

/// HMAC-SHA256 of `data` under `key`, raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

} // namespace fp::runtime
