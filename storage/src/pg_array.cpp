#include "pg_array.hpp"

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

} // namespace fp::storage::detail
