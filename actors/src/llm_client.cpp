// llm::client: dispatch to the local provider or a network provider,
// retries with backoff honouring Retry-After, a circuit breaker per
// provider, structured-output validation with one repair attempt, and
// API keys scrubbed from every error.

#include "fp/actors/llm.hpp"

#include <mutex>
#include <optional>
#include <thread>

#include "fp/actors/json_schema.hpp"
#include "fp/actors/llm_wire.hpp"
#include "fp/runtime/errc.hpp"

#include "llm_breaker.hpp"
#include "llm_local.hpp"

namespace fp::actors::llm {

namespace {

using resilience::clock;
using std::chrono::milliseconds;

/// One network call's result and whether it says the provider is unwell.
struct outcome {
  caf::expected<response> res{response{}};
  bool provider_fault = false;
};

int64_t estimate_tokens(size_t chars) {
  return static_cast<int64_t>((chars + 3) / 4);
}

void estimate_usage(const request& req, response& res) {
  if (res.tokens.reported)
    return;
  size_t in = 0;
  for (const auto& m : req.messages) {
    in += m.content.size();
    for (const auto& c : m.tool_calls)
      in += c.name.size() + c.arguments.size();
  }
  for (const auto& t : req.tools)
    in += t.name.size() + t.description.size() + t.parameters.size();
  size_t out = res.text.size();
  for (const auto& c : res.tool_calls)
    out += c.name.size() + c.arguments.size();
  res.tokens.input_tokens = estimate_tokens(in);
  res.tokens.output_tokens = estimate_tokens(out);
}

std::string url_of(const provider_config& cfg) {
  auto base = cfg.base_url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  return base + (cfg.kind == "anthropic" ? "/messages" : "/chat/completions");
}

// Errors must never carry a key, even when a provider echoes it back.
caf::error scrub(caf::error err, const std::string& key) {
  if (!err || key.size() < 4)
    return err;
  auto ctx = runtime::context_of(err);
  if (ctx.find(key) == std::string::npos)
    return err;
  for (auto pos = ctx.find(key); pos != std::string::npos;
       pos = ctx.find(key, pos))
    ctx.replace(pos, key.size(), "[redacted]");
  return make_error(code_of(err), std::move(ctx));
}

// Sleeps `delay`, waking at least every 50 ms to look at `cancel`.
bool sleep_unless_cancelled(milliseconds delay, const cancel_token& cancel) {
  auto until = clock::now() + delay;
  while (clock::now() < until) {
    if (cancel.is_cancelled())
      return false;
    auto left = std::chrono::duration_cast<milliseconds>(until - clock::now());
    std::this_thread::sleep_for(std::min(left, milliseconds{50}));
  }
  return !cancel.is_cancelled();
}

} // namespace

// -- impl ----------------------------------------------------------------------------

struct client::impl {
  client_options opts;
  std::shared_ptr<http_transport> transport;
  mutable std::mutex mtx;
  mutable std::map<std::string, resilience::circuit_breaker, std::less<>> breakers;

  resilience::circuit_breaker& breaker(std::string_view provider) const {
    auto i = breakers.find(provider);
    if (i == breakers.end())
      i = breakers
            .emplace(std::string{provider},
                     resilience::circuit_breaker{opts.breaker_threshold,
                                             opts.breaker_cooldown})
            .first;
    return i->second;
  }

