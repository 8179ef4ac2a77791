#pragma once

// The system endpoints: probes, metrics, version, the OpenAPI document and
// the admin routes. Each handler is a thin shell around the plain functions
// below, which are unit-tested without a server or actors.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include "fp/config/settings.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/http_types.hpp"
#include "fp/net/router.hpp"
#include "fp/runtime/actor_slot.hpp"
#include "fp/runtime/log.hpp"
#include "fp/runtime/messages.hpp"
#include "fp/runtime/metrics.hpp"

namespace fp::net {

/// What the system handlers need; all pointers must outlive the server.
struct system_services {
  caf::actor_system* sys = nullptr;
  const config::settings* settings = nullptr;
  runtime::metrics_registry* metrics = nullptr;
  runtime::actor_slot_ptr version;
  runtime::actor_slot_ptr health;
  runtime::actor_slot_ptr tree;
  /// How long a handler waits for a service actor.
  std::chrono::milliseconds ask_timeout{5000};
  /// When set, /admin/* also admits a platform admin's browser session
  /// (besides the admin token, which machines use).
  std::optional<auth_services> auth;
};

/// Registers GET /livez, /readyz, /metrics, /api/v1/version,
/// /api/v1/openapi.json, /admin/actors and POST /admin/log-level.
void add_system_routes(router& r, system_services services);

// -- plain functions behind the handlers ----------------------------------------

/// `{"status":"ok"}`
http_response livez_response();

/// 200 `{"status":"ready",...}` when ready, else a 503 problem whose detail
/// is the readiness detail, with `database_reachable` and
/// `pending_migrations` members.
http_response readiness_response(const runtime::readiness& r,
                                 const request_context& ctx);

/// The version document.
http_response version_response(const runtime::version_info& v);

/// The Prometheus exposition of `metrics`.
http_response metrics_response(const runtime::metrics_registry& metrics);

/// The OpenAPI 3.1 document for the routes registered in `r`.
std::string openapi_document(const router& r, std::string_view api_version);

/// Admin authorization: `forbidden` when no admin token is configured,
/// `unauthorized` when the request's `Authorization: Bearer` token is missing
/// or differs (compared in constant time), no error when it matches.
caf::error check_admin(const http_request& req, std::string_view admin_token);

/// `{"actors":[...], "tree":[...]}`: the flat list, plus the same nodes nested
/// under their parents (nodes whose parent is unknown become roots). Uptime
/// is computed against `now_ms` (unix ms).
http_response actors_response(const std::vector<runtime::actor_node>& nodes,
                              int64_t now_ms);

/// Parses `{"level":"debug"}` (after the JSON body checks).
caf::expected<runtime::log::level>
parse_log_level_body(const http_request& req);

/// `{"level":"debug"}`
http_response log_level_response(runtime::log::level lvl);

} // namespace fp::net
