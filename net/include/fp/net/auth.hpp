#pragma once

// Authentication and the account endpoints: who is calling (a principal from
// an `fp_session` cookie or an `Authorization: Bearer` API key), the CSRF
// rule for cookie-authenticated writes, sessions, organization selection
// and tenant API keys.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include "fp/actors/tenancy.hpp"
#include "fp/config/settings.hpp"
#include "fp/net/http_types.hpp"
#include "fp/net/principal.hpp"
#include "fp/net/router.hpp"
#include "fp/runtime/actor_slot.hpp"

namespace fp::net {

class api_key_cache;

/// What authentication and the account handlers need; pointers must
/// outlive the server.
struct auth_services {
  caf::actor_system* sys = nullptr;
  const config::settings* settings = nullptr;
  /// The storage pool (storage::storage_pool_actor).
  runtime::actor_slot_ptr storage_pool;
  /// How long a handler waits for one database round trip.
  std::chrono::milliseconds db_timeout{10000};
  /// Verified API keys (optional): routes that change keys clear it.
  std::shared_ptr<api_key_cache> key_cache;
};

/// Name of the session cookie.
inline constexpr std::string_view session_cookie_name = "fp_session";

/// A handler that runs only for authenticated callers.
using authed_handler = std::function<void(
  const request_context& ctx, const responder_ptr& res, principal who)>;

/// Wraps `fn` so it runs with the caller's principal. Answers 401 (with
/// `WWW-Authenticate: Bearer`) for missing, unknown, expired or revoked
/// credentials, and 403 for a cookie-authenticated unsafe request (anything
/// but GET, HEAD, OPTIONS) without the session's `X-CSRF-Token` (or `X-XSRF-TOKEN`). A bearer
/// key wins over a cookie and is exempt from the CSRF rule (browsers never
/// attach it on their own). Resolution is asynchronous (storage pool).
handler authed(auth_services svc, authed_handler fn);

/// A fresh memo for the sub-requests of one request: the first of them
/// that authenticates by session cookie looks the session up, the others
/// (same cookie) reuse that answer instead of a database round trip each.
std::shared_ptr<session_memo> make_session_memo();

/// No error when `who` may perform `a` in its bound organization:
/// `forbidden` when no organization is bound, the role is too low, or (for
/// API keys) the scopes do not cover it: tenant_write needs "write" or
/// "admin"; a key whose only scope is "publish" may do none of them. Use
/// this rather than `principal::can`, which sees roles only.
caf::error authorize(const principal& who, actors::action a);

/// Registers the account routes:
///   POST   /api/v1/session            log in (sets the cookie)
///   GET    /api/v1/session            the caller's principal
///   DELETE /api/v1/session            log out
///   POST   /api/v1/session/org        select an organization
///   POST   /api/v1/api-keys           create a key (secret shown once)
///   GET    /api/v1/api-keys           list keys (no secrets)
///   DELETE /api/v1/api-keys/{id}      revoke a key
///   POST   /api/v1/api-keys/{id}/rotate  new secret, old one in grace
void add_auth_routes(router& r, auth_services svc);

// -- plain functions behind the handlers ----------------------------------------

/// The value of cookie `name` in a `Cookie` header; empty when absent.
std::string_view cookie_value(std::string_view cookie_header,
                              std::string_view name) noexcept;

/// The token of `Authorization: Bearer <token>`; nullopt when the header is
/// absent, empty when it is present but not a bearer token.
std::optional<std::string_view> bearer_token(const http_request& req) noexcept;

/// The `Set-Cookie` value carrying `token` for `max_age`; an empty token
/// with zero max age clears the cookie.
std::string session_cookie(std::string_view token,
                           std::chrono::seconds max_age, bool secure);

/// True for methods that change state (everything but GET, HEAD, OPTIONS).
bool is_unsafe_method(std::string_view method) noexcept;

} // namespace fp::net
