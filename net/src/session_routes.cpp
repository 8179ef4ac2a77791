// Log in, who am I, log out, and organization selection. Password checks
// run on a CAF thread (scrypt is CPU work, not for io threads, and not for
// a storage worker holding a connection); SQL runs on the storage pool.

#include <chrono>

#include "auth_routes.hpp"
#include "fp/net/db_bridge.hpp"
#include "fp/net/problem.hpp"
#include "fp/runtime/crypto.hpp"
#include "fp/runtime/errc.hpp"
#include "fp/storage/login_throttle.hpp"
#include "fp/storage/sessions.hpp"
#include "fp/storage/users.hpp"
#include "json_body.hpp"

namespace fp::net::detail {

namespace {

using runtime::errc;
using runtime::make_error;

struct login_input {
  std::string email;
  std::string password;
};

caf::expected<std::string> string_member(simdjson::ondemand::object& obj,
                                         std::string_view name) {
  std::string_view text;
  auto field = obj.find_field_unordered(name);
  if (field.error() == simdjson::NO_SUCH_FIELD)
    return make_error(errc::invalid_argument,
                      "missing member \"" + std::string{name} + "\"");
  if (field.get_string().get(text))
    return make_error(errc::invalid_argument,
                      "\"" + std::string{name} + "\" must be a string");
  return std::string{text};
}

caf::expected<login_input> parse_login(const http_request& req) {
  json_body body;
  simdjson::ondemand::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"email\":...,\"password\":...}"))
    return err;
  auto email = string_member(obj, "email");
  if (!email)
    return std::move(email.error());
  auto password = string_member(obj, "password");
  if (!password)
    return std::move(password.error());
  return login_input{std::move(*email), std::move(*password)};
}

/// Verified when the email is unknown, so both failures take as long.
const std::string& dummy_hash() {
  static const std::string hash
    = runtime::hash_password("not-a-real-password", storage::password_cost);
  return hash;
}

void write_user(json_writer& w, const std::string& id, const std::string& email,
                bool platform_admin) {
  w.key("user")
    .begin_object()
    .member("id", id)
    .member("email", email)
    .member("platform_admin", platform_admin)
    .end_object();
}

void write_org(json_writer& w, const principal& p) {
  w.key("selected_org");
  if (!p.has_tenant()) {
    w.null();
    return;
  }
  w.begin_object()
    .member("id", p.org_id)
    .member("slug", p.org_slug)
    .member("role", actors::to_string(*p.org_role))
    .end_object();
}

struct login_lookup {
  int64_t wait_seconds = 0;
  std::optional<storage::user_record> user;
};

void login(const auth_services& svc, const request_context& ctx,
           const responder_ptr& res) {
  auto input = parse_login(ctx.request);
  if (!input) {
    res->fail(input.error());
    return;
  }
  auto keys = storage::make_throttle_keys(input->email,
                                          ctx.request.remote_address);
  auto fail = fail_to(res);
  auto old_token = std::string{
    cookie_value(ctx.request.header("cookie"), session_cookie_name)};
  auto on_lookup = [svc, res, keys, old_token, fail,
                    password = std::move(input->password)](
                     login_lookup&& found) {
    const auto& ctx = res->context();
    if (found.wait_seconds > 0) {
      auto resp = from_error(make_error(errc::rate_limited,
                                        "too many failed logins; try again "
                                        "later"),
                             ctx);
      resp.set_header("Retry-After", std::to_string(found.wait_seconds));
      res->send(std::move(resp));
      return;
    }
    bool ok = false;
    if (found.user)
      ok = runtime::verify_password(password, found.user->password_hash)
           && !found.user->disabled;
    else
      runtime::verify_password(password, dummy_hash());
    if (!ok) {
      run_db<bool>(
        *svc.sys, svc.storage_pool, svc.db_timeout, "auth.login_failed",
        [keys](storage::pg_session& db) -> caf::expected<bool> {
          if (auto err = storage::record_login_failure(db, keys))
            return err;
          return true;
        },
        [res](bool) {
          res->fail(make_error(errc::unauthorized, "wrong email or password"));
        },
        fail);
      return;
    }
    auto user = std::move(*found.user);
    auto ttl = svc.settings->session_ttl;
    run_db<storage::new_session>(
      *svc.sys, svc.storage_pool, svc.db_timeout, "auth.login",
      [keys, user_id = user.id, ttl, old_token,
       addr = ctx.request.remote_address](storage::pg_session& db)
        -> caf::expected<storage::new_session> {
        if (auto err = storage::clear_account_failures(db, keys))
          return err;
        return storage::create_session(db, user_id, ttl, addr, old_token);
      },
      [res, user, ttl, secure = svc.settings->secure_cookies](
        storage::new_session&& s) {
        std::string body;
        json_writer w{body};
        w.begin_object();
        write_user(w, user.id, user.email, user.platform_admin);
        w.member("csrf_token", s.csrf_token)
          .member("expires_at", s.expires_at);
        w.key("selected_org").null();
        w.end_object();
        auto resp = http_response::json(200, std::move(body));
        auto secs = std::chrono::ceil<std::chrono::seconds>(ttl);
        resp.set_header("Set-Cookie", session_cookie(s.token, secs, secure));
        resp.set_header("Cache-Control", "no-store");
        res->send(std::move(resp));
      },
      fail);
  };
  run_db<login_lookup>(
    *svc.sys, svc.storage_pool, svc.db_timeout, "auth.login_lookup",
    [keys, email = input->email](storage::pg_session& db)
      -> caf::expected<login_lookup> {
      login_lookup out;
      auto wait = storage::login_wait_seconds(db, keys);
      if (!wait)
        return std::move(wait.error());
      out.wait_seconds = *wait;
      if (out.wait_seconds > 0)
        return out;
      auto user = storage::find_user_by_email(db, email);
      if (!user)
        return std::move(user.error());
      out.user = std::move(*user);
      return out;
    },
    std::move(on_lookup), fail);
}

