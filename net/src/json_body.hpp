#pragma once

// simdjson on-demand parsing of request bodies. Private to net/: simdjson's
// class layouts depend on its configuration macros, so its types stay out of
// the public headers; handlers in net/src include this header.

#include <string_view>

#include <caf/error.hpp>
#include <simdjson.h>

#include "fp/net/http_types.hpp"

namespace fp::net {

/// A JSON request body that passed `check_json_body`, ready for extraction.
/// Not movable: the document points into the parser and the padded copy.
class json_body {
public:
  json_body() = default;
  json_body(const json_body&) = delete;
  json_body& operator=(const json_body&) = delete;

  /// Checks media type, emptiness and syntax of `req`'s body (see
  /// `check_json_body`), then rewinds the document for extraction.
  caf::error parse(const http_request& req);

  /// `parse`, then requires the document to be an object: otherwise
  /// `errc::invalid_argument` with `expected_shape` as the detail (e.g.
  /// "expected {\"org\":\"<slug>\"}").
  caf::error parse_object(const http_request& req,
                          simdjson::ondemand::object& obj,
                          std::string_view expected_shape);

  simdjson::ondemand::document& doc() noexcept {
    return doc_;
  }

private:
  simdjson::padded_string text_;
  simdjson::ondemand::parser parser_;
  simdjson::ondemand::document doc_;
};

/// Validates the JSON text in `text` (one value, nothing after it) by walking
/// every value; on error returns `errc::bad_request` with the simdjson
/// message and, when known, the byte offset.
caf::error validate_json(simdjson::ondemand::parser& parser,
                         const simdjson::padded_string& text,
                         simdjson::ondemand::document& doc);

} // namespace fp::net
