#pragma once

// The LLM client boundary: one request/response vocabulary for every
// provider ("openai" — any OpenAI-compatible chat completions server,
// "anthropic" — the Messages API, "local" — built in, deterministic, no
// network), and the client that adds timeouts, retries with backoff on
// 429/5xx honouring Retry-After, and a circuit breaker per provider.
//
// Calls block the calling thread (network providers stream over HTTP):
// run them on the LLM gateway's threads, never on a cooperative actor.
// API keys are never logged and never appear in errors.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

namespace fp::actors::llm {

// -- vocabulary ------------------------------------------------------------------------

/// A tool the model may call.
struct tool_spec {
  std::string name;
  std::string description;
  /// JSON Schema (object) of the arguments, as JSON text.
  std::string parameters = R"({"type":"object"})";
};

/// A tool call the model made.
struct tool_call {
  /// The provider's id for it (generated for providers without ids).
  std::string id;
  std::string name;
  /// JSON text of the arguments (as the model produced it; may be invalid).
  std::string arguments = "{}";
};

/// One message of the conversation sent to the model.
struct message {
  /// "system", "user", "assistant" or "tool".
  std::string role;
  std::string content;
  /// For an assistant message that called tools.
  std::vector<tool_call> tool_calls;
  /// For a "tool" message: the call it answers, and whether it is an error.
  std::string tool_call_id;
  bool is_error = false;
};

/// One completion request.
struct request {
  /// "openai", "anthropic", "local" or another configured provider name.
  std::string provider;
  std::string model;
  std::vector<message> messages;
  std::vector<tool_spec> tools;
  /// JSON Schema the answer must match (structured output); empty: free
  /// text. The client validates the answer and makes one repair attempt.
  std::string response_schema;
  int max_tokens = 1024;
  double temperature = 0;
  /// Stream the answer (deltas reach the sink as they arrive).
  bool stream = true;
};

struct usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  /// False when the provider sent no usage (the client then estimates it
  /// from the text, about 4 characters per token).
  bool reported = false;
};

/// A complete answer.
struct response {
  std::string text;
  std::vector<tool_call> tool_calls;
  usage tokens;
  /// "stop", "tool_calls", "length", ... as the provider said.
  std::string finish_reason;
  std::string provider;
  std::string model;
  /// HTTP attempts made (1 without retries; 0 for "local").
  int attempts = 0;
  /// The structured-output repair attempt was used.
  bool repaired = false;
};

/// Receives an answer as it streams. Called on the calling thread.
struct stream_sink {
  /// A piece of answer text.
  std::function<void(std::string_view)> on_text;
  /// A tool call, once its arguments are complete.
  std::function<void(const tool_call&)> on_tool_call;
  /// A retry is about to happen (attempt number that failed, why, delay).
  std::function<void(int, const std::string&, std::chrono::milliseconds)>
    on_retry;
};

/// Set from any thread to stop a call promptly (the stream is closed; the
/// call returns llm errc::cancelled).
struct cancel_token {
  std::atomic<bool> cancelled{false};
  void cancel() noexcept { cancelled.store(true, std::memory_order_relaxed); }
  bool is_cancelled() const noexcept {
    return cancelled.load(std::memory_order_relaxed);
  }
};

/// Why a call failed. Errors carry a one-line context message.
enum class errc : uint8_t {
  none = 0,
  /// No answer within the timeout.
  timeout,
  /// 429 after the last retry.
  rate_limited,
  /// 5xx after the last retry, a mid-stream error, or a refused request.
  provider_error,
  /// The answer could not be understood.
  bad_response,
  /// The structured answer did not match the schema, even after repair.
  schema_mismatch,
  cancelled,
  /// The provider's circuit breaker is open.
  circuit_open,
  /// Unknown provider or model, or the provider is not configured.
  not_configured,
  /// Could not connect (DNS, TLS, refused).
  unavailable,
};

const char* to_string(errc e) noexcept;

caf::error make_error(errc e, std::string context = {});

/// The llm errc of `err`, or errc::none when it is not an llm error.
errc code_of(const caf::error& err) noexcept;

// -- prices ------------------------------------------------------------------------------

/// Price of one model, in micro-units per million tokens.
struct model_price {
  int64_t input_per_mtok = 0;
  int64_t output_per_mtok = 0;
};

