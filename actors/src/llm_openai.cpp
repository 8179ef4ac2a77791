// OpenAI-compatible chat completions: request body and the answer decoder
// (SSE chunks with content and tool-call deltas, or one JSON document).

#include "fp/actors/llm_wire.hpp"

#include <map>

#include "llm_json.hpp"
#include "llm_wire_support.hpp"

namespace fp::actors::llm::wire {

namespace {

using simdjson::dom::element;

// -- encoding ------------------------------------------------------------------------------

std::string encode_message(const message& m) {
  std::string out = "{\"role\":" + detail::json_quote(m.role);
  if (m.role == "tool") {
    out += detail::json_member("tool_call_id", detail::json_quote(m.tool_call_id));
    out += detail::json_member(
      "content", detail::json_quote(m.is_error ? "error: " + m.content
                                               : m.content));
  } else if (m.role == "assistant" && !m.tool_calls.empty()) {
    out += detail::json_member("content", m.content.empty()
                                            ? std::string{"null"}
                                            : detail::json_quote(m.content));
    out += ",\"tool_calls\":[";
    for (size_t i = 0; i < m.tool_calls.size(); ++i) {
      const auto& c = m.tool_calls[i];
      if (i > 0)
        out += ',';
      out += "{\"id\":" + detail::json_quote(c.id)
             + ",\"type\":\"function\",\"function\":{\"name\":"
             + detail::json_quote(c.name) + ",\"arguments\":"
             + detail::json_quote(c.arguments) + "}}";
    }
    out += ']';
  } else {
    out += detail::json_member("content", detail::json_quote(m.content));
  }
  out += '}';
  return out;
}

// -- decoding ------------------------------------------------------------------------------

// A tool call being assembled from its deltas.
struct call_state {
  tool_call call;
  bool delivered = false;
  bool started = false;
};

class openai_decoder final : public sse_json_decoder {
public:
  using sse_json_decoder::sse_json_decoder;

  caf::expected<response> finish() override {
    if (!streaming_) {
      if (auto err = on_document(body_))
        return err;
    } else {
      if (auto err = flush_events())
        return err;
      if (!done_ && res_.finish_reason.empty())
        return make_error(errc::bad_response,
                          "the answer stream ended before its end");
    }
    deliver_calls();
    return std::move(res_);
  }

private:
  caf::error on_data(std::string_view data) override {
    if (data == "[DONE]") {
      done_ = true;
      return {};
    }
    if (data.empty())
      return {};
    auto root = detail::parse_json(parser_, data);
    if (!root || !root->is_object())
      return make_error(errc::bad_response, "undecodable stream chunk");
    if (auto e = detail::member(*root, "error"))
      return make_error(errc::provider_error,
                        "the provider reported an error mid-stream: "
                          + error_message(std::string{data}));
    if (auto m = detail::string_member(*root, "model"); !m.empty())
      res_.model = m;
    if (auto u = detail::member(*root, "usage"); u && u->is_object())
      read_usage(*u);
    auto choices = detail::member(*root, "choices");
    if (!choices || !choices->is_array())
      return {};
    for (auto choice : simdjson::dom::array(*choices)) {
      if (detail::int_member(choice, "index", 0) != 0)
        continue;
      if (auto delta = detail::member(choice, "delta"))
        on_delta(*delta);
      std::string_view reason;
      if (auto r = detail::member(choice, "finish_reason");
          r && r->get(reason) == simdjson::SUCCESS && !reason.empty()) {
        res_.finish_reason = reason;
        deliver_calls();
      }
    }
    return {};
  }

  void on_delta(element delta) {
    std::string_view text;
    if (auto c = detail::member(delta, "content");
        c && c->get(text) == simdjson::SUCCESS && !text.empty()) {
      res_.text += text;
      emitted_ = true;
      if (sink_.on_text)
        sink_.on_text(text);
    }
    auto calls = detail::member(delta, "tool_calls");
    if (!calls || !calls->is_array())
      return;
    for (auto piece : simdjson::dom::array(*calls)) {
      auto index = detail::int_member(piece, "index", 0);
      auto& pc = calls_[index];
      if (auto id = detail::string_member(piece, "id"); !id.empty())
        pc.call.id = id;
      if (auto fn = detail::member(piece, "function")) {
        if (auto name = detail::string_member(*fn, "name"); !name.empty())
          pc.call.name += name;
        std::string_view args;
        if (auto a = detail::member(*fn, "arguments");
            a && a->get(args) == simdjson::SUCCESS) {
          if (!pc.started)
            pc.call.arguments.clear();
          pc.started = true;
          pc.call.arguments += args;
        }
      }
    }
  }

