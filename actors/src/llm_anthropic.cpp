// Anthropic Messages API: request body and the answer decoder (typed SSE
// events with text and tool_use content blocks, or one JSON document).

#include "fp/actors/llm_wire.hpp"

#include <map>

#include "llm_json.hpp"
#include "llm_wire_support.hpp"

namespace fp::actors::llm::wire {

namespace {

using simdjson::dom::element;

// Anthropic's stop reasons in the vocabulary the engine uses everywhere.
std::string normal_reason(std::string_view reason) {
  if (reason == "end_turn" || reason == "stop_sequence")
    return "stop";
  if (reason == "tool_use")
    return "tool_calls";
  if (reason == "max_tokens")
    return "length";
  return std::string{reason};
}

// -- encoding ------------------------------------------------------------------------------

std::string tool_use_block(const tool_call& c) {
  return "{\"type\":\"tool_use\",\"id\":" + detail::json_quote(c.id)
         + ",\"name\":" + detail::json_quote(c.name) + ",\"input\":"
         + object_or_default(c.arguments.empty() ? "{}" : c.arguments) + "}";
}

std::string tool_result_block(const message& m) {
  std::string out = "{\"type\":\"tool_result\",\"tool_use_id\":"
                    + detail::json_quote(m.tool_call_id)
                    + ",\"content\":" + detail::json_quote(m.content);
  if (m.is_error)
    out += ",\"is_error\":true";
  out += '}';
  return out;
}

std::string encode_messages(const request& req) {
  std::string out = "[";
  bool first = true;
  auto open = [&](std::string_view role) {
    if (!first)
      out += ',';
    first = false;
    out += "{\"role\":\"";
    out += role;
    out += "\",\"content\":";
  };
  for (size_t i = 0; i < req.messages.size(); ++i) {
    const auto& m = req.messages[i];
    if (m.role == "system")
      continue;
    if (m.role == "tool") {
      // Consecutive tool results travel in one user message.
      open("user");
      out += '[';
      for (size_t j = i; j < req.messages.size()
                         && req.messages[j].role == "tool";
           ++j) {
        if (j > i)
          out += ',';
        out += tool_result_block(req.messages[j]);
        i = j;
      }
      out += "]}";
    } else if (m.role == "assistant" && !m.tool_calls.empty()) {
      open("assistant");
      out += '[';
      bool any = false;
      if (!m.content.empty()) {
        out += "{\"type\":\"text\",\"text\":" + detail::json_quote(m.content)
               + "}";
        any = true;
      }
      for (const auto& c : m.tool_calls) {
        if (any)
          out += ',';
        out += tool_use_block(c);
        any = true;
      }
      out += "]}";
    } else {
      open(m.role == "assistant" ? "assistant" : "user");
      out += detail::json_quote(m.content);
      out += '}';
    }
  }
  out += ']';
  return out;
}

// -- decoding ------------------------------------------------------------------------------

struct block_state {
  bool is_tool = false;
  tool_call call;
  bool delivered = false;
};

class anthropic_decoder final : public sse_json_decoder {
public:
  using sse_json_decoder::sse_json_decoder;

  caf::expected<response> finish() override {
    if (!streaming_) {
      if (auto err = on_document(body_))
        return err;
      return std::move(res_);
    }
    if (auto err = flush_events())
      return err;
    if (!done_)
      return make_error(errc::bad_response,
                        "the answer stream ended before message_stop");
    for (auto& [index, b] : blocks_)
      deliver(b);
    return std::move(res_);
  }

private:
  caf::error on_data(std::string_view data) override {
    if (data.empty())
      return {};
    auto root = detail::parse_json(parser_, data);
    if (!root || !root->is_object())
      return make_error(errc::bad_response, "undecodable stream event");
    auto type = detail::string_member(*root, "type");
    if (type == "ping") {
      return {};
    } else if (type == "error") {
      return make_error(errc::provider_error,
                        "the provider reported an error mid-stream: "
                          + error_message(data));
    } else if (type == "message_start") {
      if (auto msg = detail::member(*root, "message")) {
        if (auto m = detail::string_member(*msg, "model"); !m.empty())
          res_.model = m;
        if (auto u = detail::member(*msg, "usage")) {
          res_.tokens.input_tokens = detail::int_member(*u, "input_tokens");
          res_.tokens.output_tokens = detail::int_member(*u, "output_tokens");
          res_.tokens.reported = true;
        }
      }
    } else if (type == "content_block_start") {
      auto& b = blocks_[detail::int_member(*root, "index")];
      if (auto cb = detail::member(*root, "content_block")) {
        if (detail::string_member(*cb, "type") == "tool_use") {
          b.is_tool = true;
          b.call.id = detail::string_member(*cb, "id");
          b.call.name = detail::string_member(*cb, "name");
          b.call.arguments.clear();
        } else if (auto text = detail::string_member(*cb, "text");
                   !text.empty()) {
          on_text(text);
        }
      }
    } else if (type == "content_block_delta") {
      auto& b = blocks_[detail::int_member(*root, "index")];
      auto delta = detail::member(*root, "delta");
      if (!delta)
        return {};
      auto kind = detail::string_member(*delta, "type");
      if (kind == "text_delta")
        on_text(detail::string_member(*delta, "text"));
      else if (kind == "input_json_delta")
        b.call.arguments += detail::string_member(*delta, "partial_json");
    } else if (type == "content_block_stop") {
      deliver(blocks_[detail::int_member(*root, "index")]);
    } else if (type == "message_delta") {
      if (auto delta = detail::member(*root, "delta")) {
        auto reason = detail::string_member(*delta, "stop_reason");
        if (!reason.empty())
          res_.finish_reason = normal_reason(reason);
      }
      if (auto u = detail::member(*root, "usage")) {
        if (auto out = detail::member(*u, "output_tokens")) {
          res_.tokens.output_tokens = detail::int_member(*u, "output_tokens");
          res_.tokens.reported = true;
        }
        if (detail::member(*u, "input_tokens"))
          res_.tokens.input_tokens = detail::int_member(*u, "input_tokens");
      }
    } else if (type == "message_stop") {
      done_ = true;
    }
    return {};
  }

