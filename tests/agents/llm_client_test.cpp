// llm::client over real loopback HTTP (the Beast transport) against the
// fake model server: streamed and plain replies, tool calls, usage,
// mid-stream errors, structured-output repair, Anthropic events, settings.

#include <catch2/catch.hpp>

#include "agents/llm_client_support.hpp"
#include "fp/net/llm_transport.hpp"

using namespace fp::test::llm_support;
using fp::test::fake_llm_server;

TEST_CASE("streamed OpenAI replies arrive piece by piece", "[llm][client]") {
  fake_llm_server server;
  server.script_openai(
    fake_llm_server::openai_text({"Hel", "lo ", "world"}, true, milliseconds{20}));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto r = call(c, ask("openai"));
  REQUIRE(r.res);
  CHECK(r.res->text == "Hello world");
  CHECK(r.pieces == std::vector<std::string>{"Hel", "lo ", "world"});
  CHECK(r.res->provider == "openai");
  CHECK(r.res->model == "fake-model");
  CHECK(r.res->attempts == 1);
  CHECK(r.res->finish_reason == "stop");
  CHECK(r.res->tokens.reported);
  CHECK(r.res->tokens.input_tokens == 11);
  CHECK(r.res->tokens.output_tokens == 7);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].path == "/v1/chat/completions");
  CHECK(reqs[0].header("authorization") == "Bearer " + secret);
  CHECK(reqs[0].header("content-type") == "application/json");
  CHECK(reqs[0].body.find(R"("stream":true)") != std::string::npos);
  CHECK(reqs[0].body.find(R"("model":"fake-model")") != std::string::npos);
}

TEST_CASE("plain (non-streamed) replies", "[llm][client]") {
  fake_llm_server server;
  server.script_openai(fake_llm_server::json(
    200, R"({"model":"fake-model","choices":[{"index":0,"message":)"
         R"({"role":"assistant","content":"Plain answer."},"finish_reason":)"
         R"("stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3}})"));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto req = ask("openai");
  req.stream = false;
  auto r = call(c, req);
  REQUIRE(r.res);
  CHECK(r.res->text == "Plain answer.");
  CHECK(r.streamed() == "Plain answer.");
  CHECK(r.res->tokens.output_tokens == 3);
  CHECK(server.requests()[0].body.find(R"("stream":false)")
        != std::string::npos);
}

TEST_CASE("tool-call deltas split across chunks", "[llm][client]") {
  fake_llm_server server;
  server.script_openai(fake_llm_server::openai_tool_call(
    "call_7", "webhook__post", R"({"url":"https://example.com","n":2})", 3));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto req = ask("openai");
  req.tools.push_back({"webhook__post", "Post", R"({"type":"object"})"});
  auto r = call(c, req);
  REQUIRE(r.res);
  CHECK(r.res->finish_reason == "tool_calls");
  REQUIRE(r.res->tool_calls.size() == 1);
  CHECK(r.res->tool_calls[0].id == "call_7");
  CHECK(r.res->tool_calls[0].name == "webhook__post");
  CHECK(r.res->tool_calls[0].arguments == R"({"url":"https://example.com","n":2})");
  CHECK(r.calls.size() == 1);
  CHECK(server.requests()[0].body.find(R"("tools":[{"type":"function")")
        != std::string::npos);
}

TEST_CASE("a missing usage chunk is estimated", "[llm][client]") {
  fake_llm_server server;
  server.script_openai(fake_llm_server::openai_text({"abcdefgh"}, false));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto r = call(c, ask("openai", "12345678"));
  REQUIRE(r.res);
  CHECK(!r.res->tokens.reported);
  CHECK(r.res->tokens.output_tokens == 2);
  // "Be brief." (9) + "12345678" (8) = 17 characters: 5 tokens.
  CHECK(r.res->tokens.input_tokens == 5);
}

TEST_CASE("a mid-stream error fails the call without a retry",
          "[llm][client]") {
  fake_llm_server server;
  server.script_openai(fake_llm_server::sse(
    {R"({"choices":[{"index":0,"delta":{"content":"Part"}}]})",
     R"({"error":{"message":"The server had an error","type":"server_error"}})"}));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto r = call(c, ask("openai"));
  REQUIRE(!r.res);
  CHECK(llm::code_of(r.res.error()) == llm::errc::provider_error);
  CHECK(error_text(r.res.error()).find("The server had an error")
        != std::string::npos);
  CHECK(r.streamed() == "Part");
  CHECK(server.requests().size() == 1);
}

TEST_CASE("structured output is repaired once, then schema_mismatch",
          "[llm][client]") {
  fake_llm_server server;
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto req = ask("openai");
  req.response_schema = R"({"type":"object","required":["label"],
    "properties":{"label":{"type":"string","enum":["bug","feature"]}}})";
  server.script_openai(fake_llm_server::openai_text({R"({"label":"crash"})"}));
  server.script_openai(
    fake_llm_server::openai_text({"```json\n", R"({"label":"bug"})", "\n```"}));
  auto r = call(c, req);
  REQUIRE(r.res);
  CHECK(r.res->repaired);
  CHECK(r.res->text == R"({"label":"bug"})");
  CHECK(r.res->attempts == 2);
  CHECK(r.res->tokens.input_tokens == 22);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].body.find(R"("response_format":{"type":"json_schema")")
        != std::string::npos);
  CHECK(reqs[1].body.find("$.label: must be one of") != std::string::npos);
  // Wrong twice: schema_mismatch after exactly one repair.
  server.script_openai(fake_llm_server::openai_text({"no json"}));
  server.script_openai(fake_llm_server::openai_text({R"({"other":1})"}));
  auto bad = call(c, req);
  REQUIRE(!bad.res);
  CHECK(llm::code_of(bad.res.error()) == llm::errc::schema_mismatch);
  CHECK(error_text(bad.res.error()).find("$.label: is required")
        != std::string::npos);
  CHECK(server.requests().size() == 4);
}

