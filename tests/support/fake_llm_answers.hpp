#pragma once

// Scripted answers of the fake model server (see fake_llm_server.hpp): the
// response type and builders for OpenAI and Anthropic streams and errors.

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fp::test {

/// One piece of a scripted body, sent `delay` after the previous one.
struct fake_piece {
  std::chrono::milliseconds delay{0};
  std::string bytes;
};

/// One scripted answer.
struct fake_response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<fake_piece> pieces;
  /// Send nothing at all; hold the connection until the client leaves.
  bool hang = false;
  /// Send the head and the pieces, then never end the body.
  bool stall = false;
  /// Chunked transfer; unset: chunked when there is more than one piece
  /// or the response stalls.
  std::optional<bool> chunked;
  /// Delay before the status line and headers.
  std::chrono::milliseconds head_delay{0};
};

/// A request the server received.
struct fake_request {
  std::string method;
  std::string path;
  /// Header names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto i = headers.find(lower_name);
    return i == headers.end() ? std::string{} : i->second;
  }
};

/// Builders of common answers; `fake_llm_server` inherits them, so they
/// read `fake_llm_server::openai_text(...)`.
struct fake_llm_answers {
  using ms = std::chrono::milliseconds;

  /// A JSON (or any) body in one piece.
  static fake_response json(int status, std::string body,
                            std::vector<std::pair<std::string, std::string>>
                              headers = {}) {
    fake_response r;
    r.status = status;
    r.headers = std::move(headers);
    r.headers.emplace_back("content-type", "application/json");
    r.pieces.push_back({ms{0}, std::move(body)});
    return r;
  }

  /// An SSE stream: each entry is one `data:` payload (an `event:` line is
  /// added when the entry starts with "event: "), `gap` between events.
  static fake_response sse(const std::vector<std::string>& events,
                           ms gap = ms{0}) {
    fake_response r;
    r.headers.emplace_back("content-type", "text/event-stream");
    for (const auto& e : events) {
      std::string frame = e.rfind("event: ", 0) == 0 ? e : "data: " + e;
      r.pieces.push_back({gap, frame + "\n\n"});
    }
    return r;
  }

  /// An OpenAI chat-completions stream of `deltas`, a finish chunk, a
  /// usage chunk (when `with_usage`) and [DONE].
  static fake_response openai_text(const std::vector<std::string>& deltas,
                                   bool with_usage = true, ms gap = ms{0},
                                   int input_tokens = 11,
                                   int output_tokens = 7) {
    std::vector<std::string> events;
    events.push_back(R"({"id":"c1","model":"fake-model","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})");
    for (const auto& d : deltas)
      events.push_back(R"({"id":"c1","model":"fake-model","choices":[{"index":0,"delta":{"content":)"
                       + quote(d) + R"(},"finish_reason":null}]})");
    events.push_back(R"({"id":"c1","model":"fake-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
    if (with_usage)
      events.push_back(R"({"id":"c1","model":"fake-model","choices":[],"usage":{"prompt_tokens":)"
                       + std::to_string(input_tokens)
                       + R"(,"completion_tokens":)"
                       + std::to_string(output_tokens) + "}}");
    events.push_back("[DONE]");
    return sse(events, gap);
  }

  /// An OpenAI stream calling tool `name` (id `id`) with `arguments`, the
  /// arguments split into pieces of `split` bytes.
  static fake_response openai_tool_call(const std::string& id,
                                        const std::string& name,
                                        const std::string& arguments,
                                        size_t split = 5) {
    std::vector<std::string> events;
    events.push_back(R"({"model":"fake-model","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":)"
                     + quote(id) + R"(,"type":"function","function":{"name":)"
                     + quote(name) + R"(,"arguments":""}}]},"finish_reason":null}]})");
    for (size_t i = 0; i < arguments.size(); i += split)
      events.push_back(R"({"model":"fake-model","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":)"
                       + quote(arguments.substr(i, split))
                       + R"(}}]},"finish_reason":null}]})");
    events.push_back(R"({"model":"fake-model","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})");
    events.push_back(R"({"model":"fake-model","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":9}})");
    events.push_back("[DONE]");
    return sse(events);
  }

  /// An OpenAI-style error answer with `status`.
  static fake_response openai_error(int status, const std::string& message,
                                    std::vector<std::pair<std::string,
                                                          std::string>>
                                      headers = {}) {
    return json(status,
                R"({"error":{"message":)" + quote(message)
                  + R"(,"type":"server_error"}})",
                std::move(headers));
  }

  /// An Anthropic Messages stream of `deltas` (with a ping).
  static fake_response anthropic_text(const std::vector<std::string>& deltas,
                                      ms gap = ms{0}) {
    std::vector<std::string> events;
    events.push_back("event: message_start\ndata: "
                     R"({"type":"message_start","message":{"id":"m1","model":"fake-claude","usage":{"input_tokens":13,"output_tokens":1}}})");
    events.push_back("event: content_block_start\ndata: "
                     R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
    events.push_back("event: ping\ndata: {\"type\":\"ping\"}");
    for (const auto& d : deltas)
      events.push_back("event: content_block_delta\ndata: "
                       R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":)"
                       + quote(d) + "}}");
    events.push_back("event: content_block_stop\ndata: "
                     R"({"type":"content_block_stop","index":0})");
    events.push_back("event: message_delta\ndata: "
                     R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}})");
    events.push_back("event: message_stop\ndata: {\"type\":\"message_stop\"}");
    return sse(events, gap);
  }

  /// An Anthropic stream calling tool `name` with `arguments` (split in
  /// pieces of `split` bytes).
  static fake_response anthropic_tool_use(const std::string& id,
                                          const std::string& name,
                                          const std::string& arguments,
                                          size_t split = 5) {
    std::vector<std::string> events;
    events.push_back("event: message_start\ndata: "
                     R"({"type":"message_start","message":{"id":"m2","model":"fake-claude","usage":{"input_tokens":21,"output_tokens":1}}})");
    events.push_back("event: content_block_start\ndata: "
                     R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":)"
                     + quote(id) + R"(,"name":)" + quote(name)
                     + R"(,"input":{}}})");
    for (size_t i = 0; i < arguments.size(); i += split)
      events.push_back("event: content_block_delta\ndata: "
                       R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":)"
                       + quote(arguments.substr(i, split)) + "}}");
    events.push_back("event: content_block_stop\ndata: "
                     R"({"type":"content_block_stop","index":0})");
    events.push_back("event: message_delta\ndata: "
                     R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":8}})");
    events.push_back("event: message_stop\ndata: {\"type\":\"message_stop\"}");
    return sse(events);
  }

  /// `text` as a JSON string literal.
  static std::string quote(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\u%04x", c);
            out += buf;
          } else {
            out += c;
          }
      }
    }
    return out + "\"";
  }

};

} // namespace fp::test
