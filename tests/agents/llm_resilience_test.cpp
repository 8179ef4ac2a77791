// Resilience of llm::client over real loopback HTTP: retries honouring
// Retry-After, timeouts, cancellation, the circuit breaker, TLS failures
// and API keys kept out of errors.

#include <catch2/catch.hpp>

#include <thread>

#include "agents/llm_client_support.hpp"
#include "fp/net/llm_transport.hpp"

using namespace fp::test::llm_support;
using fp::test::fake_llm_server;

TEST_CASE("429 with Retry-After, then success", "[llm][client]") {
  fake_llm_server server;
  server.script_openai(fake_llm_server::openai_error(
    429, "Rate limit reached", {{"retry-after", "1"}}));
  server.script_openai(fake_llm_server::openai_text({"ok"}));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto r = call(c, ask("openai"));
  REQUIRE(r.res);
  CHECK(r.res->text == "ok");
  CHECK(r.res->attempts == 2);
  REQUIRE(r.retries.size() == 1);
  CHECK(r.retries[0].first == 1);
  CHECK(r.retries[0].second == milliseconds{1000});
  CHECK(r.elapsed >= milliseconds{1000});
  CHECK(server.requests().size() == 2);
}

TEST_CASE("Retry-After as an HTTP date, 5xx retries, and giving up",
          "[llm][client]") {
  fake_llm_server server;
  // A date in the past: retry at once.
  server.script_openai(fake_llm_server::openai_error(
    503, "busy", {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}}));
  server.script_openai(fake_llm_server::openai_error(500, "oops"));
  server.script_openai(fake_llm_server::openai_text({"fine"}));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto r = call(c, ask("openai"));
  REQUIRE(r.res);
  CHECK(r.res->attempts == 3);
  REQUIRE(r.retries.size() == 2);
  CHECK(r.retries[0].second == milliseconds{0});
  CHECK(r.retries[1].second <= milliseconds{50});
  // Three 429s: rate_limited after the last attempt.
  for (int i = 0; i < 3; ++i)
    server.script_openai(fake_llm_server::openai_error(429, "slow down"));
  auto limited = call(c, ask("openai"));
  REQUIRE(!limited.res);
  CHECK(llm::code_of(limited.res.error()) == llm::errc::rate_limited);
  // A Retry-After longer than allowed fails at once.
  auto opts = options_for(server);
  opts.retry_after_max = milliseconds{500};
  llm::client strict{opts, fp::net::make_llm_transport()};
  server.script_openai(fake_llm_server::openai_error(
    429, "later", {{"retry-after", "120"}}));
  auto refused = call(strict, ask("openai"));
  REQUIRE(!refused.res);
  CHECK(llm::code_of(refused.res.error()) == llm::errc::rate_limited);
  CHECK(refused.elapsed < milliseconds{1000});
}

TEST_CASE("a silent server times out", "[llm][client]") {
  fake_llm_server server;
  fp::test::fake_response hang;
  hang.hang = true;
  server.always("/v1/chat/completions", hang);
  auto opts = options_for(server);
  opts.connect_timeout = milliseconds{300};
  opts.max_attempts = 2;
  llm::client c{opts, fp::net::make_llm_transport()};
  auto r = call(c, ask("openai"));
  REQUIRE(!r.res);
  CHECK(llm::code_of(r.res.error()) == llm::errc::timeout);
  CHECK(r.elapsed >= milliseconds{600});
  CHECK(r.elapsed < milliseconds{3000});
  CHECK(server.requests().size() == 2);
  // A stream that stalls after its first pieces: the read timeout, and no
  // retry (the text already reached the sink).
  auto stall = fake_llm_server::sse(
    {R"({"choices":[{"index":0,"delta":{"content":"slow"}}]})"});
  stall.stall = true;
  server.script_openai(stall);
  opts.read_timeout = milliseconds{300};
  llm::client reader{opts, fp::net::make_llm_transport()};
  auto s = call(reader, ask("openai"));
  REQUIRE(!s.res);
  CHECK(llm::code_of(s.res.error()) == llm::errc::timeout);
  CHECK(s.streamed() == "slow");
  CHECK(server.requests().size() == 3);
}

TEST_CASE("a cancelled call returns promptly", "[llm][client]") {
  fake_llm_server server;
  auto slow = fake_llm_server::openai_text(
    {"one ", "two ", "three ", "four ", "five "}, true, milliseconds{400});
  server.script_openai(slow);
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  llm::cancel_token cancel;
  steady::time_point cancelled_at;
  std::thread canceller{[&] {
    server.wait_for_requests(1);
    std::this_thread::sleep_for(milliseconds{1000});
    cancelled_at = steady::now();
    cancel.cancel();
  }};
  auto r = call(c, ask("openai"), &cancel);
  auto returned_at = steady::now();
  canceller.join();
  REQUIRE(!r.res);
  CHECK(llm::code_of(r.res.error()) == llm::errc::cancelled);
  CHECK(returned_at - cancelled_at < milliseconds{150});
  CHECK(r.streamed() == "one ");
  // The server sees the connection closed.
  for (int i = 0; i < 100 && server.open_connections() > 0; ++i)
    std::this_thread::sleep_for(milliseconds{10});
  CHECK(server.open_connections() == 0);
}

