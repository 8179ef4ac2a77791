// The wire formats: encoders, and the incremental decoders fed recorded
// streams in every possible split (and byte by byte); price arithmetic.

#include <catch2/catch.hpp>

#include "fp/actors/json_schema.hpp"
#include "fp/actors/llm.hpp"
#include "fp/actors/llm_wire.hpp"
#include "fp/runtime/errc.hpp"

using namespace fp::actors;

namespace {

// Recorded from an OpenAI-compatible server (trimmed ids), with CRLF line
// ends in one place, a keep-alive comment, a tool call whose arguments are
// split across chunks and a final usage chunk.
const std::string openai_stream
  = "data: {\"id\":\"c\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    ": keep-alive\n\n"
    "data: {\"id\":\"c\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\r\n\r\n"
    "data: {\"id\":\"c\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"lo \\u00e9\\n\"},\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
    "\"text__summarize\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"{\\\"te\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
    "\"id\":\"call_2\",\"function\":{\"name\":\"signal__emit\",\"arguments\":"
    "\"{}\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"xt\\\":\\\"a\\\"}\"}}]},\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":17,"
    "\"total_tokens\":59}}\n\n"
    "data: [DONE]\n\n";

const std::string anthropic_stream
  = "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":"
    "\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],"
    "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
    "{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"Let me \"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"check.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
    "{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"webhook__post\","
    "\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"url\\\": \\\"h\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"ttp://x\\\"}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":31}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

struct decoded {
  caf::expected<llm::response> res{llm::response{}};
  std::string streamed;
  std::vector<llm::tool_call> calls;
  caf::error feed_error;
};

using maker = std::unique_ptr<llm::wire::decoder> (*)(const llm::stream_sink&,
                                                      bool);

// Feeds `body` cut at `cuts` (ascending byte offsets).
decoded decode(maker make, const std::string& body,
               const std::vector<size_t>& cuts, bool streaming = true) {
  decoded out;
  llm::stream_sink sink;
  sink.on_text = [&](std::string_view t) { out.streamed += t; };
  sink.on_tool_call = [&](const llm::tool_call& c) { out.calls.push_back(c); };
  auto dec = make(sink, streaming);
  size_t pos = 0;
  auto all = cuts;
  all.push_back(body.size());
  for (auto cut : all) {
    if (auto err = dec->feed(std::string_view{body}.substr(pos, cut - pos))) {
      out.feed_error = err;
      return out;
    }
    pos = cut;
  }
  out.res = dec->finish();
  return out;
}

void check_openai(const decoded& d) {
  REQUIRE(!d.feed_error);
  REQUIRE(d.res);
  CHECK(d.res->text == "Hello \xc3\xa9\n");
  CHECK(d.streamed == d.res->text);
  CHECK(d.res->model == "gpt-4o-mini");
  CHECK(d.res->finish_reason == "tool_calls");
  CHECK(d.res->tokens.reported);
  CHECK(d.res->tokens.input_tokens == 42);
  CHECK(d.res->tokens.output_tokens == 17);
  REQUIRE(d.res->tool_calls.size() == 2);
  CHECK(d.res->tool_calls[0].id == "call_1");
  CHECK(d.res->tool_calls[0].name == "text__summarize");
  CHECK(d.res->tool_calls[0].arguments == R"({"text":"a"})");
  CHECK(d.res->tool_calls[1].id == "call_2");
  CHECK(d.res->tool_calls[1].arguments == "{}");
  CHECK(d.calls.size() == 2);
}

void check_anthropic(const decoded& d) {
  REQUIRE(!d.feed_error);
  REQUIRE(d.res);
  CHECK(d.res->text == "Let me check.");
  CHECK(d.streamed == d.res->text);
  CHECK(d.res->model == "claude-x");
  CHECK(d.res->finish_reason == "tool_calls");
  CHECK(d.res->tokens.input_tokens == 25);
  CHECK(d.res->tokens.output_tokens == 31);
  REQUIRE(d.res->tool_calls.size() == 1);
  CHECK(d.res->tool_calls[0].id == "toolu_9");
  CHECK(d.res->tool_calls[0].name == "webhook__post");
  CHECK(d.res->tool_calls[0].arguments == R"({"url": "http://x"})");
  CHECK(d.calls.size() == 1);
}

} // namespace

TEST_CASE("the OpenAI decoder reads a recorded stream in any split",
          "[llm][wire]") {
  check_openai(decode(llm::wire::make_openai_decoder, openai_stream, {}));
  for (size_t k = 1; k < openai_stream.size(); ++k)
    check_openai(decode(llm::wire::make_openai_decoder, openai_stream, {k}));
  std::vector<size_t> every;
  for (size_t k = 1; k < openai_stream.size(); ++k)
    every.push_back(k);
  check_openai(decode(llm::wire::make_openai_decoder, openai_stream, every));
}

TEST_CASE("the Anthropic decoder reads a recorded stream in any split",
          "[llm][wire]") {
  check_anthropic(
    decode(llm::wire::make_anthropic_decoder, anthropic_stream, {}));
  for (size_t k = 1; k < anthropic_stream.size(); ++k)
    check_anthropic(
      decode(llm::wire::make_anthropic_decoder, anthropic_stream, {k}));
  std::vector<size_t> every;
  for (size_t k = 1; k < anthropic_stream.size(); ++k)
    every.push_back(k);
  check_anthropic(
    decode(llm::wire::make_anthropic_decoder, anthropic_stream, every));
}

TEST_CASE("OpenAI streams without usage, cut short, or failing mid-stream",
          "[llm][wire]") {
  auto text_only = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                   "\"hi\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
  auto d = decode(llm::wire::make_openai_decoder, text_only, {});
  REQUIRE(d.res);
  CHECK(d.res->text == "hi");
  CHECK(!d.res->tokens.reported);
  // Cut before any finish: bad_response.
  auto cut = decode(llm::wire::make_openai_decoder,
                    openai_stream.substr(0, 300), {});
  REQUIRE(!cut.res);
  CHECK(llm::code_of(cut.res.error()) == llm::errc::bad_response);
  // A mid-stream error chunk.
  auto err = decode(llm::wire::make_openai_decoder,
                    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                    "\"par\"}}]}\n\ndata: {\"error\":{\"message\":\"overloaded\","
                    "\"type\":\"server_error\"}}\n\n",
                    {});
  REQUIRE(err.feed_error);
  CHECK(llm::code_of(err.feed_error) == llm::errc::provider_error);
  CHECK(fp::runtime::context_of(err.feed_error).find("overloaded")
        != std::string::npos);
  CHECK(err.streamed == "par");
  // Not JSON.
  auto junk = decode(llm::wire::make_openai_decoder, "data: {nope\n\n", {});
  REQUIRE(junk.feed_error);
  CHECK(llm::code_of(junk.feed_error) == llm::errc::bad_response);
}

TEST_CASE("Anthropic error events and truncated streams", "[llm][wire]") {
  auto err = decode(llm::wire::make_anthropic_decoder,
                    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
                    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                    "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
                    {});
  REQUIRE(err.feed_error);
  CHECK(llm::code_of(err.feed_error) == llm::errc::provider_error);
  CHECK(fp::runtime::context_of(err.feed_error).find("overloaded_error: "
                                                     "Overloaded")
        != std::string::npos);
  auto cut = decode(llm::wire::make_anthropic_decoder,
                    anthropic_stream.substr(0, anthropic_stream.size() - 40),
                    {});
  REQUIRE(!cut.res);
  CHECK(llm::code_of(cut.res.error()) == llm::errc::bad_response);
}

TEST_CASE("non-streamed answers decode", "[llm][wire]") {
  auto o = decode(llm::wire::make_openai_decoder,
                  R"({"model":"m","choices":[{"index":0,"message":{"role":)"
                  R"("assistant","content":"ok","tool_calls":[{"id":"c1",)"
                  R"("type":"function","function":{"name":"f","arguments":)"
                  R"("{\"a\":1}"}}]},"finish_reason":"tool_calls"}],)"
                  R"("usage":{"prompt_tokens":3,"completion_tokens":4}})",
                  {10, 20}, false);
  REQUIRE(o.res);
  CHECK(o.res->text == "ok");
  CHECK(o.streamed == "ok");
  REQUIRE(o.res->tool_calls.size() == 1);
  CHECK(o.res->tool_calls[0].arguments == R"({"a":1})");
  CHECK(o.res->tokens.output_tokens == 4);
  auto a = decode(llm::wire::make_anthropic_decoder,
                  R"({"model":"c","stop_reason":"end_turn","content":[)"
                  R"({"type":"text","text":"yes"},{"type":"tool_use","id":"t",)"
                  R"("name":"g","input":{"b":[1,2]}}],"usage":)"
                  R"({"input_tokens":5,"output_tokens":6}})",
                  {}, false);
  REQUIRE(a.res);
  CHECK(a.res->text == "yes");
  CHECK(a.res->finish_reason == "stop");
  REQUIRE(a.res->tool_calls.size() == 1);
  CHECK(a.res->tool_calls[0].arguments == R"({"b":[1,2]})");
}

