#pragma once

// A JSON Schema subset for skill input/output schemas, structured model
// output and (later) package config schemas. Supported keywords: type (one
// name or a list of: object, array, string, number, integer, boolean,
// null), properties, required, additionalProperties (boolean), enum, const,
// default, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
// minLength, maxLength (code points), pattern (ECMAScript regex, unanchored
// search), items (one schema), minItems, maxItems. Annotations (title,
// description, examples, secret, $schema, $id) are accepted and ignored.
// Pure: no actors, no I/O.

#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace fp::actors {

/// One problem, at a path such as `$.customer.emails[2]`.
struct schema_issue {
  std::string path;
  std::string message;
};

/// Problems of `schema` itself (JSON text): not JSON, not an object, an
/// unknown type name, a keyword with a value of the wrong kind, a pattern
/// that does not compile, an unsupported keyword ($ref, oneOf, ...). Empty
/// when it is usable.
std::vector<schema_issue> check_schema(std::string_view schema);

/// Problems of `instance` (JSON text) against `schema` (assumed usable; an
/// unusable schema gives one issue at `$`). Empty when valid. Every
/// problem is reported, not only the first.
std::vector<schema_issue> validate_json(std::string_view schema,
                                        std::string_view instance);

/// `instance` (a JSON object) with the `default` of every missing property
/// filled in, recursively through nested object schemas; other instances
/// are returned unchanged. Errors: runtime::errc::invalid_argument when
/// either text is not JSON.
caf::expected<std::string> apply_defaults(std::string_view schema,
                                          std::string_view instance);

/// "$.a: expected a string; $.b: is required" (at most `max` issues, then
/// "and N more").
std::string describe_issues(const std::vector<schema_issue>& issues,
                            std::size_t max = 10);

} // namespace fp::actors
