#pragma once

// The HTTP transport of the LLM client (Beast + OpenSSL) and the factory
// that builds the node's llm::client from the settings.
//
// The transport makes one connection per call (http or https; https
// verifies the certificate against the system store, with SNI and host name
// checks), streams the answer body piece by piece as it arrives (chunked or
// not), and enforces the connect timeout (connect + first byte of the
// answer) and the read timeout (longest silence while streaming). A cancel
// token is looked at every 50 ms; a cancelled call closes its socket.

#include <memory>

#include <caf/expected.hpp>

#include "fp/actors/llm.hpp"
#include "fp/config/settings.hpp"

namespace fp::net {

/// Makes the Beast + OpenSSL transport. Throws std::runtime_error when the
/// TLS context cannot be set up (no usable system store).
std::shared_ptr<actors::llm::http_transport> make_llm_transport();

/// The client options of `settings`: providers "openai" and "anthropic"
/// (each configured when its API key is set or its base URL is not the
/// default), the price table, timeouts, attempts and breaker settings.
/// Errors: runtime::errc::invalid_argument naming a bad price entry.
caf::expected<actors::llm::client_options>
llm_options_from(const config::settings& settings);

/// The node's LLM client: llm_options_from(settings) over the Beast
/// transport, or the error of a bad price table (a start-up error).
caf::expected<std::shared_ptr<actors::llm::client>>
try_make_llm_client(const config::settings& settings);

/// As try_make_llm_client, for callers that want the plain pointer; throws
/// std::invalid_argument (with the error's text) on a bad price table, so
/// call it where start-up can fail, or check the settings first with
/// llm_options_from.
std::shared_ptr<actors::llm::client>
make_llm_client(const config::settings& settings);

} // namespace fp::net