TEST_CASE("Anthropic streams, tool use, errors and headers",
          "[llm][client]") {
  fake_llm_server server;
  server.script_anthropic(
    fake_llm_server::anthropic_text({"Hi ", "there"}, milliseconds{10}));
  server.script_anthropic(fake_llm_server::anthropic_tool_use(
    "toolu_1", "text__summarize", R"({"text":"abc"})", 4));
  server.script_anthropic(fake_llm_server::sse(
    {"event: ping\ndata: {\"type\":\"ping\"}",
     "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
     "\"overloaded_error\",\"message\":\"Overloaded\"}}"}));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto text = call(c, ask("anthropic"));
  REQUIRE(text.res);
  CHECK(text.res->text == "Hi there");
  CHECK(text.pieces == std::vector<std::string>{"Hi ", "there"});
  CHECK(text.res->tokens.input_tokens == 13);
  CHECK(text.res->tokens.output_tokens == 5);
  CHECK(text.res->finish_reason == "stop");
  auto tool = call(c, ask("anthropic"));
  REQUIRE(tool.res);
  REQUIRE(tool.res->tool_calls.size() == 1);
  CHECK(tool.res->tool_calls[0].arguments == R"({"text":"abc"})");
  CHECK(tool.res->finish_reason == "tool_calls");
  auto err = call(c, ask("anthropic"));
  REQUIRE(!err.res);
  CHECK(llm::code_of(err.res.error()) == llm::errc::provider_error);
  CHECK(error_text(err.res.error()).find("Overloaded") != std::string::npos);
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].path == "/v1/messages");
  CHECK(reqs[0].header("x-api-key") == secret);
  CHECK(reqs[0].header("anthropic-version") == "2023-06-01");
  CHECK(reqs[0].header("authorization").empty());
  CHECK(reqs[0].body.find(R"("system":"Be brief.")") != std::string::npos);
}

TEST_CASE("Anthropic structured output asks in the prompt", "[llm][client]") {
  fake_llm_server server;
  server.script_anthropic(fake_llm_server::anthropic_text(
    {"Here it is:\n", R"({"summary":"s"})"}));
  llm::client c{options_for(server), fp::net::make_llm_transport()};
  auto req = ask("anthropic");
  req.response_schema = R"({"type":"object","required":["summary"]})";
  auto r = call(c, req);
  REQUIRE(r.res);
  CHECK(r.res->text == R"({"summary":"s"})");
  CHECK(!r.res->repaired);
  CHECK(server.requests()[0].body.find("JSON Schema") != std::string::npos);
}

TEST_CASE("client options come from the settings", "[llm][client]") {
  fp::config::settings s;
  auto opts = fp::net::llm_options_from(s);
  REQUIRE(opts);
  CHECK(opts->providers.empty());
  s.openai_api_key = "k";
  s.anthropic_base_url = "http://127.0.0.1:9/v1";
  s.llm_prices = "openai/*=1:2";
  s.llm_max_attempts = 4;
  opts = fp::net::llm_options_from(s);
  REQUIRE(opts);
  CHECK(opts->providers.size() == 2);
  CHECK(opts->providers["openai"].api_key == "k");
  CHECK(opts->providers["anthropic"].kind == "anthropic");
  CHECK(opts->max_attempts == 4);
  CHECK(opts->prices.price_of("openai", "x").output_per_mtok == 2'000'000);
  auto client = fp::net::make_llm_client(s);
  REQUIRE(client);
  CHECK(client->has_provider("anthropic"));
  s.llm_prices = "openai/x=1";
  auto bad = fp::net::try_make_llm_client(s);
  REQUIRE(!bad);
  CHECK(fp::runtime::code_of(bad.error()) == fp::runtime::errc::invalid_argument);
  CHECK_THROWS(fp::net::make_llm_client(s));
}
