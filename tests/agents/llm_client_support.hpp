#pragma once

// Shared helpers of the llm client tests: a client aimed at the fake model
// server, a request, and a call that records what reached the sink.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "fp/actors/llm.hpp"
#include "fp/runtime/errc.hpp"
#include "support/fake_llm_server.hpp"

namespace fp::test::llm_support {

using namespace fp::actors;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

inline const std::string secret = "sk-test-SECRET-0123456789";

inline llm::client_options options_for(const fake_llm_server& server) {
  llm::client_options opts;
  opts.providers["openai"] = {"openai", server.base_url(), secret};
  opts.providers["anthropic"] = {"anthropic", server.base_url(), secret};
  opts.connect_timeout = milliseconds{2000};
  opts.read_timeout = milliseconds{2000};
  opts.total_timeout = milliseconds{20000};
  opts.backoff_min = milliseconds{10};
  opts.backoff_max = milliseconds{50};
  return opts;
}

inline llm::request ask(std::string provider, std::string text = "Hello?") {
  llm::request req;
  req.provider = std::move(provider);
  req.model = "fake-model";
  req.messages.push_back({"system", "Be brief."});
  req.messages.push_back({"user", std::move(text)});
  return req;
}

struct call_result {
  caf::expected<llm::response> res{llm::response{}};
  std::vector<std::string> pieces;
  std::vector<llm::tool_call> calls;
  std::vector<std::pair<int, milliseconds>> retries;
  milliseconds elapsed{0};

  std::string streamed() const {
    std::string out;
    for (const auto& p : pieces)
      out += p;
    return out;
  }
};

inline call_result call(llm::client& c, const llm::request& req,
                 const llm::cancel_token* cancel = nullptr) {
  call_result out;
  llm::stream_sink sink;
  sink.on_text = [&](std::string_view t) { out.pieces.emplace_back(t); };
  sink.on_tool_call = [&](const llm::tool_call& tc) { out.calls.push_back(tc); };
  sink.on_retry = [&](int attempt, const std::string&, milliseconds d) {
    out.retries.emplace_back(attempt, d);
  };
  llm::cancel_token own;
  auto start = steady::now();
  out.res = c.complete(req, sink, cancel ? *cancel : own);
  out.elapsed = std::chrono::duration_cast<milliseconds>(steady::now() - start);
  return out;
}

inline std::string error_text(const caf::error& err) {
  return fp::runtime::context_of(err);
}


} // namespace fp::test::llm_support
