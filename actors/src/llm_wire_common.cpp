// Shared parts of the wire formats: SSE fields, error bodies, JSON
// extraction from model text.

#include "fp/actors/llm_wire.hpp"

#include "llm_json.hpp"

namespace fp::actors::llm::wire {

void sse_parser::field(std::string_view line) {
  if (line.front() == ':')
    return; // A comment (keep-alive).
  auto colon = line.find(':');
  auto name = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ')
      value.remove_prefix(1);
  }
  if (name == "data") {
    if (has_data_)
      data_ += '\n';
    data_ += value;
    has_data_ = true;
  } else if (name == "event") {
    event_ = value;
  }
}

std::string error_message(std::string_view body) {
  simdjson::dom::parser parser;
  if (auto root = detail::parse_json(parser, body)) {
    if (auto err = detail::member(*root, "error")) {
      std::string_view text;
      if (err->get(text) == simdjson::SUCCESS)
        return std::string{text};
      auto msg = detail::string_member(*err, "message");
      auto type = detail::string_member(*err, "type");
      if (!msg.empty() && !type.empty())
        return std::string{type} + ": " + std::string{msg};
      if (!msg.empty())
        return std::string{msg};
    }
    if (auto msg = detail::string_member(*root, "message"); !msg.empty())
      return std::string{msg};
  }
  std::string out{body.substr(0, 200)};
  for (auto& c : out)
    if (c == '\n' || c == '\r')
      c = ' ';
  return out;
}

std::string extract_json(std::string_view text) {
  auto fence = text.find("```");
  if (fence != std::string_view::npos) {
    auto start = text.find('\n', fence);
    auto end = start == std::string_view::npos
                 ? std::string_view::npos
                 : text.find("```", start);
    if (end != std::string_view::npos)
      text = text.substr(start + 1, end - start - 1);
  }
  auto first = text.find('{');
  auto last = text.rfind('}');
  if (first == std::string_view::npos || last == std::string_view::npos
      || last < first)
    return std::string{text};
  return std::string{text.substr(first, last - first + 1)};
}

} // namespace fp::actors::llm::wire
