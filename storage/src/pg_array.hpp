#pragma once

// PostgreSQL array literals for passing many values as one text parameter
// (e.g. `unnest($1::text[], $2::text[])`): one statement instead of one per
// row.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fp::storage::detail {

/// Appends `value` to `out` as one quoted array element ("..." with `"` and
/// `\` escaped), so any text, including empty text, round-trips.
void append_array_element(std::string& out, std::string_view value);

/// The text[] literal of `values`: {"a","b"}; `{}` when empty.
std::string text_array(const std::vector<std::string>& values);

/// The text[] literal of `values` where nullopt becomes NULL.
std::string
text_array(const std::vector<std::optional<std::string>>& values);

/// Builds a text[] literal element by element without intermediate vectors.
class array_builder {
public:
  array_builder() : out_("{") {
  }

  /// Appends one element.
  void add(std::string_view value) {
    if (count_++ > 0)
      out_ += ',';
    append_array_element(out_, value);
  }

  /// Appends SQL NULL.
  void add_null() {
    if (count_++ > 0)
      out_ += ',';
    out_ += "NULL";
  }

  /// Reserves room for about `bytes` of text.
  void reserve(std::size_t bytes) {
    out_.reserve(bytes);
  }

  /// The finished literal; the builder is left empty.
  std::string finish() {
    out_ += '}';
    return std::move(out_);
  }

private:
  std::string out_;
  std::size_t count_ = 0;
};

} // namespace fp::storage::detail
