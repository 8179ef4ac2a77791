// Resolving the caller: cookie or bearer key -> principal, plus the CSRF
// rule. Lookups go to the storage pool; nothing here blocks an io thread.
// Sessions are looked up on every request (membership and role changes
// apply at once). Verified API keys may be remembered (api_key_cache):
// their requests then skip the round trip, and a change to keys,
// organizations or users clears what was remembered.

#include <algorithm>
#include <mutex>

#include "fp/net/api_key_cache.hpp"
#include "fp/net/auth.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/problem.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/runtime/ids.hpp"
#include "fp/storage/api_keys.hpp"
#include "fp/storage/sessions.hpp"

namespace fp::net {

struct session_memo {
  std::mutex mtx;
  /// The cookie token looked up; empty until the first lookup ends.
  std::string token;
  std::optional<storage::active_session> session;
};

std::shared_ptr<session_memo> make_session_memo() {
  return std::make_shared<session_memo>();
}

namespace {

// Lookups are single statements (plus, at most once a minute, a
// last-used touch that needs no atomicity with them), so they run without
// BEGIN/COMMIT: one round trip instead of three on every request.
constexpr bool single_statement = false;

using runtime::errc;
using runtime::make_error;

bool has_scope(const std::vector<std::string>& scopes, std::string_view s) {
  return std::find(scopes.begin(), scopes.end(), s) != scopes.end();
}

/// True when a key's scopes allow nothing but publishing packages.
bool publish_only(const std::vector<std::string>& scopes) {
  return !has_scope(scopes, "read") && !has_scope(scopes, "write")
         && !has_scope(scopes, "admin");
}

principal from_key(storage::usable_api_key&& k) {
  principal p;
  p.how = principal::via::api_key;
  p.user_id = std::move(k.user_id);
  p.email = std::move(k.email);
  p.api_key_id = std::move(k.id);
  p.org_id = std::move(k.org_id);
  p.org_slug = std::move(k.org_slug);
  // Keys never act with more than admin rights, and never as platform admin.
  // A publish-only key gets no role at all, so every role check refuses it;
  // the registry routes look at its scope and organization themselves.
  if (!publish_only(k.scopes))
    p.org_role = has_scope(k.scopes, "admin") ? actors::role::admin
                                              : actors::role::member;
  p.scopes = std::move(k.scopes);
  return p;
}

principal from_session(storage::active_session&& s) {
  principal p;
  p.how = principal::via::session;
  p.user_id = std::move(s.user_id);
  p.email = std::move(s.email);
  p.platform_admin = s.platform_admin;
  p.session_id = std::move(s.id);
  if (auto r = actors::parse_role(s.org_role); r && !s.org_id.empty()) {
    p.org_id = std::move(s.org_id);
    p.org_slug = std::move(s.org_slug);
    p.org_role = *r;
  }
  return p;
}

caf::error unauthenticated(std::string detail) {
  return make_error(errc::unauthorized, std::move(detail));
}

} // namespace

std::string_view cookie_value(std::string_view header,
                              std::string_view name) noexcept {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto pair = header.substr(0, semi);
    while (!pair.empty() && pair.front() == ' ')
      pair.remove_prefix(1);
    if (auto eq = pair.find('='); eq != std::string_view::npos
                                  && pair.substr(0, eq) == name) {
      auto value = pair.substr(eq + 1);
      while (!value.empty() && value.back() == ' ')
        value.remove_suffix(1);
      return value;
    }
    if (semi == std::string_view::npos)
      break;
    header.remove_prefix(semi + 1);
  }
  return {};
}

