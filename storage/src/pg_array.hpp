#pragma once

// PostgreSQL array literals for passing many values as one text parameter
// (e.g. `unnest($1::text[], $2::text[])`): one statement instead of one per
// row.

#include <cstdint>
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

/// Element types of the binary arrays we send.
inline constexpr uint32_t text_oid = 25;
inline constexpr uint32_t uuid_oid = 2950;
inline constexpr uint32_t jsonb_oid = 3802;

/// Builds a one-dimensional array in PostgreSQL's binary format, for a
/// parameter sent with format 1 (pg_session::exec_prepared's `binary`):
/// the server copies each element instead of undoing the quoting and
/// escaping of a text literal. The array's SQL type must be the element
/// type's (e.g. `$1::uuid[]` with uuid_oid).
class binary_array {
public:
  explicit binary_array(uint32_t element_oid);

  /// Appends text (text_oid) as it is.
  void add_text(std::string_view value);
  /// Appends JSON text (jsonb_oid): version byte 1, then the text.
  void add_jsonb(std::string_view json);
  /// Appends a uuid (uuid_oid) given in its text form; false, appending
  /// nothing, when `text` is not one.
  bool add_uuid(std::string_view text);
  void add_null();

  /// The finished array; the builder is left empty.
  std::string finish();

private:
  void begin_element(uint32_t size);

  uint32_t oid_;
  std::string out_;
  uint32_t count_ = 0;
  bool has_null_ = false;
};

} // namespace fp::storage::detail
