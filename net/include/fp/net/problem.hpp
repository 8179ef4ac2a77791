#pragma once

// The one place where errors become HTTP: RFC 9457 problem details
// (`application/problem+json`) and the mapping of every module's error codes
// to a status. Handlers never choose error statuses themselves; they return
// a `caf::error` and call `from_error` (or `responder::fail`).

#include <functional>
#include <string>

#include <caf/error.hpp>

#include "fp/net/http_types.hpp"

namespace fp::net {

class json_writer;

/// Writes additional problem members (after the standard ones).
using problem_extra = std::function<void(json_writer&)>;

/// The members of one problem document.
struct problem_details {
  int status = 500;
  /// Empty: "about:blank" (then `title` is the status' reason phrase).
  std::string type;
  /// Empty: the reason phrase of `status`.
  std::string title;
  std::string detail;
  /// The request path the problem occurred on.
  std::string instance;
  std::string request_id;
  problem_extra extra;
};

/// Media type of problem documents.
inline constexpr const char* problem_media_type = "application/problem+json";

/// Renders `p` as a response.
http_response to_response(const problem_details& p);

/// A problem response without request information (used where no request
/// exists, e.g. a connection rejected before any request was read).
http_response problem(int status, std::string title, std::string detail = {},
                      problem_extra extra = {});

/// A problem response for the request in `ctx` (instance = its path,
/// request_id = its id).
http_response problem(const request_context& ctx, int status,
                      std::string title, std::string detail = {},
                      problem_extra extra = {});

/// The HTTP status for `err`:
/// - runtime::errc: invalid_argument 422, bad_request 400, unauthorized 401,
///   forbidden 403, not_found 404, conflict 409, payload_too_large 413,
///   unsupported_media 415, rate_limited 429, unavailable 503,
///   overloaded 503, timeout 504, internal 500;
/// - storage::errc: unavailable/overloaded/serialization_failure 503,
///   unique_violation 409, statement_timeout 504, everything else 500;
/// - caf::sec: request_timeout 504, request_receiver_down 503, else 500;
/// - anything else (and no error at all) 500.
int status_of(const caf::error& err) noexcept;

/// The problem response for `err` in the request `ctx`. Client errors (4xx)
/// carry the error's context as `detail`; server errors (5xx) never carry
/// internals: the error itself is logged with the request id instead.
/// Adds `WWW-Authenticate` to 401 and `Retry-After` to 503.
http_response from_error(const caf::error& err, const request_context& ctx);

} // namespace fp::net