  // One HTTP attempt loop for one model call.
  outcome call(const std::string& name, const provider_config& cfg,
               const request& req, const stream_sink& sink,
               const cancel_token& cancel, clock::time_point deadline) {
    http_call hc;
    hc.url = url_of(cfg);
    hc.headers.emplace_back("content-type", "application/json");
    if (req.stream)
      hc.headers.emplace_back("accept", "text/event-stream");
    if (cfg.kind == "anthropic") {
      hc.body = wire::encode_anthropic(req);
      hc.headers.emplace_back("anthropic-version", "2023-06-01");
      if (!cfg.api_key.empty())
        hc.headers.emplace_back("x-api-key", cfg.api_key);
    } else {
      hc.body = wire::encode_openai(req);
      if (!cfg.api_key.empty())
        hc.headers.emplace_back("authorization", "Bearer " + cfg.api_key);
    }
    caf::error last;
    int max_attempts = std::max(1, opts.max_attempts);
    for (int attempt = 1; attempt <= max_attempts; ++attempt) {
      if (cancel.is_cancelled())
        return {make_error(errc::cancelled, "the call was cancelled"), false};
      auto remaining = std::chrono::duration_cast<milliseconds>(
        deadline - clock::now());
      if (remaining.count() <= 0)
        return {make_error(errc::timeout, "provider " + name
                                            + " gave no answer within the "
                                              "call's total timeout"),
                true};
      hc.connect_timeout = std::min(opts.connect_timeout, remaining);
      hc.read_timeout = std::min(opts.read_timeout, remaining);
      http_head head;
      std::string error_body;
      auto dec = cfg.kind == "anthropic"
                   ? wire::make_anthropic_decoder(sink, req.stream)
                   : wire::make_openai_decoder(sink, req.stream);
      caf::error dec_err;
      bool past_deadline = false;
      auto on_head = [&](const http_head& h) { head = h; };
      auto on_body = [&](std::string_view piece) {
        // A stream that keeps trickling must still end with the call.
        if (clock::now() > deadline) {
          past_deadline = true;
          return false;
        }
        if (head.status / 100 != 2) {
          if (error_body.size() < 65536)
            error_body += piece;
          return true;
        }
        dec_err = dec->feed(piece);
        return !dec_err;
      };
      auto terr = transport->post(hc, cancel, on_head, on_body);
      if (cancel.is_cancelled() || code_of(terr) == errc::cancelled)
        return {make_error(errc::cancelled, "the call was cancelled"), false};
      std::optional<milliseconds> retry_after;
      if (past_deadline)
        return {make_error(errc::timeout, "provider " + name
                                            + " did not finish within the "
                                              "call's total timeout"),
                true};
      if (terr) {
        auto code = code_of(terr);
        if (code == errc::none)
          code = errc::unavailable;
        last = make_error(code, "provider " + name + ": "
                                  + runtime::context_of(terr));
        if (dec->emitted())
          return {last, true}; // A retry would repeat streamed text.
      } else if (head.status == 429) {
        last = make_error(errc::rate_limited,
                          "provider " + name + " answered HTTP 429: "
                            + wire::error_message(error_body));
        retry_after = resilience::parse_retry_after(head.header("retry-after"));
      } else if (head.status >= 500) {
        last = make_error(errc::provider_error,
                          "provider " + name + " answered HTTP "
                            + std::to_string(head.status) + ": "
                            + wire::error_message(error_body));
        retry_after = resilience::parse_retry_after(head.header("retry-after"));
      } else if (head.status / 100 != 2) {
        // The request itself was refused: retrying cannot help, and the
        // provider is healthy.
        return {make_error(errc::provider_error,
                           "provider " + name + " refused the request (HTTP "
                             + std::to_string(head.status) + "): "
                             + wire::error_message(error_body)),
                false};
      } else if (dec_err) {
        return {dec_err, true};
      } else {
        auto res = dec->finish();
        if (!res)
          return {res.error(), true};
        res->attempts = attempt;
        res->provider = name;
        if (res->model.empty())
          res->model = req.model;
        estimate_usage(req, *res);
        return {std::move(res), false};
      }
      if (attempt == max_attempts)
        break;
      auto delay = retry_after ? *retry_after
                               : resilience::backoff_delay(attempt,
                                                       opts.backoff_min,
                                                       opts.backoff_max);
      if (retry_after && *retry_after > opts.retry_after_max)
        return {make_error(code_of(last),
                           runtime::context_of(last) + " (Retry-After of "
                             + std::to_string(retry_after->count() / 1000)
                             + " s exceeds the limit)"),
                true};
      if (clock::now() + delay > deadline)
        break;
      if (sink.on_retry)
        sink.on_retry(attempt, runtime::context_of(last), delay);
      if (!sleep_unless_cancelled(delay, cancel))
        return {make_error(errc::cancelled, "the call was cancelled"), false};
    }
    return {last, true};
  }

