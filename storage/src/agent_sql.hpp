#pragma once

// Helpers shared by the agent, execution and conversation repositories
// (agents.cpp, executions.cpp, conversations.cpp).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "fp/runtime/errc.hpp"
#include "fp/storage/pg_session.hpp"
#include "fp/storage/users.hpp"

namespace fp::storage::detail {

/// SQL NULL for empty text.
inline std::optional<std::string> opt_text(std::string_view s) {
  if (s.empty())
    return std::nullopt;
  return std::string{s};
}

/// The elements of a text[] in PostgreSQL's text output, quoted elements
/// included: {a,"b c","d\"e"} -> {"a", "b c", "d\"e"}; NULL elements are
/// dropped.
inline std::vector<std::string> parse_text_array(std::string_view text) {
  std::vector<std::string> out;
  if (text.size() < 2 || text.front() != '{')
    return out;
  std::size_t i = 1;
  const std::size_t end = text.size() - 1; // the closing brace
  while (i < end) {
    std::string item;
    if (text[i] == '"') {
      ++i;
      while (i < end && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < end)
          ++i;
        item += text[i++];
      }
      ++i; // closing quote
      out.push_back(std::move(item));
    } else {
      auto stop = text.find(',', i);
      if (stop == std::string_view::npos || stop > end)
        stop = end;
      auto word = text.substr(i, stop - i);
      if (word != "NULL")
        out.emplace_back(word);
      i = stop;
    }
    if (i < end && text[i] == ',')
      ++i;
  }
  return out;
}

/// The error for an identifier that must be a UUID and is not.
inline caf::error not_a_uuid(std::string_view what) {
  return runtime::make_error(runtime::errc::invalid_argument,
                             std::string{what} + " is not a UUID");
}

/// True for empty text or a UUID (optional uuid columns).
inline bool empty_or_uuid(std::string_view s) noexcept {
  return s.empty() || is_uuid(s);
}

/// The prepared-statement name `base` for tenant `slug`: prepared SQL
/// names the tenant's schema, so each tenant needs its own statement.
inline std::string statement_name(std::string_view base, std::string_view slug) {
  std::string out{base};
  out += '.';
  out += slug;
  return out;
}

} // namespace fp::storage::detail