http_response whoami(const principal& p) {
  std::string body;
  json_writer w{body};
  w.begin_object();
  write_user(w, p.user_id, p.email, p.platform_admin);
  w.member("via", p.how == principal::via::session ? "session" : "api_key");
  write_org(w, p);
  if (p.how == principal::via::api_key) {
    w.member("api_key_id", p.api_key_id);
    w.key("scopes").begin_array();
    for (auto& s : p.scopes)
      w.value(s);
    w.end_array();
  }
  w.end_object();
  return http_response::json(200, std::move(body));
}

caf::error need_session(const principal& p) {
  if (p.how != principal::via::session)
    return make_error(errc::bad_request, "this endpoint needs a login session");
  return caf::none;
}

caf::expected<std::string> parse_org_body(const http_request& req) {
  json_body body;
  simdjson::ondemand::object obj;
  if (auto err = body.parse_object(req, obj, "expected {\"org\":\"<slug>\"}"))
    return err;
  return string_member(obj, "org");
}

} // namespace

void add_session_routes(router& r, const auth_services& svc) {
  auto login_doc = auth_doc("Log in with email and password; sets the "
                            "fp_session cookie.",
                            "session", 200, true, false);
  login_doc.description
    = "Answers the CSRF token to send as X-CSRF-Token on unsafe requests. "
      "401 for any wrong credential; 429 with Retry-After after repeated "
      "failures per account or per client address.";
  r.add(
    "POST", "/api/v1/session",
    [svc](const request_context& ctx, const responder_ptr& res) {
      login(svc, ctx, res);
    },
    std::move(login_doc));

  r.add("GET", "/api/v1/session",
        authed(svc,
               [](const request_context&, const responder_ptr& res,
                  principal who) { res->send(whoami(who)); }),
        auth_doc("The calling user or API key and its selected "
                 "organization.",
                 "session"));

  r.add("DELETE", "/api/v1/session",
        authed(svc,
               [svc](const request_context&, const responder_ptr& res,
                     principal who) {
                 if (auto err = need_session(who)) {
                   res->fail(err);
                   return;
                 }
                 run_db<bool>(
                   *svc.sys, svc.storage_pool, svc.db_timeout,
                   "auth.logout",
                   [id = who.session_id](
                     storage::pg_session& db) -> caf::expected<bool> {
                     if (auto err = storage::revoke_session(db, id))
                       return err;
                     return true;
                   },
                   [res, secure = svc.settings->secure_cookies](bool) {
                     auto resp = no_content();
                     resp.set_header("Set-Cookie",
                                     session_cookie("", std::chrono::seconds{0},
                                                    secure));
                     res->send(std::move(resp));
                   },
                   fail_to(res));
               }),
        auth_doc("Log out: revokes the session.", "session", 204));

  r.add("POST", "/api/v1/session/org",
        authed(svc,
               [svc](const request_context& ctx, const responder_ptr& res,
                     principal who) {
                 if (auto err = need_session(who)) {
                   res->fail(err);
                   return;
                 }
                 auto slug = parse_org_body(ctx.request);
                 if (!slug) {
                   res->fail(slug.error());
                   return;
                 }
                 using found_t = std::optional<storage::membership_record>;
                 run_db<found_t>(
                   *svc.sys, svc.storage_pool, svc.db_timeout,
                   "auth.select_org",
                   [user = who.user_id, session = who.session_id,
                    slug = *slug](storage::pg_session& db)
                     -> caf::expected<found_t> {
                     auto m = storage::find_membership(db, user, slug);
                     if (!m || !*m)
                       return m;
                     if (auto err = storage::select_org(db, session,
                                                        (*m)->org_id))
                       return err;
                     return m;
                   },
                   [res, who](found_t&& m) mutable {
                     // Unknown and not-a-member look the same.
                     if (!m) {
                       res->fail(not_found("organization"));
                       return;
                     }
                     who.org_id = m->org_id;
                     who.org_slug = m->org_slug;
                     who.org_role = actors::parse_role(m->role);
                     res->send(whoami(who));
                   },
                   fail_to(res));
               }),
        auth_doc("Selects the organization (slug) the session acts in.",
                 "session", 200, true));
}

} // namespace fp::net::detail