std::optional<std::string_view> bearer_token(const http_request& req) noexcept {
  if (!req.has_header("authorization"))
    return std::nullopt;
  auto value = req.header("authorization");
  if (value.size() < 7 || !iequals(value.substr(0, 7), "bearer "))
    return std::string_view{};
  value.remove_prefix(7);
  while (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  return value;
}

std::string session_cookie(std::string_view token, std::chrono::seconds max_age,
                           bool secure) {
  std::string out{session_cookie_name};
  out += '=';
  out += token;
  out += "; HttpOnly; SameSite=Lax; Path=/; Max-Age=";
  out += std::to_string(max_age.count());
  if (secure)
    out += "; Secure";
  return out;
}

bool is_unsafe_method(std::string_view m) noexcept {
  return m != "GET" && m != "HEAD" && m != "OPTIONS";
}

caf::error authorize(const principal& who, actors::action a) {
  if (who.how == principal::via::api_key && publish_only(who.scopes))
    return make_error(errc::forbidden,
                      "the key's scopes allow only publishing packages");
  if (!who.has_tenant())
    return make_error(errc::forbidden, "no organization selected");
  if (!who.can(a))
    return make_error(errc::forbidden,
                      std::string{"the role "} + actors::to_string(*who.org_role)
                        + " may not " + actors::to_string(a));
  if (who.how == principal::via::api_key && a == actors::action::tenant_write
      && !has_scope(who.scopes, "write") && !has_scope(who.scopes, "admin"))
    return make_error(errc::forbidden, "the key's scopes do not allow writes");
  return caf::none;
}

namespace {

using authed_fn = std::shared_ptr<authed_handler>;

/// Records a remembered key's use (at most once a minute per key and
/// node); the request does not wait for it, and a failure only leaves
/// last_used_at a little older.
void record_key_use(const auth_services& svc, const std::string& key_id) {
  run_db<bool>(
    *svc.sys, svc.storage_pool, svc.db_timeout, "auth.api_key_touch",
    [key_id](storage::pg_session& db) -> caf::expected<bool> {
      if (auto err = storage::touch_api_key(db, key_id))
        return err;
      return true;
    },
    [](bool) {}, [](caf::error&&) {}, single_statement);
}

/// Continues a cookie-authenticated request with its looked-up session:
/// 401 when there is none, the CSRF rule for unsafe methods, then `fn`.
void with_session(const responder_ptr& res, const authed_fn& fn,
                  std::optional<storage::active_session> s) {
  if (!s) {
    res->fail(unauthenticated("the session is unknown, expired or "
                              "revoked; log in again"));
    return;
  }
  const auto& req = res->context().request;
  if (is_unsafe_method(req.method)) {
    // The console's Inertia client sends the same token as X-XSRF-TOKEN,
    // read from the XSRF-TOKEN cookie set at log-in.
    auto sent = req.header("x-csrf-token");
    if (sent.empty())
      sent = req.header("x-xsrf-token");
    if (sent.empty()
        || !runtime::constant_time_equal(runtime::sha256_hex(sent),
                                         s->csrf_hash)) {
      res->fail(make_error(errc::forbidden, "missing or wrong X-CSRF-Token"));
      return;
    }
  }
  (*fn)(res->context(), res, from_session(std::move(*s)));
}

} // namespace

handler authed(auth_services svc, authed_handler fn) {
  if (!svc.sys || !svc.settings)
    throw std::invalid_argument("authed: missing services");
  auto shared_fn = std::make_shared<authed_handler>(std::move(fn));
  return [svc, shared_fn](const request_context& ctx,
                          const responder_ptr& res) {
    const auto& req = ctx.request;
    auto fail = [res](caf::error&& err) { res->fail(err); };
    if (auto bearer = bearer_token(req)) {
      if (bearer->empty()) {
        res->fail(unauthenticated("expected Authorization: Bearer <key>"));
        return;
      }
      auto cache = svc.key_cache && svc.key_cache->enabled() ? svc.key_cache
                                                             : nullptr;
      if (cache) {
        if (auto hit = cache->find(*bearer)) {
          if (hit->touch_due)
            record_key_use(svc, hit->key.id);
          (*shared_fn)(ctx, res, from_key(std::move(hit->key)));
          return;
        }
      }
      auto generation = cache ? cache->generation() : 0;
      auto token = std::string{*bearer};
      run_db<std::optional<storage::usable_api_key>>(
        *svc.sys, svc.storage_pool, svc.db_timeout, "auth.api_key",
        [token](storage::pg_session& db) {
          return storage::find_usable_api_key(db, token);
        },
        [res, shared_fn, cache, generation,
         token](std::optional<storage::usable_api_key>&& key) {
          if (!key) {
            res->fail(unauthenticated("unknown, expired or revoked API key"));
            return;
          }
          if (cache)
            cache->remember(token, *key, generation);
          (*shared_fn)(res->context(), res, from_key(std::move(*key)));
        },
        fail, single_statement);
      return;
    }
    auto token = cookie_value(req.header("cookie"), session_cookie_name);
    if (token.empty()) {
      res->fail(unauthenticated("log in or send Authorization: Bearer <key>"));
      return;
    }
    auto memo = ctx.session;
    if (memo) {
      std::unique_lock guard{memo->mtx};
      if (memo->token == token) {
        auto s = memo->session;
        guard.unlock();
        with_session(res, shared_fn, std::move(s));
        return;
      }
    }
    run_db<std::optional<storage::active_session>>(
      *svc.sys, svc.storage_pool, svc.db_timeout, "auth.session",
      [token = std::string{token}](storage::pg_session& db) {
        return storage::find_active_session(db, token);
      },
      [res, shared_fn, memo, token = std::string{token}](
        std::optional<storage::active_session>&& s) {
        if (memo) {
          std::lock_guard guard{memo->mtx};
          memo->token = token;
          memo->session = s;
        }
        with_session(res, shared_fn, std::move(s));
      },
      fail, single_statement);
  };
}

} // namespace fp::net
