#pragma once

// Shared by the package manifest, its checks and the installation rules:
// canonical JSON text, a small mutable JSON object tree for config edits,
// and `{{config.x}}` / `{{secrets.x}}` placeholders.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

namespace fp::actors::detail {

/// The concatenation of `parts` (appending: GCC 12 warns falsely on
/// `"..." + std::string&&`).
template <class... Ts>
std::string cat(const Ts&... parts) {
  std::string out;
  (out.append(std::string_view{parts}), ...);
  return out;
}

/// `text` in double quotes, for messages.
inline std::string in_quotes(std::string_view text) {
  return cat("\"", text, "\"");
}

// -- canonical JSON ------------------------------------------------------------------

/// The canonical text of `json` (valid JSON): object members sorted by key,
/// no insignificant whitespace, strings re-escaped minimally, numbers as
/// written. Paths of objects holding a key twice go to `duplicates`.
std::string canonical_json(std::string_view json,
                           std::vector<std::string>* duplicates = nullptr);

// -- a mutable JSON tree -------------------------------------------------------------

/// An object (members in order) or any other value kept as its JSON text.
struct json_node {
  bool is_object = false;
  std::string raw;
  std::vector<std::pair<std::string, json_node>> members;

  /// The member `key`, or nullptr.
  json_node* find(std::string_view key);
  /// Removes member `key`; true when it was there.
  bool erase(std::string_view key);
  /// Sets member `key` (appended when new).
  void set(std::string_view key, json_node value);
  /// The compact JSON text.
  std::string to_json() const;
};

/// The tree of `el`.
json_node to_node(simdjson::dom::element el);

/// Splits "a.b.c" into its segments; nullopt for an empty path or segment.
std::optional<std::vector<std::string>> split_path(std::string_view path);

/// The node at `path` below `root`, or nullptr.
json_node* node_at(json_node& root, const std::vector<std::string>& path);

/// Removes the node at `path` and returns it (nullopt when absent).
std::optional<json_node> take_at(json_node& root,
                                 const std::vector<std::string>& path);

/// Sets `value` at `path`, creating objects on the way; false when a
/// non-object sits on the way.
bool put_at(json_node& root, const std::vector<std::string>& path,
            json_node value);

// -- placeholders --------------------------------------------------------------------

/// One `{{config.<path>}}` or `{{secrets.<path>}}` found in a text.
struct placeholder {
  /// "config" or "secrets".
  std::string source;
  std::string path;
  /// Where it starts in the text and how long it is.
  std::size_t offset = 0;
  std::size_t length = 0;
};

/// Every placeholder in `text` (whitespace inside the braces allowed).
std::vector<placeholder> find_placeholders(std::string_view text);

/// The property schema at dotted `path` of an object schema (through
/// nested `properties`), when there is one.
std::optional<simdjson::dom::element>
schema_property(simdjson::dom::element schema, std::string_view path);

} // namespace fp::actors::detail
