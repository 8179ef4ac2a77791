#include "fp/net/json.hpp"

#include <charconv>
#include <cmath>

namespace fp::net {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_u_escape(std::string& out, unsigned cp) {
  char buf[6] = {'\\', 'u', hex_digits[(cp >> 12) & 0xf],
                 hex_digits[(cp >> 8) & 0xf], hex_digits[(cp >> 4) & 0xf],
                 hex_digits[cp & 0xf]};
  out.append(buf, 6);
}

/// Length of the valid UTF-8 sequence starting at `s[0]`, or 0 when invalid
/// (overlong forms, surrogates and code points above U+10FFFF included).
std::size_t utf8_sequence(const unsigned char* s, std::size_t left,
                          unsigned& cp) noexcept {
  unsigned char c = s[0];
  std::size_t len;
  unsigned min;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (left < len)
    return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

} // namespace

void append_json_string_body(std::string& out, std::string_view text,
                             bool html_safe) {
  auto s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    // Copy the longest run needing no escape in one go.
    std::size_t run = i;
    while (run < n) {
      unsigned char c = s[run];
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80
          || (html_safe && (c == '<' || c == '>' || c == '&')))
        break;
      ++run;
    }
    out.append(text.data() + i, run - i);
    i = run;
    if (i == n)
      break;
    unsigned char c = s[i];
    if (c >= 0x80) {
      unsigned cp = 0;
      auto len = utf8_sequence(s + i, n - i, cp);
      if (len == 0) {
        out.append("\xef\xbf\xbd"); // U+FFFD for each invalid byte
        ++i;
      } else if (cp == 0x2028 || cp == 0x2029) {
        // Valid JSON, but line terminators in JavaScript source.
        append_u_escape(out, cp);
        i += len;
      } else {
        out.append(text.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default: append_u_escape(out, c); break; // controls and <, >, &
    }
    ++i;
  }
}

void json_writer::before_value() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  uint64_t bit = uint64_t{1} << (depth_ & 63);
  if (depth_ > 0 && (has_items_ & bit))
    out_.push_back(',');
  has_items_ |= bit;
}

json_writer& json_writer::begin_object() {
  before_value();
  out_.push_back('{');
  ++depth_;
  has_items_ &= ~(uint64_t{1} << (depth_ & 63));
  return *this;
}

json_writer& json_writer::end_object() {
  out_.push_back('}');
  if (depth_ > 0)
    --depth_;
  return *this;
}

json_writer& json_writer::begin_array() {
  before_value();
  out_.push_back('[');
  ++depth_;
  has_items_ &= ~(uint64_t{1} << (depth_ & 63));
  return *this;
}

json_writer& json_writer::end_array() {
  out_.push_back(']');
  if (depth_ > 0)
    --depth_;
  return *this;
}

json_writer& json_writer::key(std::string_view name) {
  before_value();
  out_.push_back('"');
  append_json_string_body(out_, name, html_safe_);
  out_.append("\":");
  after_key_ = true;
  return *this;
}

json_writer& json_writer::value(std::string_view str) {
  before_value();
  out_.push_back('"');
  append_json_string_body(out_, str, html_safe_);
  out_.push_back('"');
  return *this;
}

json_writer& json_writer::value(bool b) {
  before_value();
  out_.append(b ? "true" : "false");
  return *this;
}

json_writer& json_writer::value(int64_t n) {
  before_value();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  out_.append(buf, end);
  return *this;
}

json_writer& json_writer::value(uint64_t n) {
  before_value();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), n);
  out_.append(buf, end);
  return *this;
}

json_writer& json_writer::value(double d) {
  if (!std::isfinite(d))
    return null();
  before_value();
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  out_.append(buf, end);
  return *this;
}

json_writer& json_writer::null() {
  before_value();
  out_.append("null");
  return *this;
}

json_writer& json_writer::raw(std::string_view json) {
  before_value();
  out_.append(json);
  return *this;
}

} // namespace fp::net