  void read_usage(element u) {
    res_.tokens.input_tokens = detail::int_member(u, "prompt_tokens",
                                                  detail::int_member(u, "input_tokens"));
    res_.tokens.output_tokens = detail::int_member(
      u, "completion_tokens", detail::int_member(u, "output_tokens"));
    res_.tokens.reported = true;
  }

  caf::error on_document(std::string_view body) {
    auto root = detail::parse_json(parser_, body);
    if (!root || !root->is_object())
      return make_error(errc::bad_response, "the answer is not JSON");
    if (detail::member(*root, "error"))
      return make_error(errc::provider_error, error_message(body));
    if (auto m = detail::string_member(*root, "model"); !m.empty())
      res_.model = m;
    if (auto u = detail::member(*root, "usage"); u && u->is_object())
      read_usage(*u);
    auto choices = detail::member(*root, "choices");
    if (!choices || !choices->is_array()
        || simdjson::dom::array(*choices).size() == 0)
      return make_error(errc::bad_response, "the answer has no choices");
    auto choice = *simdjson::dom::array(*choices).begin();
    res_.finish_reason = detail::string_member(choice, "finish_reason");
    auto msg = detail::member(choice, "message");
    if (!msg)
      return make_error(errc::bad_response, "the answer has no message");
    if (auto text = detail::string_member(*msg, "content"); !text.empty()) {
      res_.text = text;
      emitted_ = true;
      if (sink_.on_text)
        sink_.on_text(text);
    }
    if (auto calls = detail::member(*msg, "tool_calls");
        calls && calls->is_array()) {
      int64_t i = 0;
      for (auto c : simdjson::dom::array(*calls)) {
        auto& pc = calls_[i++];
        pc.call.id = detail::string_member(c, "id");
        if (auto fn = detail::member(c, "function")) {
          pc.call.name = detail::string_member(*fn, "name");
          pc.call.arguments = detail::string_member(*fn, "arguments", "{}");
        }
      }
    }
    return {};
  }

  void deliver_calls() {
    for (auto& [index, pc] : calls_) {
      if (pc.delivered)
        continue;
      pc.delivered = true;
      if (pc.call.id.empty())
        pc.call.id = "call_" + std::to_string(index);
      if (pc.call.arguments.empty())
        pc.call.arguments = "{}";
      res_.tool_calls.push_back(pc.call);
      emitted_ = true;
      if (sink_.on_tool_call)
        sink_.on_tool_call(pc.call);
    }
  }

  std::map<int64_t, call_state> calls_;
  bool done_ = false;
};

} // namespace

std::unique_ptr<decoder> make_openai_decoder(const stream_sink& sink,
                                             bool streaming) {
  return std::make_unique<openai_decoder>(sink, streaming);
}

std::string encode_openai(const request& req) {
  std::string out = "{\"model\":"
                    + detail::json_quote(req.model.empty() ? "gpt-4o-mini"
                                                           : req.model);
  out += ",\"messages\":[";
  for (size_t i = 0; i < req.messages.size(); ++i) {
    if (i > 0)
      out += ',';
    out += encode_message(req.messages[i]);
  }
  out += ']';
  out += detail::json_member("max_tokens", std::to_string(req.max_tokens));
  out += detail::json_member("temperature", number_text(req.temperature));
  if (req.stream)
    out += ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
  else
    out += ",\"stream\":false";
  if (!req.tools.empty()) {
    out += ",\"tools\":[";
    for (size_t i = 0; i < req.tools.size(); ++i) {
      const auto& t = req.tools[i];
      if (i > 0)
        out += ',';
      out += "{\"type\":\"function\",\"function\":{\"name\":"
             + detail::json_quote(t.name) + ",\"description\":"
             + detail::json_quote(t.description)
             + ",\"parameters\":" + object_or_default(t.parameters) + "}}";
    }
    out += ']';
  }
  if (!req.response_schema.empty())
    out += ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
           "{\"name\":\"answer\",\"schema\":"
           + object_or_default(req.response_schema) + ",\"strict\":false}}";
  out += '}';
  return out;
}

} // namespace fp::actors::llm::wire
