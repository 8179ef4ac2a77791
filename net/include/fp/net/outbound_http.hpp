#pragma once

// The blocking outbound HTTP/1.1 client of webhooks (Beast, OpenSSL). It
// runs on job worker threads. Before connecting it resolves the host and
// refuses when ANY resolved address is private, loopback, link-local or
// otherwise reserved (unless inside an allowed block), then connects to
// exactly the checked addresses: no second lookup, so DNS rebinding cannot
// swap in an address that was never checked. Redirects are not followed.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "fp/actors/directives.hpp"
#include "fp/config/settings.hpp"
#include "fp/runtime/network_guard.hpp"

namespace fp::net {

/// Options of the outbound client.
struct outbound_http_options {
  /// Budget of one whole request: resolve, connect, TLS, write, read.
  std::chrono::milliseconds timeout{10000};
  /// Reserved addresses that may be reached anyway.
  std::vector<runtime::cidr_block> allowed_networks;
  /// Longer response bodies are cut (the status still counts).
  std::size_t max_response_body = 64 * 1024;
  std::string user_agent = "FleetPrompt-Webhooks/1";
};

/// The options of `settings` (webhook_timeout, webhook_allow_networks); a
/// bad CIDR list gives invalid_argument naming the bad block.
caf::expected<outbound_http_options>
outbound_options_from(const config::settings& settings);

/// A thread-safe client: one TLS context (system CA store) shared by all
/// requests.
class outbound_http_client {
public:
  /// Fails when the TLS context cannot be set up.
  static caf::expected<std::shared_ptr<outbound_http_client>>
  make(outbound_http_options options);

  ~outbound_http_client();

  /// POSTs `req`. Never throws. status 0 with `error` when no response
  /// arrived: `retryable` is false for refused addresses and bad URLs,
  /// true for DNS, connect, TLS and timeout errors.
  actors::webhook_response post(const actors::webhook_request& req) const;

  struct impl;

private:
  explicit outbound_http_client(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

/// The poster the directive executors get.
actors::webhook_poster
make_webhook_poster(std::shared_ptr<outbound_http_client> client);

// -- URLs ---------------------------------------------------------------------------

/// The parts of an http(s) URL.
struct http_url {
  bool tls = false;
  /// Without brackets for IPv6 literals.
  std::string host;
  std::string port;
  /// Path and query, at least "/".
  std::string target;
};

/// Parses "http[s]://host[:port][/path][?query]"; userinfo and fragments
/// are refused. Error text in the expected's error.
caf::expected<http_url> parse_http_url(std::string_view url);

} // namespace fp::net
