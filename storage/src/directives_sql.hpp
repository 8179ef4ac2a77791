#pragma once

// Private to the directive repositories in storage/src.

#include <string>
#include <string_view>

namespace fp::storage::detail {

/// The quoted tenant schema of a validated slug: the same rule as
/// actors::quoted_tenant_schema, which storage cannot depend on.
inline std::string directive_schema_of(std::string_view slug) {
  std::string out = "\"org_";
  for (char c : slug) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
  return out;
}

} // namespace fp::storage::detail
