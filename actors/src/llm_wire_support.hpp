#pragma once

// Small helpers of the wire encoders.

#include <cstdio>
#include <string>
#include <string_view>

#include "fp/actors/llm_wire.hpp"
#include "llm_json.hpp"

namespace fp::actors::llm::wire {

/// `d` as a JSON number.
inline std::string number_text(double d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", d);
  return buf;
}

/// `json` when it is a JSON object, else `{"type":"object"}` (a bad tool
/// schema must not make the whole request unreadable).
inline std::string object_or_default(std::string_view json) {
  simdjson::dom::parser parser;
  auto root = detail::parse_json(parser, json);
  if (root && root->is_object())
    return detail::to_json(*root);
  return R"({"type":"object"})";
}

/// What the providers' decoders share: a plain body is collected whole
/// (decoded by `finish`), a streamed one is split into SSE events whose data
/// go to `on_data` as they arrive.
class sse_json_decoder : public decoder {
public:
  sse_json_decoder(const stream_sink& sink, bool streaming)
    : sink_(sink), streaming_(streaming) {
  }

  caf::error feed(std::string_view bytes) final {
    if (!streaming_) {
      body_ += bytes;
      return {};
    }
    caf::error err;
    sse_.feed(bytes, [&](std::string_view, std::string_view data) {
      err = on_data(data);
      return !err;
    });
    return err;
  }

  bool emitted() const noexcept final {
    return emitted_;
  }

protected:
  /// One event's data; an error ends the call.
  virtual caf::error on_data(std::string_view data) = 0;

  /// Hands the events still buffered when the body ended to `on_data`; the
  /// first error is returned.
  caf::error flush_events() {
    caf::error err;
    sse_.flush([&](std::string_view, std::string_view data) {
      if (!err)
        err = on_data(data);
      return true;
    });
    return err;
  }

  const stream_sink& sink_;
  bool streaming_;
  sse_parser sse_;
  simdjson::dom::parser parser_;
  std::string body_;
  response res_;
  /// Text or a tool call reached the sink.
  bool emitted_ = false;
};

} // namespace fp::actors::llm::wire