TEST_CASE("the circuit breaker opens and recovers half-open",
          "[llm][client]") {
  fake_llm_server server;
  auto opts = options_for(server);
  opts.max_attempts = 1;
  opts.breaker_threshold = 2;
  opts.breaker_cooldown = milliseconds{300};
  llm::client c{opts, fp::net::make_llm_transport()};
  server.script_openai(fake_llm_server::openai_error(500, "down"));
  server.script_openai(fake_llm_server::openai_error(502, "down"));
  CHECK(c.breaker_state("openai") == "closed");
  CHECK(!call(c, ask("openai")).res);
  CHECK(c.breaker_state("openai") == "closed");
  CHECK(!call(c, ask("openai")).res);
  CHECK(c.breaker_state("openai") == "open");
  auto refused = call(c, ask("openai"));
  REQUIRE(!refused.res);
  CHECK(llm::code_of(refused.res.error()) == llm::errc::circuit_open);
  CHECK(server.requests().size() == 2);
  // Another provider is not affected.
  server.script_anthropic(fake_llm_server::anthropic_text({"hi"}));
  CHECK(call(c, ask("anthropic")).res);
  // After the cooldown one trial passes; it fails: open again.
  std::this_thread::sleep_for(milliseconds{350});
  CHECK(c.breaker_state("openai") == "half_open");
  server.script_openai(fake_llm_server::openai_error(500, "still down"));
  CHECK(!call(c, ask("openai")).res);
  CHECK(c.breaker_state("openai") == "open");
  // Next cooldown: the trial succeeds and closes the breaker.
  std::this_thread::sleep_for(milliseconds{350});
  server.script_openai(fake_llm_server::openai_text({"back"}));
  auto ok = call(c, ask("openai"));
  REQUIRE(ok.res);
  CHECK(ok.res->text == "back");
  CHECK(c.breaker_state("openai") == "closed");
}

TEST_CASE("API keys never appear in errors", "[llm][client]") {
  fake_llm_server server;
  server.script_openai(fake_llm_server::openai_error(
    401, "Incorrect API key provided: " + secret));
  server.script_anthropic(fake_llm_server::json(
    400, R"({"type":"error","error":{"type":"invalid_request_error",)"
         R"("message":"bad key )" + secret + R"("}})"));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto o = call(c, ask("openai"));
  REQUIRE(!o.res);
  CHECK(llm::code_of(o.res.error()) == llm::errc::provider_error);
  CHECK(error_text(o.res.error()).find("Incorrect API key") != std::string::npos);
  CHECK(error_text(o.res.error()).find(secret) == std::string::npos);
  CHECK(caf::to_string(o.res.error()).find(secret) == std::string::npos);
  CHECK(server.requests().size() == 1); // 4xx: no retry
  auto a = call(c, ask("anthropic"));
  REQUIRE(!a.res);
  CHECK(error_text(a.res.error()).find(secret) == std::string::npos);
  // Unreachable server: unavailable, no key either.
  auto opts = options_for(server);
  server.stop();
  opts.max_attempts = 2;
  llm::client gone{opts, fp::net::make_llm_transport()};
  auto u = call(gone, ask("openai"));
  REQUIRE(!u.res);
  CHECK(llm::code_of(u.res.error()) == llm::errc::unavailable);
  CHECK(error_text(u.res.error()).find(secret) == std::string::npos);
}

TEST_CASE("the total timeout bounds a trickling stream", "[llm][client]") {
  fake_llm_server server;
  server.script_openai(fake_llm_server::openai_text(
    {"a", "b", "c", "d", "e", "f", "g", "h"}, true, milliseconds{100}));
  auto opts = options_for(server);
  opts.total_timeout = milliseconds{350};
  llm::client c{opts, fp::net::make_llm_transport()};
  auto r = call(c, ask("openai"));
  REQUIRE(!r.res);
  CHECK(llm::code_of(r.res.error()) == llm::errc::timeout);
  CHECK(r.elapsed < milliseconds{700});
}

TEST_CASE("https to a plain HTTP server fails the TLS handshake",
          "[llm][client]") {
  fake_llm_server server;
  auto opts = options_for(server);
  opts.providers["openai"].base_url
    = "https://127.0.0.1:" + std::to_string(server.port()) + "/v1";
  opts.max_attempts = 1;
  llm::client c{opts, fp::net::make_llm_transport()};
  auto r = call(c, ask("openai"));
  REQUIRE(!r.res);
  CHECK(llm::code_of(r.res.error()) == llm::errc::unavailable);
  CHECK(error_text(r.res.error()).find("TLS handshake") != std::string::npos);
}
