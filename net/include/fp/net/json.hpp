#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include <caf/error.hpp>

#include "fp/net/http_types.hpp"

namespace fp::net {

/// A tiny streaming JSON writer appending to a string. Commas and nesting are
/// tracked for up to 64 levels; strings are escaped so the output is always
/// valid UTF-8 JSON (invalid UTF-8 becomes U+FFFD; U+2028/U+2029 and, with
/// `html_safe`, '<', '>' and '&' are escaped so the text can sit inside a
/// <script> element).
class json_writer {
public:
  /// Appends to `out` (which is not cleared).
  explicit json_writer(std::string& out, bool html_safe = false) noexcept
    : out_(out), html_safe_(html_safe) {
    // nop
  }

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();

  /// The next member's name (inside an object).
  json_writer& key(std::string_view name);

  json_writer& value(std::string_view str);
  json_writer& value(const char* str) {
    return value(std::string_view{str});
  }
  json_writer& value(const std::string& str) {
    return value(std::string_view{str});
  }
  json_writer& value(bool b);
  json_writer& value(int64_t n);
  json_writer& value(uint64_t n);
  /// Non-finite numbers are written as null.
  json_writer& value(double d);
  template <class Int>
    requires(std::is_integral_v<Int> && !std::is_same_v<Int, bool>)
  json_writer& value(Int n) {
    if constexpr (std::is_signed_v<Int>)
      return value(static_cast<int64_t>(n));
    else
      return value(static_cast<uint64_t>(n));
  }
  json_writer& null();

  /// Inserts already-serialized JSON as one value.
  json_writer& raw(std::string_view json);

  /// `key(name).value(v)`.
  template <class T>
  json_writer& member(std::string_view name, T&& v) {
    key(name);
    return value(std::forward<T>(v));
  }

  /// The string written to.
  std::string& out() noexcept {
    return out_;
  }

private:
  void before_value();

  std::string& out_;
  bool html_safe_;
  unsigned depth_ = 0;
  uint64_t has_items_ = 0; // bit d: the container at depth d has members
  bool after_key_ = false;
};

/// Appends `text` JSON-escaped (without quotes) to `out`.
void append_json_string_body(std::string& out, std::string_view text,
                             bool html_safe = false);

/// Checks a request that must carry a JSON body: Content-Type must be
/// `application/json` (parameters such as charset allowed, `+json` suffixes
/// accepted) -> else `errc::unsupported_media`; the body must not be empty and
/// must be one syntactically valid JSON value -> else `errc::bad_request`
/// whose context gives the parse error and its byte offset. Returns no error
/// when the body is fine.
caf::error check_json_body(const http_request& req);

/// The body rule the server applies before a handler runs. For unsafe
/// methods (POST, PUT, PATCH, DELETE): a route declaring a JSON request type
/// (`declared_type`, e.g. from `route_doc::request_type`) gets the full
/// `check_json_body`; a route declaring nothing accepts no body or a JSON
/// one; a route declaring another media type is left to its handler. Safe
/// methods are not checked.
caf::error check_request_body(const http_request& req,
                              std::string_view declared_type);

/// True for `application/json` and `application/<x>+json` media types.
bool is_json_media_type(std::string_view content_type) noexcept;

} // namespace fp::net