TEST_CASE("requests encode as valid JSON in each wire format",
          "[llm][wire]") {
  llm::request req;
  req.model = "m1";
  req.messages.push_back({"system", "Be brief."});
  req.messages.push_back({"user", "Say \"hi\"\n"});
  llm::message call{"assistant", ""};
  call.tool_calls.push_back({"c1", "text__summarize", R"({"text":"x"})"});
  req.messages.push_back(call);
  llm::message result{"tool", "done"};
  result.tool_call_id = "c1";
  result.is_error = true;
  req.messages.push_back(result);
  req.tools.push_back({"text__summarize", "Summarize", "not json"});
  req.response_schema = R"({"type":"object"})";
  auto o = llm::wire::encode_openai(req);
  CHECK(validate_json("{}", o).empty());
  CHECK(o.find(R"("stream":true,"stream_options":{"include_usage":true})")
        != std::string::npos);
  CHECK(o.find(R"("tool_call_id":"c1")") != std::string::npos);
  CHECK(o.find(R"("parameters":{"type":"object"})") != std::string::npos);
  CHECK(o.find(R"("response_format":{"type":"json_schema")")
        != std::string::npos);
  CHECK(o.find(R"("content":"Say \"hi\"\n")") != std::string::npos);
  auto a = llm::wire::encode_anthropic(req);
  CHECK(validate_json("{}", a).empty());
  CHECK(a.find(R"("system":"Be brief.)") != std::string::npos);
  CHECK(a.find("JSON Schema") != std::string::npos);
  CHECK(a.find(R"({"type":"tool_result","tool_use_id":"c1","content":"done",)"
               R"("is_error":true})")
        != std::string::npos);
  CHECK(a.find(R"({"type":"tool_use","id":"c1","name":"text__summarize",)"
               R"("input":{"text":"x"}})")
        != std::string::npos);
  CHECK(a.find(R"("input_schema":{"type":"object"})") != std::string::npos);
  CHECK(a.find("\"role\":\"system\"") == std::string::npos);
}

TEST_CASE("error bodies and JSON extraction", "[llm][wire]") {
  CHECK(llm::wire::error_message(R"({"error":{"message":"bad key"}})")
        == "bad key");
  CHECK(llm::wire::error_message(R"({"error":"nope"})") == "nope");
  CHECK(llm::wire::error_message("plain\ntext") == "plain text");
  CHECK(llm::wire::extract_json("Here:\n```json\n{\"a\":1}\n```\n")
        == "{\"a\":1}");
  CHECK(llm::wire::extract_json("sure {\"a\":{}} ok") == "{\"a\":{}}");
}

TEST_CASE("prices parse and cost in micro-units", "[llm][prices]") {
  auto t = llm::price_table::parse(
    "openai/gpt-4o-mini=0.15:0.60; openai/*=2.5:10\nlocal/*=0:0;");
  REQUIRE(t);
  bool known = false;
  auto p = t->price_of("openai", "gpt-4o-mini", &known);
  CHECK(known);
  CHECK(p.input_per_mtok == 150000);
  CHECK(p.output_per_mtok == 600000);
  CHECK(t->price_of("openai", "other").input_per_mtok == 2500000);
  CHECK(t->price_of("anthropic", "claude", &known).input_per_mtok == 0);
  CHECK(!known);
  llm::usage u{1000, 500, true};
  // 1000 x 0.15 + 500 x 0.60 per million = 0.00045 units = 450 micro-units.
  CHECK(llm::price_table::cost_micros(p, u) == 450);
  // Rounded up: 1 token at 0.15/M is 0.15 micro-units.
  CHECK(llm::price_table::cost_micros(p, {1, 0, true}) == 1);
  CHECK(llm::price_table::cost_micros(p, {0, 0, true}) == 0);
  CHECK(llm::price_table::cost_micros({1'000'000'000'000, 0},
                                      {1'000'000'000, 0, true})
        == 1'000'000'000'000'000);
  for (auto bad : {"openai=1:2", "openai/x=1", "openai/x=a:2", "/x=1:2",
                   "openai/x=-1:2"}) {
    auto r = llm::price_table::parse(bad);
    REQUIRE(!r);
    CHECK(fp::runtime::context_of(r.error()).find(bad) != std::string::npos);
  }
}
