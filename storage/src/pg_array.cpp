#include "pg_array.hpp"

#include "fp/runtime/ids.hpp"

namespace fp::storage::detail {

void append_array_element(std::string& out, std::string_view value) {
  out += '"';
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '"' || c == '\\') {
      out.append(value.data() + start, i - start);
      out += '\\';
      out += c;
      start = i + 1;
    }
  }
  out.append(value.data() + start, value.size() - start);
  out += '"';
}

std::string text_array(const std::vector<std::string>& values) {
  array_builder b;
  for (auto& v : values)
    b.add(v);
  return b.finish();
}

std::string
text_array(const std::vector<std::optional<std::string>>& values) {
  array_builder b;
  for (auto& v : values) {
    if (v)
      b.add(*v);
    else
      b.add_null();
  }
  return b.finish();
}

// -- binary format -------------------------------------------------------------

namespace {

/// The array header: dimensions, null flag, element type, then (one
/// dimension) its length and lower bound; 20 bytes, all big-endian.
constexpr std::size_t header_size = 20;

void put_u32(std::string& out, std::size_t at, uint32_t v) {
  out[at] = static_cast<char>(v >> 24);
  out[at + 1] = static_cast<char>(v >> 16);
  out[at + 2] = static_cast<char>(v >> 8);
  out[at + 3] = static_cast<char>(v);
}

void append_u32(std::string& out, uint32_t v) {
  out.append(4, '\0');
  put_u32(out, out.size() - 4, v);
}

} // namespace

binary_array::binary_array(uint32_t element_oid)
  : oid_(element_oid), out_(header_size, '\0') {
}

void binary_array::begin_element(uint32_t size) {
  ++count_;
  append_u32(out_, size);
}

void binary_array::add_text(std::string_view value) {
  begin_element(static_cast<uint32_t>(value.size()));
  out_.append(value);
}

void binary_array::add_jsonb(std::string_view json) {
  begin_element(static_cast<uint32_t>(json.size() + 1));
  out_ += '\1';
  out_.append(json);
}

bool binary_array::add_uuid(std::string_view text) {
  char bytes[16];
  int n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-' && (i == 8 || i == 13 || i == 18 || i == 23))
      continue;
    auto hi = runtime::hex_digit_value(text[i]);
    auto lo = i + 1 < text.size() ? runtime::hex_digit_value(text[i + 1]) : -1;
    if (hi < 0 || lo < 0 || n == 16)
      return false;
    bytes[n++] = static_cast<char>(hi << 4 | lo);
    ++i;
  }
  if (n != 16)
    return false;
  begin_element(16);
  out_.append(bytes, 16);
  return true;
}

void binary_array::add_null() {
  ++count_;
  has_null_ = true;
  append_u32(out_, 0xffffffffu); // length -1
}

std::string binary_array::finish() {
  if (count_ == 0) {
    // No dimensions at all: PostgreSQL's empty array.
    out_.resize(12);
    put_u32(out_, 0, 0);
    put_u32(out_, 4, 0);
    put_u32(out_, 8, oid_);
  } else {
    put_u32(out_, 0, 1);
    put_u32(out_, 4, has_null_ ? 1 : 0);
    put_u32(out_, 8, oid_);
    put_u32(out_, 12, count_);
    put_u32(out_, 16, 1);
  }
  count_ = 0;
  has_null_ = false;
  auto done = std::move(out_);
  out_.assign(header_size, '\0');
  return done;
}

} // namespace fp::storage::detail
