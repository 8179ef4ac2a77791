// The deterministic "local" provider through llm::client: summaries,
// classification, tool rules, structured output, streaming, determinism.

#include <catch2/catch.hpp>

#include "fp/actors/json_schema.hpp"
#include "fp/actors/llm.hpp"

using namespace fp::actors;

namespace {

const std::string article
  = "The city council approved the new budget on Monday. "
    "The budget raises spending on schools and parks. "
    "Some residents attended the meeting. "
    "Critics said the budget ignores road repairs in the city. "
    "The weather was mild.";

llm::request local_request(std::string system, std::string user) {
  llm::request req;
  req.provider = "local";
  if (!system.empty())
    req.messages.push_back({"system", std::move(system)});
  req.messages.push_back({"user", std::move(user)});
  return req;
}

struct run_result {
  llm::response res;
  std::string streamed;
  std::vector<llm::tool_call> calls;
};

run_result run(const llm::request& req) {
  llm::client c{{}, nullptr};
  run_result out;
  llm::stream_sink sink;
  sink.on_text = [&](std::string_view t) { out.streamed += t; };
  sink.on_tool_call = [&](const llm::tool_call& tc) { out.calls.push_back(tc); };
  llm::cancel_token cancel;
  auto res = c.complete(req, sink, cancel);
  REQUIRE(res);
  out.res = std::move(*res);
  return out;
}

} // namespace

TEST_CASE("local text answers are extractive summaries", "[llm][local]") {
  auto out = run(local_request("", article));
  CHECK(out.res.provider == "local");
  CHECK(out.res.model == "local-extractive");
  CHECK(out.res.attempts == 0);
  CHECK(out.res.finish_reason == "stop");
  CHECK(out.res.text.rfind("[local deterministic model] ", 0) == 0);
  // Three sentences by default, in their original order; the sentences
  // about the budget and the city score highest.
  CHECK(out.res.text
        == "[local deterministic model] The city council approved the new "
           "budget on Monday. The budget raises spending on schools and "
           "parks. Critics said the budget ignores road repairs in the city.");
  CHECK(out.streamed == out.res.text);
  CHECK(out.res.tokens.reported);
  CHECK(out.res.tokens.output_tokens
        == static_cast<int64_t>((out.res.text.size() + 3) / 4));
  CHECK(out.res.tokens.input_tokens
        == static_cast<int64_t>((article.size() + 3) / 4));
}

TEST_CASE("local answers are deterministic and honour sentence limits",
          "[llm][local]") {
  auto a = run(local_request("Summarize in at most 1 sentence.", article));
  auto b = run(local_request("Summarize in at most 1 sentence.", article));
  CHECK(a.res.text == b.res.text);
  // The best sentence alone: it mentions "budget" and "city" most.
  CHECK(a.res.text
        == "[local deterministic model] Critics said the budget ignores road "
           "repairs in the city.");
  auto two = run(local_request("Use at most two sentences.", article));
  CHECK(two.res.text.find("Monday.") != std::string::npos);
  CHECK(two.res.text.find("Critics") != std::string::npos);
  CHECK(two.res.text.find("schools") == std::string::npos);
}

TEST_CASE("local text streams word by word", "[llm][local]") {
  llm::client c{{}, nullptr};
  std::vector<std::string> pieces;
  llm::stream_sink sink;
  sink.on_text = [&](std::string_view t) { pieces.emplace_back(t); };
  llm::cancel_token cancel;
  auto res = c.complete(local_request("", "Hello big world."), sink, cancel);
  REQUIRE(res);
  CHECK(pieces
        == std::vector<std::string>{"[local ", "deterministic ", "model] ",
                                    "Hello ", "big ", "world."});
  cancel.cancel();
  auto stopped = c.complete(local_request("", "x"), sink, cancel);
  REQUIRE(!stopped);
  CHECK(llm::code_of(stopped.error()) == llm::errc::cancelled);
}

TEST_CASE("local structured output classifies and summarizes",
          "[llm][local]") {
  auto req = local_request("Classify the ticket.\nbug: crash, error, broken\n"
                           "feature: add, support, wish\n"
                           "Labels: bug, feature, other",
                           "The app shows an error and then a crash when I "
                           "open it. Please fix.");
  req.response_schema = R"({"type":"object","required":["label","confidence",
    "summary","urgent","tags","meta"],"properties":{
    "label":{"type":"string"},"confidence":{"type":"number"},
    "summary":{"type":"string"},"urgent":{"type":"boolean"},
    "tags":{"type":"array"},"meta":{"type":"object"},
    "count":{"type":"integer","minimum":3},"lang":{"type":"string",
    "default":"en"}}})";
  auto out = run(req);
  CHECK(out.res.text
        == R"({"label":"bug","confidence":0.666667,"summary":"The app shows an )"
           R"(error and then a crash when I open it. Please fix.","urgent":false,)"
           R"("tags":[],"meta":{},"count":3,"lang":"en"})");
  CHECK(validate_json(req.response_schema, out.res.text).empty());
}

