#include "fp/runtime/webhook_signature.hpp"

#include <openssl/evp.h>

#include "fp/runtime/crypto.hpp"

namespace fp::runtime {

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  if (text.empty())
    return std::string{};
  std::string out(text.size() / 4 * 3, '\0');
  // EVP_DecodeBlock keeps the padding bytes as zeros; strip them after.
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0)
    return std::nullopt;
  std::size_t pad = 0;
  if (text.back() == '=')
    ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=')
    ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::optional<std::string> webhook_secret_key(std::string_view secret) {
  constexpr std::string_view prefix = "whsec_";
  if (secret.substr(0, prefix.size()) == prefix)
    secret.remove_prefix(prefix.size());
  auto key = base64_decode(secret);
  if (!key || key->empty())
    return std::nullopt;
  return key;
}

std::string webhook_signature(std::string_view key, std::string_view msg_id,
                              int64_t timestamp, std::string_view body) {
  std::string content;
  content.reserve(msg_id.size() + body.size() + 24);
  content.append(msg_id).append(".").append(std::to_string(timestamp));
  content.append(".").append(body);
  return "v1," + base64_encode(hmac_sha256(key, content));
}

} // namespace fp::runtime
