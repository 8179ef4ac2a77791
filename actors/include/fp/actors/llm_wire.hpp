#pragma once

// The wire formats of the network LLM providers: request encoders and
// incremental answer decoders for OpenAI-compatible chat completions and
// the Anthropic Messages API. Pure (no I/O): the decoders are fed the body
// in arbitrary pieces, exactly as they come off the socket, and forward
// text and completed tool calls to a stream_sink as soon as they are known.
// Public so tests can feed recorded streams; the client uses them.

#include <memory>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "fp/actors/llm.hpp"

namespace fp::actors::llm::wire {

// -- server-sent events ------------------------------------------------------------------

/// Splits a text/event-stream into events (`event:` name and the joined
/// `data:` lines), whatever the piece boundaries; CRLF and LF both end a
/// line, comments and other fields are skipped.
class sse_parser {
public:
  /// Feeds `bytes`, calling `on_event(name, data)` per complete event;
  /// stops early (returning false) when `on_event` returns false.
  template <class F>
  bool feed(std::string_view bytes, F&& on_event) {
    for (char c : bytes) {
      if (c != '\n') {
        line_ += c;
        continue;
      }
      if (!line_.empty() && line_.back() == '\r')
        line_.pop_back();
      if (line_.empty()) {
        if (has_data_ || !event_.empty()) {
          bool go = on_event(std::string_view{event_}, std::string_view{data_});
          event_.clear();
          data_.clear();
          has_data_ = false;
          if (!go)
            return false;
        }
      } else {
        field(line_);
      }
      line_.clear();
    }
    return true;
  }

  /// Delivers a last event that was not followed by a blank line.
  template <class F>
  void flush(F&& on_event) {
    if (!line_.empty()) {
      if (line_.back() == '\r')
        line_.pop_back();
      field(line_);
      line_.clear();
    }
    if (has_data_ || !event_.empty())
      on_event(std::string_view{event_}, std::string_view{data_});
    event_.clear();
    data_.clear();
    has_data_ = false;
  }

private:
  void field(std::string_view line);

  std::string line_;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
};

// -- decoders ------------------------------------------------------------------------------

/// Decodes one answer body (a stream, or one JSON document when the call
/// did not stream).
class decoder {
public:
  virtual ~decoder() = default;

  /// Feeds the next piece of the body. An error (a mid-stream error event:
  /// provider_error; an undecodable event: bad_response) ends the call.
  virtual caf::error feed(std::string_view bytes) = 0;

  /// The body ended: the complete answer, or bad_response when the stream
  /// stopped before its end. Tool calls not yet delivered reach the sink.
  virtual caf::expected<response> finish() = 0;

  /// True once text or a tool call reached the sink (a retry would repeat
  /// it, so the client no longer retries).
  virtual bool emitted() const noexcept = 0;
};

/// `streaming`: the body is an SSE stream (else one JSON document).
std::unique_ptr<decoder> make_openai_decoder(const stream_sink& sink,
                                             bool streaming);
std::unique_ptr<decoder> make_anthropic_decoder(const stream_sink& sink,
                                                bool streaming);

// -- encoders ------------------------------------------------------------------------------

/// The JSON body of POST <base>/chat/completions for `req`.
std::string encode_openai(const request& req);

/// The JSON body of POST <base>/messages for `req` (a structured-output
/// request gets the schema appended to the system prompt).
std::string encode_anthropic(const request& req);

/// The human-readable message of an error body (`{"error": {"message"}}`,
/// `{"error": "..."}`, `{"message": ...}`), else the body's first 200
/// bytes.
std::string error_message(std::string_view body);

/// The JSON object of a model's structured answer: the text itself, or the
/// contents of a ```json fence, or the span from the first '{' to the last
/// '}'.
std::string extract_json(std::string_view text);

} // namespace fp::actors::llm::wire