TEST_CASE("local classification: enums, JSON labels, ties and no hits",
          "[llm][local]") {
  auto schema = R"({"type":"object","properties":{
    "sentiment":{"type":"string","enum":["negative","positive"]},
    "category":{"type":"string"},"score":{"type":"number"}}})";
  // Enum labels with rule keywords; "positive" gets 2 hits.
  auto req = local_request("positive: great, love\nnegative: awful",
                           "I love it, great product. Labels: [\"a\", \"b\"]");
  req.response_schema = schema;
  auto out = run(req);
  CHECK(out.res.text.find(R"("sentiment":"positive")") != std::string::npos);
  // The JSON array labels (first label on a tie with no hits).
  CHECK(out.res.text.find(R"("category":"a")") != std::string::npos);
  // No hits at all: "other" when it is a label, confidence 0.5.
  auto none = local_request("Labels: spam, other, ham", "nothing here");
  none.response_schema = R"({"type":"object","properties":{
    "intent":{"type":"string"},"confidence":{"type":"number"}}})";
  auto o = run(none);
  CHECK(o.res.text == R"({"intent":"other","confidence":0.500000})");
  // Tie between two labels with one hit each: the first label wins.
  auto tie = local_request("Labels: alpha, beta", "beta and alpha");
  tie.response_schema = R"({"type":"object","properties":{
    "label":{"type":"string"}}})";
  CHECK(run(tie).res.text == R"({"label":"alpha"})");
}

TEST_CASE("local tool rules make tool calls", "[llm][local]") {
  auto req = local_request(
    "You triage posts.\nwhen refund|chargeback call webhook.post\n"
    "when spam call signal.emit\nalways call text.summarize",
    "Customer asks for a REFUND of the order.");
  req.tools.push_back({"webhook__post", "Post a webhook",
                       R"({"type":"object","required":["url","text"],
                        "properties":{"url":{"type":"string","default":
                        "https://example.com/hook"},"text":{"type":"string"},
                        "priority":{"type":"integer","minimum":1}}})"});
  req.tools.push_back({"signal__emit", "Emit a signal", R"({"type":"object"})"});
  req.tools.push_back({"text__summarize", "Summarize",
                       R"({"type":"object","properties":{"text":{"type":
                        "string"}}})"});
  auto out = run(req);
  CHECK(out.res.finish_reason == "tool_calls");
  CHECK(out.res.text.empty());
  REQUIRE(out.res.tool_calls.size() == 2);
  CHECK(out.res.tool_calls[0].name == "webhook__post");
  CHECK(out.res.tool_calls[0].id == "local_call_1");
  CHECK(out.res.tool_calls[0].arguments
        == R"({"url":"https://example.com/hook","text":"Customer asks for a )"
           R"(REFUND of the order.","priority":1})");
  CHECK(out.res.tool_calls[1].name == "text__summarize");
  CHECK(out.calls.size() == 2);
  // With a tool result in the conversation, it answers in text.
  llm::message assistant{"assistant", ""};
  assistant.tool_calls = out.res.tool_calls;
  req.messages.push_back(assistant);
  llm::message result{"tool", "posted"};
  result.tool_call_id = "local_call_1";
  req.messages.push_back(result);
  llm::message denied{"tool", "denied: not allowed"};
  denied.tool_call_id = "local_call_2";
  denied.is_error = true;
  req.messages.push_back(denied);
  auto next = run(req);
  CHECK(next.res.tool_calls.empty());
  CHECK(next.res.text
        == "[local deterministic model] Customer asks for a REFUND of the "
           "order.\n[tool webhook__post] posted\n[tool text__summarize error] "
           "denied: not allowed");
}

TEST_CASE("local tool rules without a matching keyword answer in text",
          "[llm][local]") {
  auto req = local_request("when refund call webhook.post", "Hello there.");
  req.tools.push_back({"webhook__post", "", R"({"type":"object"})"});
  auto out = run(req);
  CHECK(out.res.tool_calls.empty());
  CHECK(out.res.text == "[local deterministic model] Hello there.");
}

TEST_CASE("the client knows its providers", "[llm][local]") {
  llm::client c{{}, nullptr};
  CHECK(c.has_provider("local"));
  CHECK(!c.has_provider("openai"));
  llm::stream_sink sink;
  llm::cancel_token cancel;
  auto req = local_request("", "x");
  req.provider = "openai";
  auto res = c.complete(req, sink, cancel);
  REQUIRE(!res);
  CHECK(llm::code_of(res.error()) == llm::errc::not_configured);
  CHECK(std::string{llm::to_string(llm::errc::schema_mismatch)}
        == "schema_mismatch");
}

TEST_CASE("local structured output fills required names without schemas",
          "[llm][local]") {
  auto req = local_request("Labels: yes, no", "Yes, it works. It is fine.");
  req.response_schema
    = R"({"type":"object","required":["summary","label","score","x"]})";
  auto out = run(req);
  CHECK(out.res.text
        == R"({"summary":"Yes, it works. It is fine.","label":"yes",)"
           R"("score":0.500000,"x":{}})");
}