  void on_text(std::string_view text) {
    if (text.empty())
      return;
    res_.text += text;
    emitted_ = true;
    if (sink_.on_text)
      sink_.on_text(text);
  }

  void deliver(block_state& b) {
    if (!b.is_tool || b.delivered)
      return;
    b.delivered = true;
    if (b.call.arguments.empty())
      b.call.arguments = "{}";
    if (b.call.id.empty())
      b.call.id = "toolu_" + std::to_string(res_.tool_calls.size());
    res_.tool_calls.push_back(b.call);
    emitted_ = true;
    if (sink_.on_tool_call)
      sink_.on_tool_call(b.call);
  }

  caf::error on_document(std::string_view body) {
    auto root = detail::parse_json(parser_, body);
    if (!root || !root->is_object())
      return make_error(errc::bad_response, "the answer is not JSON");
    if (detail::string_member(*root, "type") == "error"
        || detail::member(*root, "error"))
      return make_error(errc::provider_error, error_message(body));
    if (auto m = detail::string_member(*root, "model"); !m.empty())
      res_.model = m;
    res_.finish_reason = normal_reason(
      detail::string_member(*root, "stop_reason"));
    if (auto u = detail::member(*root, "usage")) {
      res_.tokens.input_tokens = detail::int_member(*u, "input_tokens");
      res_.tokens.output_tokens = detail::int_member(*u, "output_tokens");
      res_.tokens.reported = true;
    }
    auto content = detail::member(*root, "content");
    if (!content || !content->is_array())
      return make_error(errc::bad_response, "the answer has no content");
    for (auto block : simdjson::dom::array(*content)) {
      auto type = detail::string_member(block, "type");
      if (type == "text") {
        on_text(detail::string_member(block, "text"));
      } else if (type == "tool_use") {
        block_state b;
        b.is_tool = true;
        b.call.id = detail::string_member(block, "id");
        b.call.name = detail::string_member(block, "name");
        auto input = detail::member(block, "input");
        b.call.arguments = input ? detail::to_json(*input) : "{}";
        deliver(b);
      }
    }
    return {};
  }

  std::map<int64_t, block_state> blocks_;
  bool done_ = false;
};

} // namespace

std::unique_ptr<decoder> make_anthropic_decoder(const stream_sink& sink,
                                                bool streaming) {
  return std::make_unique<anthropic_decoder>(sink, streaming);
}

std::string encode_anthropic(const request& req) {
  std::string system;
  for (const auto& m : req.messages)
    if (m.role == "system") {
      if (!system.empty())
        system += "\n\n";
      system += m.content;
    }
  if (!req.response_schema.empty()) {
    if (!system.empty())
      system += "\n\n";
    system += "Answer with only a JSON object (no other text) that matches "
              "this JSON Schema:\n";
    system += object_or_default(req.response_schema);
  }
  std::string out = "{\"model\":"
                    + detail::json_quote(req.model.empty()
                                           ? "claude-3-5-haiku-latest"
                                           : req.model);
  out += detail::json_member("max_tokens", std::to_string(req.max_tokens));
  out += detail::json_member("temperature", number_text(req.temperature));
  if (!system.empty())
    out += detail::json_member("system", detail::json_quote(system));
  out += detail::json_member("messages", encode_messages(req));
  if (!req.tools.empty()) {
    out += ",\"tools\":[";
    for (size_t i = 0; i < req.tools.size(); ++i) {
      const auto& t = req.tools[i];
      if (i > 0)
        out += ',';
      out += "{\"name\":" + detail::json_quote(t.name) + ",\"description\":"
             + detail::json_quote(t.description) + ",\"input_schema\":"
             + object_or_default(t.parameters) + "}";
    }
    out += ']';
  }
  out += req.stream ? ",\"stream\":true" : ",\"stream\":false";
  out += '}';
  return out;
}

} // namespace fp::actors::llm::wire