  // A network call through the provider's breaker.
  caf::expected<response> guarded(const std::string& name,
                                  const provider_config& cfg,
                                  const request& req, const stream_sink& sink,
                                  const cancel_token& cancel,
                                  clock::time_point deadline) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      if (!breaker(name).allow(clock::now()))
        return make_error(errc::circuit_open,
                          "the circuit breaker of provider " + name
                            + " is open after repeated failures");
    }
    auto out = call(name, cfg, req, sink, cancel, deadline);
    std::lock_guard<std::mutex> guard{mtx};
    auto& b = breaker(name);
    if (out.res)
      b.on_success();
    else if (out.provider_fault)
      b.on_failure(clock::now());
    else if (code_of(out.res.error()) == errc::cancelled)
      b.release();
    else
      b.on_success();
    return std::move(out.res);
  }

  caf::expected<response> run(const request& req, const stream_sink& sink,
                              const cancel_token& cancel) {
    if (req.provider == "local" || req.provider.empty()) {
      auto res = local::complete(req, sink, cancel);
      if (res && !req.response_schema.empty())
        if (auto issues = validate_json(req.response_schema, res->text);
            !issues.empty())
          return make_error(errc::schema_mismatch,
                            "the local answer does not match the schema: "
                              + describe_issues(issues, 5));
      return res;
    }
    auto i = opts.providers.find(req.provider);
    if (i == opts.providers.end())
      return make_error(errc::not_configured,
                        "provider " + req.provider + " is not configured");
    if (!transport)
      return make_error(errc::not_configured,
                        "no HTTP transport for provider " + req.provider);
    auto deadline = clock::now() + opts.total_timeout;
    auto res = guarded(i->first, i->second, req, sink, cancel, deadline);
    if (!res || req.response_schema.empty())
      return res;
    // Structured output: validate, and repair once with the issues.
    auto json = wire::extract_json(res->text);
    auto issues = validate_json(req.response_schema, json);
    if (issues.empty()) {
      res->text = std::move(json);
      return res;
    }
    auto repair = req;
    message answer;
    answer.role = "assistant";
    answer.content = res->text;
    repair.messages.push_back(std::move(answer));
    message ask;
    ask.role = "user";
    ask.content = "Your answer does not match the required JSON schema: "
                  + describe_issues(issues)
                  + ". Reply with only the corrected JSON object.";
    repair.messages.push_back(std::move(ask));
    auto second = guarded(i->first, i->second, repair, sink, cancel, deadline);
    if (!second)
      return second;
    second->attempts += res->attempts;
    second->tokens.input_tokens += res->tokens.input_tokens;
    second->tokens.output_tokens += res->tokens.output_tokens;
    second->tokens.reported = second->tokens.reported && res->tokens.reported;
    second->repaired = true;
    json = wire::extract_json(second->text);
    issues = validate_json(req.response_schema, json);
    if (!issues.empty())
      return make_error(errc::schema_mismatch,
                        "the structured answer does not match the schema "
                        "after one repair: "
                          + describe_issues(issues, 5));
    second->text = std::move(json);
    return second;
  }
};

// -- client --------------------------------------------------------------------------

client::client(client_options opts, std::shared_ptr<http_transport> transport)
  : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(opts);
  impl_->transport = std::move(transport);
}

client::~client() = default;

caf::expected<response> client::complete(const request& req,
                                         const stream_sink& sink,
                                         const cancel_token& cancel) {
  auto res = impl_->run(req, sink, cancel);
  if (res)
    return res;
  auto i = impl_->opts.providers.find(req.provider);
  if (i == impl_->opts.providers.end())
    return res;
  return scrub(std::move(res.error()), i->second.api_key);
}

const price_table& client::prices() const noexcept {
  return impl_->opts.prices;
}

bool client::has_provider(std::string_view provider) const {
  return provider == "local"
         || impl_->opts.providers.find(provider) != impl_->opts.providers.end();
}

std::string client::breaker_state(std::string_view provider) const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto i = impl_->breakers.find(provider);
  if (i == impl_->breakers.end())
    return "closed";
  return i->second.state(clock::now());
}

} // namespace fp::actors::llm
