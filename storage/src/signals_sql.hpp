#pragma once

// SQL fragments shared by the signal and subscription repositories.

#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "fp/runtime/errc.hpp"

namespace fp::storage::detail {

/// The quoted tenant schema of `slug`, "\"org_<slug>\"", or an empty
/// string for text that is no organization slug (so nothing unvalidated
/// ever becomes part of SQL text). Defined in signals.cpp.
std::string quoted_schema_of(std::string_view slug);

/// The error for a slug `quoted_schema_of` refused.
inline caf::error not_a_slug() {
  return runtime::make_error(runtime::errc::invalid_argument,
                             "not an organization slug");
}

/// SQL rendering the timestamptz `column` as RFC 3339 UTC with
/// microseconds.
inline std::string rfc3339_us(std::string_view column) {
  return "to_char(" + std::string{column}
         + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

} // namespace fp::storage::detail
