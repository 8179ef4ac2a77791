#pragma once

// Plain HTTP value types shared by the router, the handlers and the server.
// No Beast here: handlers and their unit tests never see the wire format.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fp/runtime/ids.hpp"

namespace fp::net {

/// A session looked up once for a request and its in-process sub-requests
/// (auth.hpp, `make_session_memo`).
struct session_memo;

/// One header field.
struct header_field {
  std::string name;
  std::string value;
};

/// Header fields in the order they were received or added.
using header_list = std::vector<header_field>;

/// Case-insensitive ASCII comparison (header names, media types).
bool iequals(std::string_view a, std::string_view b) noexcept;

/// A parsed HTTP request, as handlers see it.
struct http_request {
  /// Method token as received, e.g. "GET".
  std::string method;
  /// Raw request-target, e.g. "/api/v1/x%20y?limit=5".
  std::string target;
  /// Percent-decoded path without the query, e.g. "/api/v1/x y".
  std::string path;
  /// Raw query string without the '?', e.g. "limit=5".
  std::string query;
  /// Header fields; names are lower-case.
  header_list headers;
  std::string body;
  /// Peer as "address:port".
  std::string remote_address;
  /// HTTP version times ten: 10 or 11.
  unsigned version = 11;

  /// Value of the first header called `name` (matched case-insensitively);
  /// empty when absent.
  std::string_view header(std::string_view name) const noexcept;

  /// True when a header called `name` was received.
  bool has_header(std::string_view name) const noexcept;

  /// The raw value of query parameter `name` after percent-decoding ('+'
  /// counts as a space); empty when absent.
  std::string query_param(std::string_view name) const;
};

/// A response produced by a handler. The server adds the framing headers
/// (Content-Length, Date, Server, Connection, X-Request-Id, traceparent).
struct http_response {
  int status = 200;
  /// Value of Content-Type; empty sends none (e.g. for 204).
  std::string content_type;
  /// Extra headers, sent as written.
  header_list headers;
  std::string body;

  /// Replaces the header `name` or adds it.
  void set_header(std::string_view name, std::string value);

  /// Value of the first header called `name`; empty when absent.
  std::string_view header(std::string_view name) const noexcept;

  /// A response with `application/json` and the given (already serialized)
  /// body.
  static http_response json(int status, std::string body);

  /// A plain-text response.
  static http_response text(int status, std::string body,
                            std::string content_type
                            = "text/plain; charset=utf-8");
};

/// Path parameters by name, percent-decoded.
using path_params = std::map<std::string, std::string, std::less<>>;

/// Everything a handler knows about one request. It lives as long as the
/// request's responder.
struct request_context {
  http_request request;
  /// Values of the `{name}` segments of the matched route.
  path_params params;
  /// The caller's X-Request-Id when valid, otherwise a generated one.
  std::string request_id;
  /// The caller's trace continued with a new span of ours.
  runtime::trace_context trace;
  /// The matched route pattern, e.g. "/api/v1/agents/{id}"; "unmatched"
  /// when no route matched.
  std::string route;
  /// Set only on in-process sub-requests (the console's props and forms):
  /// the session lookup they share. Never derived from the wire.
  std::shared_ptr<session_memo> session;

  /// The value of path parameter `name`; empty when absent.
  std::string_view param(std::string_view name) const noexcept;
};

/// The request id for a request whose X-Request-Id header is `incoming`:
/// the caller's when acceptable (`runtime::valid_request_id`), else
/// `generated` (e.g. the request's own span id), else a new random id.
std::string accept_request_id(std::string_view incoming,
                              std::string_view generated = {});

/// The standard reason phrase of `status` ("Not Found"), or "Unknown".
const char* reason_phrase(int status) noexcept;

/// Percent-decodes `in` into `out`; `plus_is_space` for query strings.
/// Returns false on a malformed escape (then `out` is unspecified).
bool percent_decode(std::string_view in, std::string& out,
                    bool plus_is_space = false);

/// Splits a raw request-target into its percent-decoded path and raw query.
/// Returns false when the target is not origin-form ("/...") or holds a
/// malformed escape.
bool split_target(std::string_view target, std::string& path,
                  std::string& query);

} // namespace fp::net
