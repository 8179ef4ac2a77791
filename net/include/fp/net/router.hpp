#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fp/net/http_types.hpp"
#include "fp/net/responder.hpp"

namespace fp::net {

/// A route's handler. It runs on an io thread and must not block: answer at
/// once or keep `res` and answer later (e.g. from an actor callback via
/// `ask`). `ctx` stays valid as long as `res` (it is `res->context()`).
using handler = std::function<void(const request_context& ctx,
                                   const responder_ptr& res)>;

/// What the OpenAPI document says about a route. Attached at registration,
/// so the document always matches the routes that exist.
struct route_doc {
  /// One line, e.g. "Liveness probe".
  std::string summary;
  std::string description;
  std::vector<std::string> tags;
  /// Defaults to a name derived from method and pattern.
  std::string operation_id;
  /// Status and media type of the successful answer.
  int success_status = 200;
  std::string success_type = "application/json";
  std::string success_description = "OK";
  /// Media type of the request body; empty when the route takes none.
  std::string request_type;
  /// True when the route needs `Authorization: Bearer ...`.
  bool bearer_auth = false;
  /// Leaves the route out of the document.
  bool hidden = false;
};

/// One registered route.
struct route {
  std::string method;
  std::string pattern;
  handler fn;
  route_doc doc;
  /// Position in `router::routes()`.
  uint32_t index = 0;
};

/// Maps (method, path) to a handler. Patterns are absolute paths whose
/// segments are literals or whole-segment parameters: "/api/v1/agents/{id}".
///
/// Matching rules (strict, so one URL names one resource):
/// - Paths are compared segment by segment after percent-decoding each raw
///   segment, so "%2F" inside a segment never splits it.
/// - A trailing slash is significant: "/livez/" does not match "/livez".
/// - Empty segments never match: "//livez" and "/api//v1" are 404.
/// - A literal segment beats a parameter at the first position where two
///   matching patterns differ ("/agents/search" beats "/agents/{id}").
/// - HEAD falls back to the GET route; `Allow` lists HEAD wherever GET exists.
/// Not thread-safe while adding; `match` is safe to call concurrently once
/// routes are no longer added.
class router {
public:
  /// Registers a route. Throws `std::invalid_argument` on a malformed
  /// pattern or a duplicate (method, pattern), which are programming errors.
  void add(std::string method, std::string pattern, handler fn,
           route_doc doc = {});

  /// The outcome of `match`.
  struct match_result {
    enum kind_t : uint8_t {
      found,
      not_found,
      method_not_allowed,
      bad_path, // malformed percent-escape in the path
    };
    kind_t kind = not_found;
    const route* matched = nullptr;
    path_params params;
    /// For `method_not_allowed`: the value of the `Allow` header.
    std::string allow;
  };

  /// Finds the route for `method` and `raw_path` (the request-target without
  /// the query, still percent-encoded).
  match_result match(std::string_view method, std::string_view raw_path) const;

  /// All routes in registration order.
  const std::vector<route>& routes() const noexcept {
    return routes_;
  }

private:
  struct segment {
    std::string text; // literal text, or the parameter name
    bool is_param = false;
  };
  struct compiled {
    std::vector<segment> segments;
  };

  std::vector<route> routes_;
  std::vector<compiled> compiled_; // parallel to routes_
};

} // namespace fp::net
