#pragma once

// Small SQL text helpers shared by the repositories in storage/src.

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "fp/storage/pg_session.hpp"

namespace fp::storage::detail {

/// SQL rendering `column` (a timestamptz) as RFC 3339 UTC with
/// milliseconds, e.g. 2026-01-02T03:04:05.678Z; NULL stays NULL.
inline std::string rfc3339(std::string_view column) {
  return "to_char(" + std::string{column}
         + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

/// The elements of a text[] in PostgreSQL's text output, for arrays of
/// plain words (no quoting or escaping needed): "{a,b}" -> {"a", "b"}.
inline std::vector<std::string> parse_word_array(std::string_view text) {
  std::vector<std::string> out;
  if (text.size() < 2)
    return out;
  text = text.substr(1, text.size() - 2);
  while (!text.empty()) {
    auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

/// The array literal of plain words: {"a", "b"} -> "{a,b}".
inline std::string word_array(const std::vector<std::string>& words) {
  std::string out = "{";
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0)
      out += ',';
    out += words[i];
  }
  out += '}';
  return out;
}

/// The first row of the query result `r` as read by `read(result, row)`;
/// nullopt when there is none, and `r`'s error as it is.
template <class Read>
auto first_row(caf::expected<result> r, Read read)
  -> caf::expected<std::optional<std::invoke_result_t<Read&, const result&, int>>> {
  using row_type = std::invoke_result_t<Read&, const result&, int>;
  if (!r)
    return std::move(r.error());
  if (r->rows() == 0)
    return std::optional<row_type>{};
  return std::optional<row_type>{read(*r, 0)};
}

} // namespace fp::storage::detail
