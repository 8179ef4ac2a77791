#pragma once

// Small helpers of the wire encoders.

#include <cstdio>
#include <string>
#include <string_view>

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

} // namespace fp::actors::llm::wire
