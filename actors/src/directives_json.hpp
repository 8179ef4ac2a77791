#pragma once

// Writing the small JSON texts of directive signals and webhook bodies
// (actors/ has no JSON library; values from the database are already JSON).

#include <cstdio>
#include <string>
#include <string_view>

namespace fp::actors::detail {

/// `text` as a JSON string literal, quotes included.
inline std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

/// `,"name":<json>` for appending a member to an object being written.
inline std::string json_member(std::string_view name, std::string_view json) {
  // Appending (rather than `"," + ...`) avoids GCC 12's false
  // -Wstringop-overflow on operator+(const char*, string&&).
  std::string out{","};
  out += json_quote(name);
  out += ':';
  out += json;
  return out;
}

} // namespace fp::actors::detail
