#pragma once

// JSON helpers shared by json_schema.cpp and the LLM client: parsing with
// simdjson's DOM without exceptions, and writing JSON text.

#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "directives_json.hpp"

namespace fp::actors::detail {

/// Parses `text` with `parser`; nullopt when it is not JSON. The element
/// lives as long as `parser` (and until its next parse).
inline std::optional<simdjson::dom::element>
parse_json(simdjson::dom::parser& parser, std::string_view text) {
  simdjson::padded_string padded{text};
  simdjson::dom::element root;
  if (parser.parse(padded).get(root) != simdjson::SUCCESS)
    return std::nullopt;
  return root;
}

/// The compact JSON text of `el`.
inline std::string to_json(simdjson::dom::element el) {
  return simdjson::minify(el);
}

/// The string value of member `key` of `obj`, or `fallback`.
inline std::string_view string_member(simdjson::dom::element obj,
                                      std::string_view key,
                                      std::string_view fallback = {}) {
  std::string_view out;
  if (obj.is_object() && obj[key].get(out) == simdjson::SUCCESS)
    return out;
  return fallback;
}

/// Member `key` of `obj`, when present.
inline std::optional<simdjson::dom::element>
member(simdjson::dom::element obj, std::string_view key) {
  simdjson::dom::element out;
  if (obj.is_object() && obj[key].get(out) == simdjson::SUCCESS)
    return out;
  return std::nullopt;
}

/// An integral member as int64 (also from a double), or `fallback`.
inline int64_t int_member(simdjson::dom::element obj, std::string_view key,
                          int64_t fallback = 0) {
  auto el = member(obj, key);
  if (!el)
    return fallback;
  int64_t i = 0;
  if (el->get(i) == simdjson::SUCCESS)
    return i;
  double d = 0;
  if (el->get(d) == simdjson::SUCCESS)
    return static_cast<int64_t>(d);
  return fallback;
}

} // namespace fp::actors::detail