/// Prices per "provider/model"; "provider/*" is the provider's default.
/// Text form (settings.llm_prices): entries separated by ';' or newlines,
/// each `provider/model=<input>:<output>` in currency units per million
/// tokens, e.g. `openai/gpt-4o-mini=0.15:0.60; local/*=0:0`.
class price_table {
public:
  /// Parses the text form; a bad entry is an error naming it.
  static caf::expected<price_table> parse(std::string_view text);

  void set(std::string provider_model, model_price p);

  /// The price of `provider`/`model`, falling back to `provider/*`, else
  /// zero (unknown models cost nothing, and say so in `known`).
  model_price price_of(std::string_view provider, std::string_view model,
                       bool* known = nullptr) const;

  /// Cost in micro-units of `u` at `p`, rounded up.
  static int64_t cost_micros(const model_price& p, const usage& u) noexcept;

private:
  std::map<std::string, model_price, std::less<>> prices_;
};

// -- transport ---------------------------------------------------------------------------

/// One HTTP POST whose answer body is read as it streams.
struct http_call {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Connect + first byte of the answer.
  std::chrono::milliseconds connect_timeout{10000};
  /// Longest silence between two pieces of the body.
  std::chrono::milliseconds read_timeout{60000};
};

/// What the server answered before the body.
struct http_head {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  /// The value of header `name` (case-insensitive), or empty.
  std::string header(std::string_view name) const;
};

/// Does HTTP for the network providers (the Beast + OpenSSL client in net/
/// in production; certificate verification on). Thread-safe.
class http_transport {
public:
  virtual ~http_transport() = default;

  /// POSTs `call`; `on_head` once the status and headers are in, then
  /// `on_body` with each piece of the body (return false to stop reading).
  /// Returns once the body ended, on error (llm errc: timeout, unavailable,
  /// cancelled), or when `cancel` was set (checked at least every 50 ms).
  virtual caf::error post(const http_call& call, const cancel_token& cancel,
                          const std::function<void(const http_head&)>& on_head,
                          const std::function<bool(std::string_view)>& on_body)
    = 0;
};

// -- providers and the client -------------------------------------------------------------

/// How one network provider is reached.
struct provider_config {
  /// "openai" or "anthropic" (the wire format).
  std::string kind;
  /// e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1,
  /// https://api.anthropic.com/v1 (the client appends /chat/completions or
  /// /messages).
  std::string base_url;
  /// Sent as `Authorization: Bearer` (openai) or `x-api-key` (anthropic);
  /// may be empty (local servers).
  std::string api_key;
};

/// Shared behaviour of the client.
struct client_options {
  /// Network providers by name ("openai", "anthropic", or any other name
  /// whose `kind` says its wire format). "local" is always present.
  std::map<std::string, provider_config, std::less<>> providers;
  price_table prices;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds read_timeout{60000};
  /// Whole call, retries included.
  std::chrono::milliseconds total_timeout{300000};
  /// HTTP attempts per call (429, 5xx, connection errors, timeouts).
  int max_attempts = 3;
  std::chrono::milliseconds backoff_min{500};
  std::chrono::milliseconds backoff_max{30000};
  /// Longest Retry-After honoured; a longer one fails the call.
  std::chrono::milliseconds retry_after_max{60000};
  /// Consecutive failed calls that open a provider's breaker, and how long
  /// it stays open before one trial call may pass.
  int breaker_threshold = 5;
  std::chrono::milliseconds breaker_cooldown{30000};
};

/// The one client every execution uses. Thread-safe.
class client {
public:
  client(client_options opts, std::shared_ptr<http_transport> transport);
  ~client();

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Runs `req` to completion, streaming into `sink`. Validates a
  /// structured answer against `req.response_schema` and, when it does not
  /// match, asks once more with the validation errors (then
  /// errc::schema_mismatch).
  caf::expected<response> complete(const request& req, const stream_sink& sink,
                                   const cancel_token& cancel);

  /// The price table (for cost arithmetic and budget checks).
  const price_table& prices() const noexcept;

  /// True when `provider` can be called (configured or "local").
  bool has_provider(std::string_view provider) const;

  /// "closed", "open" or "half_open".
  std::string breaker_state(std::string_view provider) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace fp::actors::llm
