#pragma once

// Standard Webhooks signing (https://www.standardwebhooks.com): the
// signature is HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>"
// keyed with the base64-decoded part of a "whsec_<base64>" secret, sent as
// `webhook-signature: v1,<base64>`.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fp::runtime {

/// The HMAC key of a "whsec_<base64>" secret (the prefix is optional), or
/// nullopt when the base64 part is malformed or empty.
std::optional<std::string> webhook_secret_key(std::string_view secret);

/// "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>".
std::string webhook_signature(std::string_view key, std::string_view msg_id,
                              int64_t timestamp, std::string_view body);

/// Decodes standard base64 (RFC 4648 section 4, padding required when the
/// length asks for it); nullopt on bad input.
std::optional<std::string> base64_decode(std::string_view text);

} // namespace fp::runtime
